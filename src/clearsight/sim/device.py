"""The state of one simulated GB28181 device: its channels, its PTZ positions and presets."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from clearsight.gb28181.ids import derive_id
from clearsight.gb28181.manscdp import CatalogItem
from clearsight.gb28181.ptz import PresetOp, PtzCommand, PtzCommandKind

logger = logging.getLogger(__name__)

# Channel serials start after the device's own serial so that device and channel IDs never collide.
CHANNEL_SERIAL_OFFSET = 1
# Position units a full-speed move covers per command; enough to see the marker move.
PTZ_STEP_AT_FULL_SPEED = 10.0


@dataclass(slots=True)
class PtzPosition:
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 1.0
    moving: tuple[int, int, int] = (0, 0, 0)
    presets: dict[int, tuple[float, float, float]] = field(default_factory=dict)

    def apply(self, command: PtzCommand) -> None:
        kind = command.kind
        if kind is PtzCommandKind.PRESET:
            self._preset(command)
        elif kind is PtzCommandKind.STOP:
            self.moving = (0, 0, 0)
        elif kind is PtzCommandKind.MOVE:
            self.moving = (command.pan, command.tilt, command.zoom)
            self.pan = (self.pan + command.pan * PTZ_STEP_AT_FULL_SPEED * command.pan_speed / 255) % 360
            self.tilt = max(-90.0, min(90.0, self.tilt + command.tilt * PTZ_STEP_AT_FULL_SPEED
                                       * command.tilt_speed / 255))
            self.zoom = max(1.0, min(30.0, self.zoom + command.zoom * max(1, command.zoom_speed) / 15))

    def _preset(self, command: PtzCommand) -> None:
        number = command.preset_number
        if number is None:
            return
        if command.preset_op is PresetOp.SET:
            self.presets[number] = (self.pan, self.tilt, self.zoom)
        elif command.preset_op is PresetOp.CALL and number in self.presets:
            self.pan, self.tilt, self.zoom = self.presets[number]
            self.moving = (0, 0, 0)
        elif command.preset_op is PresetOp.DELETE:
            self.presets.pop(number, None)


@dataclass(slots=True)
class SimulatedChannel:
    channel_id: str
    name: str
    civil_code: str
    longitude: float
    latitude: float
    online: bool = True
    ptz: PtzPosition = field(default_factory=PtzPosition)

    def catalog_item(self, parent_id: str, event: str | None = None) -> CatalogItem:
        return CatalogItem(
            device_id=self.channel_id, name=self.name, manufacturer="Clearsight", model="SIM-IPC",
            owner="Owner", civil_code=self.civil_code, address=f"Simulated road {self.channel_id[-4:]}",
            parental=False, parent_id=parent_id, business_group_id=None, safety_way=0, register_way=1,
            secrecy=0, status="ON" if self.online else "OFF", longitude=self.longitude,
            latitude=self.latitude, ptz_type=1, event=event)


@dataclass(slots=True)
class CatalogSubscription:
    """The platform's SUBSCRIBE to our catalog: the dialog our NOTIFYs go in."""

    call_id: str
    local_tag: str
    remote: str  # the subscriber's From header, with its tag: our NOTIFY's To
    event: str
    expires_at: float  # time.monotonic()
    cseq: int = 0


@dataclass(slots=True)
class SimulatedDevice:
    device_id: str
    channels: list[SimulatedChannel]
    name: str = ""
    keepalive_enabled: bool = True
    registered: bool = False
    subscription: CatalogSubscription | None = None

    @classmethod
    def create(cls, device_id: str, channel_base: str, channel_count: int, index: int) -> SimulatedDevice:
        civil_code = device_id[:8]
        channels = []
        for n in range(channel_count):
            channel_id = derive_id(channel_base, index * channel_count + n + CHANNEL_SERIAL_OFFSET)
            channels.append(SimulatedChannel(
                channel_id=channel_id, name=f"Camera {index + 1}-{n + 1}", civil_code=civil_code,
                # Spread the cameras over a few km around Hefei so that the map shows them apart.
                longitude=round(117.2272 + (index % 50) * 0.002 + n * 0.0003, 6),
                latitude=round(31.8206 + (index // 50) * 0.002 + n * 0.0002, 6)))
        return cls(device_id=device_id, channels=channels, name=f"Simulated NVR {index + 1}")

    def channel(self, channel_id: str) -> SimulatedChannel | None:
        for channel in self.channels:
            if channel.channel_id == channel_id:
                return channel
        return None

    def catalog_items(self) -> list[CatalogItem]:
        return [c.catalog_item(self.device_id) for c in self.channels]
