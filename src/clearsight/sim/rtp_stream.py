"""RTP/PS packets for one simulated stream, sans-I/O: coded frames in, RTP packets (bytes) out.

`PsRtpStream` muxes each frame into a GB/T 28181 program stream (pack header, and before keyframes the system
header and program stream map, then PES with the PTS), cuts it into RTP payloads and adds the RTP headers. The
caller sends each packet as a UDP datagram, or over TCP framed with `clearsight.media.rtp_framing.frame_rtp`
(RFC 4571). `ReplaySource` loops a pre-encoded clip with fresh timestamps, so one process can feed many streams
without encoding for each.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Sequence

from clearsight.media.es import Codec
from clearsight.media.ps_mux import PsMuxer, packetize_ps_for_rtp
from clearsight.media.rtp import RTP_SEQ_MOD, RTP_VERSION
from clearsight.sim.video import PTS_CLOCK_HZ, EncodedFrame

PS_PAYLOAD_TYPE = 96  # GB/T 28181: a=rtpmap:96 PS/90000
PS_RTP_CLOCK_HZ = 90_000  # GB/T 28181: the PS payload's RTP clock rate
DEFAULT_MAX_PAYLOAD = 1400  # RTP payload bytes: with IP, UDP and RTP headers it stays under a 1500-byte MTU
RTP_TIMESTAMP_MOD = 1 << 32  # RFC 3550 §5.1: the timestamp is 32 bits
MAX_SSRC = (1 << 32) - 1  # RFC 3550 §5.1: the SSRC is 32 bits
MAX_PAYLOAD_TYPE = 0x7F  # RFC 3550 §5.1: PT is 7 bits
RTP_MARKER_BIT = 0x80  # RFC 3550 §5.1: M, the top bit of the second octet; set on a frame's last packet

_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, SSRC


class PsRtpStream:
    """Turns coded frames into the RTP packets of one PS stream with one SSRC.

    Sequence numbers continue across frames and wrap at 2^16; they start at `initial_sequence`, or at a random
    value as RFC 3550 §5.1 recommends. The RTP timestamp is the frame's 90 kHz PTS (rescaled when `clock`
    differs), modulo 2^32.
    """

    def __init__(self, ssrc: int, payload_type: int = PS_PAYLOAD_TYPE, clock: int = PS_RTP_CLOCK_HZ,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, *, codec: Codec = Codec.H264,
                 initial_sequence: int | None = None) -> None:
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
        self._muxer = PsMuxer(codec)
        self._sequence = initial_sequence
        self.packet_count = 0  # packets produced, as an RTCP sender report counts them (RFC 3550 §6.4.1)
        self.octet_count = 0  # payload octets produced, likewise

    @property
    def codec(self) -> Codec:
        return self._muxer.video_codec

    @property
    def next_sequence(self) -> int:
        """The sequence number the next packet will carry."""
        return self._sequence

    def rtp_timestamp(self, pts_90k: int) -> int:
        return (pts_90k * self.clock // PTS_CLOCK_HZ) % RTP_TIMESTAMP_MOD

    def packets_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        """The RTP packets carrying `frame` stamped with `pts_90k`; the last one has the marker bit."""
        payloads = packetize_ps_for_rtp(self._muxer.mux(frame.data, pts_90k, frame.keyframe), self.max_payload)
        first_octet = RTP_VERSION << 6  # no padding, no extension, no CSRC
        timestamp = self.rtp_timestamp(pts_90k)
        last = len(payloads) - 1
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
