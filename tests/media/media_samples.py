"""Real coded video for the media tests: encoders (PyAV), RTP packetizers and a small PS muxer.

The packetizers and the muxer are written here from the RFCs and ISO/IEC 13818-1 so that the tests
do not depend on the code under test to make their inputs.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

WIDTH, HEIGHT = 160, 120
FRAMES = 12
GOP = 5
MTU_PAYLOAD = 1000  # RTP payload bytes per packet; small so that frames are fragmented


@dataclass(frozen=True)
class EncodedVideo:
    codec: str  # "h264" | "hevc"
    access_units: list[bytes]  # Annex B, one per frame


def _frames(count: int) -> Iterator[av.VideoFrame]:
    for index in range(count):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane_no, plane in enumerate(frame.planes):
            plane.update(bytes(((x + index * 7 + plane_no * 50) * 3) & 0xFF for x in range(plane.buffer_size)))
        frame.pts = index
        yield frame


def encode(codec: str, count: int = FRAMES) -> EncodedVideo:
    encoder = "libx264" if codec == "h264" else "libx265"
    ctx = av.CodecContext.create(encoder, "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.time_base = Fraction(1, 25)
    if codec == "h264":
        ctx.options = {"g": str(GOP), "bframes": "0"}
    else:
        ctx.options = {"x265-params": f"log-level=error:keyint={GOP}:min-keyint={GOP}:bframes=0"}
    units: list[bytes] = []
    for frame in _frames(count):
        units.extend(bytes(packet) for packet in ctx.encode(frame))
    units.extend(bytes(packet) for packet in ctx.encode(None))
    return EncodedVideo(codec, units)


def encode_ts(count: int = FRAMES) -> bytes:
    """An MPEG-TS byte stream carrying H.264, muxed by FFmpeg."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"g": str(GOP), "bframes": "0"}
        for frame in _frames(count):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def split_annex_b(access_unit: bytes) -> list[bytes]:
    """NAL units of an Annex B access unit, without start codes."""
    nals: list[bytes] = []
    starts: list[int] = []
    pos = access_unit.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = access_unit.find(b"\x00\x00\x01", pos + 3)
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(access_unit)
        nals.append(access_unit[start:end].rstrip(b"\x00"))
    return nals


# -- RFC 6184 / RFC 7798 packetizers ---------------------------------------------------------------------


def packetize_h264(access_unit: bytes, mtu: int = MTU_PAYLOAD) -> list[bytes]:
    """Payloads for one access unit: SPS+PPS in a STAP-A, small NALs alone, big ones as FU-A."""
    nals = split_annex_b(access_unit)
    out: list[bytes] = []
    params = [n for n in nals if n[0] & 0x1F in (7, 8)]
    if len(params) > 1:
        nri = max(n[0] & 0x60 for n in params)
        out.append(bytes([nri | 24]) + b"".join(struct.pack("!H", len(n)) + n for n in params))
        nals = [n for n in nals if n not in params]
    for nal in nals:
        if len(nal) <= mtu:
            out.append(nal)
            continue
        indicator = (nal[0] & 0xE0) | 28
        body = nal[1:]
        chunks = [body[i : i + mtu - 2] for i in range(0, len(body), mtu - 2)]
        for i, chunk in enumerate(chunks):
            fu = nal[0] & 0x1F
            if i == 0:
                fu |= 0x80
            if i == len(chunks) - 1:
                fu |= 0x40
            out.append(bytes([indicator, fu]) + chunk)
    return out


def packetize_h265(access_unit: bytes, mtu: int = MTU_PAYLOAD) -> list[bytes]:
    """Payloads for one access unit: VPS+SPS+PPS in an AP, small NALs alone, big ones as FU."""
    nals = split_annex_b(access_unit)
    out: list[bytes] = []
    params = [n for n in nals if (n[0] >> 1) & 0x3F in (32, 33, 34)]
    if len(params) > 1:
        header = bytes([48 << 1, 1])
        out.append(header + b"".join(struct.pack("!H", len(n)) + n for n in params))
        nals = [n for n in nals if n not in params]
    for nal in nals:
        if len(nal) <= mtu:
            out.append(nal)
            continue
        nal_type = (nal[0] >> 1) & 0x3F
        header = bytes([(nal[0] & 0x81) | (49 << 1), nal[1]])
        body = nal[2:]
        chunks = [body[i : i + mtu - 3] for i in range(0, len(body), mtu - 3)]
        for i, chunk in enumerate(chunks):
            fu = nal_type
            if i == 0:
                fu |= 0x80
            if i == len(chunks) - 1:
                fu |= 0x40
            out.append(header + bytes([fu]) + chunk)
    return out


# -- MPEG-2 program stream (the GB/T 28181 layout) ------------------------------------------------------


def _timestamp_bytes(prefix: int, value: int) -> bytes:
    """A 33-bit PTS/DTS in the 5-byte PES layout with marker bits."""
    return bytes([
        (prefix << 4) | (((value >> 30) & 0x07) << 1) | 1,
        (value >> 22) & 0xFF,
        (((value >> 15) & 0x7F) << 1) | 1,
        (value >> 7) & 0xFF,
        ((value & 0x7F) << 1) | 1,
    ])


def pack_header(scr: int, mux_rate: int = 0x3FFF) -> bytes:
    return b"\x00\x00\x01\xba" + bytes([
        0x44 | (((scr >> 30) & 0x07) << 3) | ((scr >> 28) & 0x03),
        (scr >> 20) & 0xFF,
        (((scr >> 15) & 0x1F) << 3) | 0x04 | ((scr >> 13) & 0x03),
        (scr >> 5) & 0xFF,
        ((scr & 0x1F) << 3) | 0x04,
        0x01,
        (mux_rate >> 14) & 0xFF,
        (mux_rate >> 6) & 0xFF,
        ((mux_rate & 0x3F) << 2) | 0x03,
        0xF8,
    ])


def system_header() -> bytes:
    body = bytes([0x80, 0x7F, 0xFF, 0x04, 0xE1, 0xFF]) + bytes([0xE0, 0xE0, 0xE8])
    return b"\x00\x00\x01\xbb" + struct.pack("!H", len(body)) + body


def program_stream_map(stream_type: int) -> bytes:
    entries = bytes([stream_type, 0xE0, 0x00, 0x00])
    body = bytes([0xE0, 0xFF]) + struct.pack("!H", 0) + struct.pack("!H", len(entries)) + entries
    body += b"\x00\x00\x00\x00"  # CRC_32; not checked by the detector
    return b"\x00\x00\x01\xbc" + struct.pack("!H", len(body)) + body


def pes_packets(stream_id: int, data: bytes, pts: int) -> bytes:
    out = bytearray()
    max_chunk = 0xFFFF - 8
    for offset in range(0, len(data), max_chunk):
        chunk = data[offset : offset + max_chunk]
        header = bytes([0x80, 0x80, 5]) + _timestamp_bytes(0x2, pts) if offset == 0 else bytes([0x80, 0x00, 0])
        out += b"\x00\x00\x01" + bytes([stream_id]) + struct.pack("!H", len(header) + len(chunk)) + header + chunk
    return bytes(out)


def mux_ps(video: EncodedVideo) -> list[bytes]:
    """One PS byte string per frame: pack header, (system header + PSM on keyframes), video PES."""
    stream_type = 0x1B if video.codec == "h264" else 0x24
    frames: list[bytes] = []
    for index, unit in enumerate(video.access_units):
        pts = index * 3600
        ps = pack_header(pts)
        if index % GOP == 0:
            ps += system_header() + program_stream_map(stream_type)
        ps += pes_packets(0xE0, unit, pts)
        frames.append(ps)
    return frames


def split(data: bytes, size: int = MTU_PAYLOAD) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
