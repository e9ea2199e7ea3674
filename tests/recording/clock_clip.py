"""Video whose pictures carry their own frame number (a burnt-in clock), read back from decoded frames.

Each 160x120 picture has two flat blocks: the left one's luma is 16 + 8 × (second), the right one's 16 + 8 ×
(frame within the second), so a decoded frame says which recorded frame it is, within a few levels of coding
error (8 levels apart). Up to 25 seconds of 25 fps video.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av

from clearsight.media.es import Codec, EsFrame
from tests.recording.samples import FPS, FRAME_TICKS, VIDEO_STREAM_ID, Clip, fragment

WIDTH, HEIGHT = 160, 120
LEVEL_BASE, LEVEL_STEP = 16, 8
MAX_SECONDS = 25


def _picture(index: int) -> av.VideoFrame:
    second, within = divmod(index, FPS)
    picture = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    left, right = LEVEL_BASE + LEVEL_STEP * second, LEVEL_BASE + LEVEL_STEP * within
    row = bytes([left] * (WIDTH // 2) + [right] * (WIDTH // 2))
    picture.planes[0].update(row * HEIGHT)
    for plane in picture.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return picture


def make_clock_clip(seconds: int, *, gop: int = FPS) -> Clip:
    """`seconds` of H.264 (a keyframe every `gop` frames) whose frames show their number."""
    if seconds > MAX_SECONDS:
        raise ValueError(f"at most {MAX_SECONDS} s")
    context = av.CodecContext.create("libx264", "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    context.time_base = Fraction(1, FPS)
    context.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bframes": "0",
                       "preset": "ultrafast", "x264-params": "repeat-headers=1"}
    units: list[tuple[bytes, bool]] = []
    for index in range(seconds * FPS):
        picture = _picture(index)
        picture.pts = index
        units.extend((bytes(p), p.is_keyframe) for p in context.encode(picture))
    units.extend((bytes(p), p.is_keyframe) for p in context.encode(None))
    frames = [EsFrame(VIDEO_STREAM_ID, Codec.H264, i * FRAME_TICKS, None, data, key)
              for i, (data, key) in enumerate(units)]
    init, fragments = fragment(frames)
    return Clip(frames, init, fragments)


def frame_number(frame: Any) -> int:
    """The number a decoded picture of `make_clock_clip` shows."""
    plane = frame.to_ndarray(format="yuv420p")[:HEIGHT]  # the luma plane, as coded
    left = float(plane[HEIGHT // 4:3 * HEIGHT // 4, 8:WIDTH // 2 - 8].mean())
    right = float(plane[HEIGHT // 4:3 * HEIGHT // 4, WIDTH // 2 + 8:WIDTH - 8].mean())
    second = round((left - LEVEL_BASE) / LEVEL_STEP)
    within = round((right - LEVEL_BASE) / LEVEL_STEP)
    return second * FPS + within
