"""MPEG-TS for the demuxer tests: FFmpeg's own muxing (PyAV) of H.264, H.265 and AAC, a small transport stream
writer for what FFmpeg does not write (GB/T 28181 G.711 stream type 0x90, odd packet layouts), and helpers to
take a stream apart packet by packet.

Written from ISO/IEC 13818-1 here, so that test inputs do not come from the code under test.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction

import av

from tests.media.media_samples import GOP, HEIGHT, WIDTH, _frames

PACKET = 188


@dataclass(frozen=True)
class ReferencePacket:
    """What FFmpeg's own demuxer finds in a TS: the frame bytes and their timing."""

    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool


def encode_ts_with(codec: str, count: int = 12, *, audio: bool = False) -> bytes:
    """FFmpeg's MPEG-TS of `count` frames of H.264 ("libx264") or H.265 ("libx265"), optionally with AAC audio."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        video = container.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if codec == "libx264":
            video.options = {"g": str(GOP), "bf": "0"}
        else:
            video.options = {"x265-params": f"log-level=error:keyint={GOP}:min-keyint={GOP}:bframes=0"}
        sound = container.add_stream("aac", rate=8000) if audio else None
        samples = 0
        for frame in _frames(count):
            container.mux(video.encode(frame))
            if sound is not None:
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=320)
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                chunk.sample_rate, chunk.pts, chunk.time_base = 8000, samples, Fraction(1, 8000)
                samples += 320
                container.mux(sound.encode(chunk))
        container.mux(video.encode(None))
        if sound is not None:
            container.mux(sound.encode(None))
    return buffer.getvalue()


def reference_packets(ts: bytes, kind: str = "video") -> list[ReferencePacket]:
    """FFmpeg's demuxing of `ts`: the reference the demuxer under test is held to."""
    with av.open(io.BytesIO(ts), format="mpegts") as container:
        streams = container.streams.video if kind == "video" else container.streams.audio
        return [ReferencePacket(bytes(p), p.pts, p.dts, bool(p.is_keyframe))
                for p in container.demux(streams[0]) if p.size]


def packets(ts: bytes) -> list[bytes]:
    assert len(ts) % PACKET == 0
    return [ts[i : i + PACKET] for i in range(0, len(ts), PACKET)]


def pid_of(packet: bytes) -> int:
    return (packet[1] & 0x1F) << 8 | packet[2]


def starts_unit(packet: bytes) -> bool:
    return bool(packet[1] & 0x40)


def counter_of(packet: bytes) -> int:
    return packet[3] & 0x0F


def with_counter(packet: bytes, counter: int) -> bytes:
    return packet[:3] + bytes([(packet[3] & 0xF0) | (counter & 0x0F)]) + packet[4:]


# -- a small writer ----------------------------------------------------------------------------------------


def crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def section(table_id: int, table_id_extension: int, body: bytes, *, version: int = 0) -> bytes:
    """A long-form PSI section with its CRC_32."""
    length = 5 + len(body) + 4
    head = bytes([table_id, 0xB0 | (length >> 8), length & 0xFF]) + struct.pack("!H", table_id_extension)
    head += bytes([0xC1 | (version << 1), 0, 0])
    return head + body + struct.pack("!I", crc32_mpeg(head + body))


def pat(pmt_pid: int = 0x1000, program: int = 1) -> bytes:
    return section(0x00, 1, struct.pack("!HH", program, 0xE000 | pmt_pid))


def pmt(streams: list[tuple[int, int]], *, program: int = 1, pcr_pid: int | None = None) -> bytes:
    """streams: (stream_type, PID)."""
    body = struct.pack("!HH", 0xE000 | (pcr_pid or streams[0][1]), 0xF000)
    for stream_type, pid in streams:
        body += bytes([stream_type]) + struct.pack("!HH", 0xE000 | pid, 0xF000)
    return section(0x02, program, body)


def timestamp(prefix: int, value: int) -> bytes:
    return bytes([(prefix << 4) | ((value >> 29) & 0x0E) | 1, (value >> 22) & 0xFF, ((value >> 14) & 0xFE) | 1,
                  (value >> 7) & 0xFF, ((value << 1) & 0xFE) | 1])


def pes(stream_id: int, data: bytes, pts: int | None, dts: int | None = None, *, bounded: bool = False) -> bytes:
    if pts is None:
        flags, stamps = 0x00, b""
    elif dts is None:
        flags, stamps = 0x80, timestamp(0x2, pts)
    else:
        flags, stamps = 0xC0, timestamp(0x3, pts) + timestamp(0x1, dts)
    header = bytes([0x80, flags, len(stamps)]) + stamps
    length = len(header) + len(data) if bounded else 0
    return b"\x00\x00\x01" + bytes([stream_id]) + struct.pack("!H", length) + header + data


class TsWriter:
    """Cuts PSI sections and PES packets into 188-byte packets, counting continuity per PID."""

    def __init__(self) -> None:
        self.counters: dict[int, int] = {}

    def _packet(self, pid: int, payload: bytes, *, start: bool, flags: int | None = None) -> bytes:
        """One packet; an adaptation field (with `flags`, then stuffing) fills what the payload leaves."""
        counter = self.counters.get(pid, 0)
        self.counters[pid] = (counter + 1) & 0x0F
        if flags is None and len(payload) == PACKET - 4:
            control, adaptation = 0x10, b""
        else:
            af_length = PACKET - 5 - len(payload)
            assert af_length >= (1 if flags is not None else 0)
            body = bytes([flags or 0]) + b"\xff" * (af_length - 1) if af_length else b""
            control, adaptation = 0x30, bytes([af_length]) + body
        head = bytes([0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, control | counter])
        packet = head + adaptation + payload
        assert len(packet) == PACKET, len(packet)
        return packet

    def psi(self, pid: int, table: bytes) -> bytes:
        return self._packet(pid, b"\x00" + table, start=True)

    def pes(self, pid: int, data: bytes, *, discontinuity: bool = False) -> bytes:
        out = b""
        offset = 0
        first = True
        while offset < len(data) or first:
            flags = 0x80 if first and discontinuity else None  # discontinuity_indicator
            room = PACKET - 4 - (2 if flags is not None else 0)
            chunk = data[offset : offset + room]
            out += self._packet(pid, chunk, start=first, flags=flags)
            offset += len(chunk)
            first = False
        return out
