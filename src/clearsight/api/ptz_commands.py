"""Turning a validated PTZ request body into the PTZCmd hex string sent to the device."""

from __future__ import annotations

from clearsight.api.schemas import PtzMove, PtzPreset, PtzStop
from clearsight.gb28181 import ptz

_PRESET_BUILDERS = {
    "preset_set": ptz.preset_set,
    "preset_call": ptz.preset_call,
    "preset_delete": ptz.preset_delete,
}


def ptz_hex(request: PtzMove | PtzStop | PtzPreset) -> str:
    """The 16-hex-digit `<PTZCmd>` for `request` (GB/T 28181-2016 A.3)."""
    match request:
        case PtzMove():
            # An axis that does not move gets speed 0, as devices and other platforms expect.
            command = ptz.ptz_move(
                request.pan,
                request.tilt,
                request.zoom,
                request.speed if request.pan else 0,
                request.speed if request.tilt else 0,
                request.zoom_speed if request.zoom else 0,
            )
        case PtzStop():
            command = ptz.ptz_stop()
        case PtzPreset():
            command = _PRESET_BUILDERS[request.action](request.preset)
    return ptz.encode_ptz(command)
