"""Coded video for the recording tests: H.264 access units and the hub items a fragmenter makes of them."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from clearsight.media.es import Codec, EsFrame
from clearsight.media.fmp4 import PTS_CLOCK_HZ, Fmp4Fragmenter, InitSegment, MediaFragment

FPS = 25
FRAME_TICKS = PTS_CLOCK_HZ // FPS
VIDEO_STREAM_ID = 0xE0


@dataclass(frozen=True)
class Clip:
    frames: list[EsFrame]
    init: InitSegment
    fragments: list[MediaFragment]


def encode_frames(count: int, *, gop: int = FPS, width: int = 160, height: int = 120, pts_base: int = 0,
                  shade: int = 0, codec: Codec = Codec.H264) -> list[EsFrame]:
    context = av.CodecContext.create("libx264" if codec is Codec.H264 else "libx265", "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = Fraction(1, FPS)
    if codec is Codec.H264:
        context.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bframes": "0",
                           "preset": "ultrafast", "x264-params": "repeat-headers=1"}
    else:
        context.options = {"preset": "ultrafast", "x265-params": f"log-level=error:keyint={gop}:min-keyint={gop}:"
                           "bframes=0:repeat-headers=1:scenecut=0"}
    units: list[tuple[bytes, bool]] = []
    for index in range(count):
        picture = av.VideoFrame(width, height, "yuv420p")
        for number, plane in enumerate(picture.planes):
            plane.update(bytes(((x // 7 + index * 5 + number * 40 + shade) & 0xFF) for x in range(plane.buffer_size)))
        picture.pts = index
        units.extend((bytes(p), p.is_keyframe) for p in context.encode(picture))
    units.extend((bytes(p), p.is_keyframe) for p in context.encode(None))
    return [EsFrame(VIDEO_STREAM_ID, codec, pts_base + i * FRAME_TICKS, None, data, key)
            for i, (data, key) in enumerate(units)]


def fragment(frames: list[EsFrame]) -> tuple[InitSegment, list[MediaFragment]]:
    fragmenter = Fmp4Fragmenter(label="test")
    out = [item for frame in frames for item in fragmenter.push(frame)] + fragmenter.close()
    inits = [item for item in out if isinstance(item, InitSegment)]
    return inits[0], [item for item in out if isinstance(item, MediaFragment)]


def make_clip(seconds: float, *, gop: int = FPS, width: int = 160, height: int = 120,
              codec: Codec = Codec.H264) -> Clip:
    frames = encode_frames(int(seconds * FPS), gop=gop, width=width, height=height, codec=codec)
    init, fragments = fragment(frames)
    return Clip(frames, init, fragments)
