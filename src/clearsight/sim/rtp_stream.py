"""RTP packets for one simulated stream, sans-I/O: coded frames in, RTP packets (bytes) out.

`PsRtpStream` muxes each frame into a GB/T 28181 program stream (pack header, and before keyframes the system
header and program stream map, then PES with the PTS), cuts it into RTP payloads and adds the RTP headers. Devices
that deviate from the standard are simulated by `TsRtpStream` (an MPEG-TS from `TsMuxer`, seven 188-byte packets per
RTP payload as RFC 2250 §2 suggests) and `H264RtpStream` (RFC 6184 packetization mode 1: single NAL unit packets,
FU-A for NAL units larger than a payload; for `StreamPayload.H264_SPROP` without the SPS and PPS, which such a device
gives only in its SDP answer's sprop-parameter-sets); `rtp_stream_for` picks one by `StreamPayload`. The caller
sends each packet as a UDP datagram, or over TCP framed with `clearsight.media.rtp_framing.frame_rtp` (RFC 4571).
`ReplaySource` loops a pre-encoded clip with fresh timestamps, so one process can feed many streams without
encoding for each.
"""

from __future__ import annotations

import enum
import random
import struct
from collections.abc import Iterator, Sequence

from clearsight.media.es import Codec
from clearsight.media.ps_mux import PsMuxer, packetize_ps_for_rtp
from clearsight.media.rtp import RTP_SEQ_MOD, RTP_VERSION
from clearsight.sim.ts_mux import TS_PACKET_SIZE, TsMuxer
from clearsight.sim.video import PTS_CLOCK_HZ, EncodedFrame

PS_PAYLOAD_TYPE = 96  # GB/T 28181: a=rtpmap:96 PS/90000
MP2T_PAYLOAD_TYPE = 33  # RFC 3551 Table 5: MP2T/90000
H264_PAYLOAD_TYPE = 98  # GB/T 28181: a=rtpmap:98 H264/90000
PS_RTP_CLOCK_HZ = 90_000  # GB/T 28181: the PS payload's RTP clock rate (also MP2T's and H264's)
DEFAULT_MAX_PAYLOAD = 1400  # RTP payload bytes: with IP, UDP and RTP headers it stays under a 1500-byte MTU
TS_PACKETS_PER_PAYLOAD = 7  # RFC 2250 §2 practice: 7 × 188 = 1316 bytes fit an Ethernet MTU
RTP_TIMESTAMP_MOD = 1 << 32  # RFC 3550 §5.1: the timestamp is 32 bits
MAX_SSRC = (1 << 32) - 1  # RFC 3550 §5.1: the SSRC is 32 bits
MAX_PAYLOAD_TYPE = 0x7F  # RFC 3550 §5.1: PT is 7 bits
RTP_MARKER_BIT = 0x80  # RFC 3550 §5.1: M, the top bit of the second octet; set on a frame's last packet
START_CODE = b"\x00\x00\x01"  # H.264 Annex B start_code_prefix_one_3bytes
FU_A = 28  # RFC 6184 §5.8: fragmentation unit type
FU_START, FU_END = 0x80, 0x40  # RFC 6184 §5.8: S and E bits of the FU header
H264_PARAMETER_SET_TYPES = frozenset({7, 8})  # H.264 Table 7-1: nal_unit_type of an SPS and a PPS

_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, SSRC


class StreamPayload(enum.Enum):
    """What a simulated device puts in its RTP: the standard PS, or what some devices send instead."""

    PS = "ps"
    TS = "ts"
    H264 = "h264"
    H264_SPROP = "h264-sprop"  # raw H.264 whose SPS/PPS are only in the SDP answer (sprop-parameter-sets)


class RtpStream:
    """RTP headers for one stream with one SSRC; subclasses cut each frame into payloads.

    Sequence numbers continue across frames and wrap at 2^16; they start at `initial_sequence`, or at a random
    value as RFC 3550 §5.1 recommends. The RTP timestamp is the frame's 90 kHz PTS (rescaled when `clock`
    differs), modulo 2^32. The marker bit is set on a frame's last packet when `marks_frame_end`.
    """

    marks_frame_end = True

    def __init__(self, ssrc: int, payload_type: int, clock: int = PS_RTP_CLOCK_HZ,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, *, initial_sequence: int | None = None) -> None:
        if not 0 <= ssrc <= MAX_SSRC:
            raise ValueError(f"SSRC {ssrc} outside 0..{MAX_SSRC}")
        if not 0 <= payload_type <= MAX_PAYLOAD_TYPE:
            raise ValueError(f"payload type {payload_type} outside 0..{MAX_PAYLOAD_TYPE}")
        if clock <= 0:
            raise ValueError(f"RTP clock {clock} must be positive")
        if max_payload <= 0:
            raise ValueError(f"max_payload {max_payload} must be positive")
        if initial_sequence is None:
            initial_sequence = random.randrange(RTP_SEQ_MOD)
        elif not 0 <= initial_sequence < RTP_SEQ_MOD:
            raise ValueError(f"initial sequence {initial_sequence} outside 0..{RTP_SEQ_MOD - 1}")
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.clock = clock
        self.max_payload = max_payload
        self._sequence = initial_sequence
        self.packet_count = 0  # packets produced, as an RTCP sender report counts them (RFC 3550 §6.4.1)
        self.octet_count = 0  # payload octets produced, likewise

    @property
    def next_sequence(self) -> int:
        """The sequence number the next packet will carry."""
        return self._sequence

    def rtp_timestamp(self, pts_90k: int) -> int:
        return (pts_90k * self.clock // PTS_CLOCK_HZ) % RTP_TIMESTAMP_MOD

    def payloads_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        """The RTP payloads carrying `frame`."""
        raise NotImplementedError

    def packets_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        """The RTP packets carrying `frame` stamped with `pts_90k`."""
        payloads = self.payloads_for(frame, pts_90k)
        first_octet = RTP_VERSION << 6  # no padding, no extension, no CSRC
        timestamp = self.rtp_timestamp(pts_90k)
        last = len(payloads) - 1 if self.marks_frame_end else -1
        sequence = self._sequence
        packets = []
        for position, payload in enumerate(payloads):
            second_octet = self.payload_type | (RTP_MARKER_BIT if position == last else 0)
            packets.append(_HEADER.pack(first_octet, second_octet, sequence, timestamp, self.ssrc) + payload)
            sequence = (sequence + 1) % RTP_SEQ_MOD
            self.octet_count += len(payload)
        self._sequence = sequence
        self.packet_count += len(packets)
        return packets


class PsRtpStream(RtpStream):
    """GB/T 28181 PS over RTP: each frame's PS bytes cut into payloads; the last packet has the marker bit."""

    def __init__(self, ssrc: int, payload_type: int = PS_PAYLOAD_TYPE, clock: int = PS_RTP_CLOCK_HZ,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, *, codec: Codec = Codec.H264,
                 initial_sequence: int | None = None) -> None:
        super().__init__(ssrc, payload_type, clock, max_payload, initial_sequence=initial_sequence)
        self._muxer = PsMuxer(codec)

    @property
    def codec(self) -> Codec:
        return self._muxer.video_codec

    def payloads_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        return packetize_ps_for_rtp(self._muxer.mux(frame.data, pts_90k, frame.keyframe), self.max_payload)


class TsRtpStream(RtpStream):
    """MPEG-TS over RTP (RFC 2250): whole 188-byte packets, seven per payload; no marker (RFC 2250 §2 keeps it
    for timestamp discontinuities)."""

    marks_frame_end = False

    def __init__(self, ssrc: int, payload_type: int = MP2T_PAYLOAD_TYPE, *, codec: Codec = Codec.H264,
                 packets_per_payload: int = TS_PACKETS_PER_PAYLOAD, initial_sequence: int | None = None) -> None:
        super().__init__(ssrc, payload_type, PS_RTP_CLOCK_HZ, packets_per_payload * TS_PACKET_SIZE,
                         initial_sequence=initial_sequence)
        self._muxer = TsMuxer(codec)

    @property
    def codec(self) -> Codec:
        return self._muxer.codec

    def payloads_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        ts = self._muxer.mux(frame.data, pts_90k, frame.keyframe)
        return [ts[i : i + self.max_payload] for i in range(0, len(ts), self.max_payload)]


class H264RtpStream(RtpStream):
    """H.264 directly in RTP (RFC 6184, packetization mode 1): a NAL unit per packet, FU-A when it is too big."""

    codec = Codec.H264

    def __init__(self, ssrc: int, payload_type: int = H264_PAYLOAD_TYPE, max_payload: int = DEFAULT_MAX_PAYLOAD,
                 *, initial_sequence: int | None = None, in_band_parameter_sets: bool = True) -> None:
        if max_payload < 3:
            raise ValueError(f"max_payload {max_payload} leaves no room for an FU-A fragment")
        super().__init__(ssrc, payload_type, PS_RTP_CLOCK_HZ, max_payload, initial_sequence=initial_sequence)
        self.in_band_parameter_sets = in_band_parameter_sets

    def payloads_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        payloads: list[bytes] = []
        for nal in nal_units(frame.data):
            if not self.in_band_parameter_sets and nal[0] & 0x1F in H264_PARAMETER_SET_TYPES:
                continue
            if len(nal) <= self.max_payload:
                payloads.append(nal)
                continue
            indicator = (nal[0] & 0xE0) | FU_A  # F and NRI of the NAL unit, type FU-A
            step = self.max_payload - 2
            pieces = [nal[i : i + step] for i in range(1, len(nal), step)]
            for index, piece in enumerate(pieces):
                fu_header = (nal[0] & 0x1F) | (FU_START if index == 0 else 0) | (
                    FU_END if index == len(pieces) - 1 else 0)
                payloads.append(bytes([indicator, fu_header]) + piece)
        return payloads


def nal_units(access_unit: bytes) -> list[bytes]:
    """The NAL units of Annex-B bytes, without start codes (nor the zero bytes before them)."""
    units: list[bytes] = []
    start = access_unit.find(START_CODE)
    while start >= 0:
        start += len(START_CODE)
        end = access_unit.find(START_CODE, start)
        nal = access_unit[start:] if end < 0 else access_unit[start:end].rstrip(b"\x00")
        if nal:
            units.append(nal)
        start = end
    return units


def rtp_stream_for(payload: StreamPayload, ssrc: int, *, codec: Codec = Codec.H264,
                   initial_sequence: int | None = None) -> RtpStream:
    """The packetizer a simulated device uses for `payload`."""
    if payload is StreamPayload.TS:
        return TsRtpStream(ssrc, codec=codec, initial_sequence=initial_sequence)
    if payload in (StreamPayload.H264, StreamPayload.H264_SPROP):
        if codec is not Codec.H264:
            raise ValueError(f"raw RTP is simulated for H.264 only, not {codec.value}")
        return H264RtpStream(ssrc, initial_sequence=initial_sequence,
                             in_band_parameter_sets=payload is StreamPayload.H264)
    return PsRtpStream(ssrc, codec=codec, initial_sequence=initial_sequence)


class ClipWithoutKeyframe(ValueError):
    def __init__(self, frames: int) -> None:
        super().__init__(f"a clip of {frames} frames has no keyframe to start a replay on")
        self.frames = frames


class ReplaySource:
    """Loops a pre-encoded clip forever, yielding (frame, pts) with the PTS advancing one frame time per frame.

    Replay starts on the clip's first keyframe and every loop starts there again (frames before it are never
    sent), so a decoder can join at the start and the join between loops is an IDR. PTS is
    `start_pts + n * 90000 / fps` for the n-th frame yielded, rounded down: strictly increasing, no drift.
    """

    def __init__(self, frames: Sequence[EncodedFrame], fps: int, *, start_pts: int = 0) -> None:
        if not 0 < fps <= PTS_CLOCK_HZ:
            raise ValueError(f"fps {fps} outside 1..{PTS_CLOCK_HZ}")
        first_key = next((i for i, frame in enumerate(frames) if frame.keyframe), None)
        if first_key is None:
            raise ClipWithoutKeyframe(len(frames))
        self._frames = tuple(frames[first_key:])
        self.fps = fps
        self.start_pts = start_pts
        self._yielded = 0

    @property
    def loops(self) -> int:
        """Complete passes over the clip so far."""
        return self._yielded // len(self._frames)

    @property
    def frame_count(self) -> int:
        """Frames yielded so far."""
        return self._yielded

    def next_pts(self) -> int:
        return self.start_pts + self._yielded * PTS_CLOCK_HZ // self.fps

    def __iter__(self) -> Iterator[tuple[EncodedFrame, int]]:
        return self

    def __next__(self) -> tuple[EncodedFrame, int]:
        frame, pts = self._frames[self._yielded % len(self._frames)], self.next_pts()
        self._yielded += 1
        return frame, pts
