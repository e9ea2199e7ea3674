"""What a device's SDP answer means for the platform: where media flows, how, with which SSRC and codec, and the
H.264/H.265 parameter sets it gives out of band."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from clearsight.gb28181.sdp import (
    _CODEC_BY_ENCODING,
    DEFAULT_CLOCK_RATE,
    PAYLOAD_TYPE_MAX,
    Codec,
    Direction,
    MediaTransport,
    SdpError,
    SessionDescription,
    TcpSetup,
    _excerpt,
    _uint,
)
from clearsight.gb28181.ssrc import Ssrc

# fmtp parameters holding base64 parameter-set NAL units, comma-separated, in the order a decoder wants them:
# RFC 6184 §8.1 (H.264: SPS and PPS in one list), RFC 7798 §7.1 (H.265: VPS, SPS, PPS).
SPROP_PARAMETERS = ("sprop-parameter-sets", "sprop-vps", "sprop-sps", "sprop-pps")
BASE64_QUANTUM = 4  # RFC 4648 §4: base64 text comes in groups of 4 characters (devices often drop the "=" padding)


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """What to do after the 200 OK. ``transport`` is the platform's side (TCP_ACTIVE: connect to remote).

    ``notes`` lists the device's deviations (plain text, no credentials) for the caller to log with the
    device and channel IDs.
    """

    transport: MediaTransport
    remote_host: str
    remote_port: int
    local_host: str
    local_port: int
    payload_type: int
    codec: Codec
    clock_rate: int
    expected_ssrc: Ssrc | None
    offered_ssrc: Ssrc | None
    ssrc_changed: bool
    time_shift: int
    notes: tuple[str, ...]
    parameter_sets: tuple[bytes, ...] = ()  # NAL units (no start codes) from the answer's sprop-* fmtp parameters

    @property
    def platform_connects(self) -> bool:
        return self.transport is MediaTransport.TCP_ACTIVE


def _platform_transport(answer: SessionDescription, offered: SessionDescription, notes: list[str]) -> MediaTransport:
    offer_tcp = offered.stream.is_tcp
    theirs = answer.setup
    if not answer.stream.is_tcp:
        if offer_tcp:
            notes.append(f"device answered {answer.stream.proto} (UDP) to a TCP offer")
        if theirs is not None:
            notes.append(f"a=setup:{theirs.value} on UDP ignored (the device sends RTP to the offered port)")
        return MediaTransport.UDP
    if not offer_tcp:
        notes.append(f"device answered {answer.stream.proto} (TCP) to a UDP offer")
    ours = offered.setup if offer_tcp else None
    ours_as_platform = MediaTransport.TCP_PASSIVE if ours is TcpSetup.PASSIVE else MediaTransport.TCP_ACTIVE
    if theirs is TcpSetup.HOLDCONN:
        raise SdpError("device holds the TCP connection (a=setup:holdconn): no media would flow")
    if theirs is TcpSetup.ACTIVE:
        platform = MediaTransport.TCP_PASSIVE
    elif theirs is TcpSetup.PASSIVE:
        platform = MediaTransport.TCP_ACTIVE
    else:
        platform = ours_as_platform
        said = f"a=setup:{theirs.value}" if theirs is not None else "no a=setup"
        notes.append(f"device answered {said} on TCP; keeping the offered role")
    if offer_tcp and platform is not ours_as_platform:
        notes.append(f"device's a=setup contradicts the offer; the platform role is now {platform.value}")
    return platform


def sprop_parameter_sets(answer: SessionDescription, notes: list[str]) -> tuple[bytes, ...]:
    """The parameter-set NAL units of the answer's ``sprop-*`` fmtp parameters, of every payload type (the NAL
    types tell H.264's from H.265's). A value that is not base64 is left out and noted."""
    found: list[bytes] = []
    for pt, parameters in answer.stream.fmtp.items():
        for name in SPROP_PARAMETERS:
            for text in parameters.get(name, "").split(","):
                text = text.strip()
                if not text:
                    continue
                try:
                    found.append(base64.b64decode(text + "=" * (-len(text) % BASE64_QUANTUM), validate=True))
                except binascii.Error:
                    notes.append(f"{name} of payload type {pt} is not base64 ({_excerpt(text)}); ignored")
    return tuple(nal for nal in found if nal)


def negotiate(answer: SessionDescription, offered: SessionDescription) -> MediaPlan:
    """Combine the platform's offer and the device's answer into a :class:`MediaPlan`.

    The device's choices win where they are usable (its ``y=``, its TCP role, its payload type); every
    difference from the offer is listed in ``notes``. Raises SdpError when no stream can flow (port 0,
    no payload type, ``holdconn``).
    """
    notes: list[str] = []
    if answer.stream.port == 0:
        raise SdpError(f"device refused the {answer.stream.kind} stream (m= port 0)")
    transport = _platform_transport(answer, offered, notes)
    payload_types = [pt for pt in map(_uint, answer.stream.formats) if pt is not None and pt <= PAYLOAD_TYPE_MAX]
    if not payload_types:
        raise SdpError(f"answer names no payload type in m={answer.stream.kind}")
    pt = payload_types[0]
    if str(pt) not in offered.stream.formats:
        notes.append(f"device chose payload type {pt}, which was not offered")
    rtpmap = answer.rtpmap.get(pt) or offered.rtpmap.get(pt)
    codec = _CODEC_BY_ENCODING.get(rtpmap.encoding.upper(), Codec.UNKNOWN) if rtpmap else Codec.UNKNOWN
    if answer.ssrc is None and answer.ssrc_text is not None:
        notes.append(f"device y={_excerpt(answer.ssrc_text)} is not an SSRC; expecting the offered one")
    expected = answer.ssrc or offered.ssrc
    changed = answer.ssrc is not None and offered.ssrc is not None and answer.ssrc != offered.ssrc
    if changed:
        notes.append(f"device changed the SSRC from {offered.ssrc} to {answer.ssrc}")
    direction = answer.direction
    if direction in (Direction.RECVONLY, Direction.INACTIVE):
        notes.append(f"device answered a={direction.value} for a stream it must send")
    shift = answer.start - offered.start if answer.start and offered.start else 0
    if shift:
        notes.append(f"answer t= is {shift:+d} s from the offer (device time-zone handling)")
    parameter_sets = sprop_parameter_sets(answer, notes)
    return MediaPlan(
        transport=transport,
        remote_host=answer.host,
        remote_port=answer.stream.port,
        local_host=offered.host,
        local_port=offered.stream.port,
        payload_type=pt,
        codec=codec,
        clock_rate=rtpmap.clock_rate if rtpmap else DEFAULT_CLOCK_RATE,
        expected_ssrc=expected,
        offered_ssrc=offered.ssrc,
        ssrc_changed=changed,
        time_shift=shift,
        parameter_sets=parameter_sets,
        notes=tuple(notes),
    )
