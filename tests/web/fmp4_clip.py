"""A short H.264 clip as fragmented MP4: an init segment, then one moof+mdat fragment per frame.

What the live-view WebSocket sends (see the contract in `src/clearsight/web/static/js/player.js`), made
with PyAV so the stand-in server in these tests can stream it to the browser.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import av

from clearsight.sim.video import render_frame

MP4_BOX_HEADER = 8  # ISO/IEC 14496-12 §4.2: 32-bit size then a four-character type
CLIP_MIME = 'video/mp4; codecs="avc1.42c01e"'  # H.264 Constrained Baseline, level 3.0


@dataclass(frozen=True, slots=True)
class Fmp4Clip:
    init_segment: bytes
    fragments: tuple[bytes, ...]
    width: int
    height: int
    fps: int


def _boxes(data: bytes) -> list[tuple[str, bytes]]:
    boxes: list[tuple[str, bytes]] = []
    pos = 0
    while pos + MP4_BOX_HEADER <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < MP4_BOX_HEADER:
            raise ValueError(f"box {kind!r} at {pos} has size {size}")
        boxes.append((kind.decode("ascii"), data[pos : pos + size]))
        pos += size
    return boxes



def make_clip(*, seconds: float = 30.0, width: int = 320, height: int = 180, fps: int = 25) -> Fmp4Clip:
    out = io.BytesIO()
    options = {"movflags": "empty_moov+default_base_moof+frag_every_frame"}
    with av.open(out, "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"profile": "baseline", "preset": "ultrafast", "tune": "zerolatency",
                          "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0", "level": "3.0"}
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for index in range(int(seconds * fps)):
            # The simulator's test picture: a scrolling ramp and bars, a clock, a name; never blank.
            frame = render_frame(width, height, channel_name="STAND-IN", now=start + timedelta(seconds=index / fps),
                                 marker=(0.0, 0.0), index=index)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    boxes = _boxes(out.getvalue())
    init = b"".join(box for kind, box in boxes if kind in ("ftyp", "moov"))
    fragments: list[bytes] = []
    pending = b""
    for kind, box in boxes:
        if kind == "moof":
            pending = box
        elif kind == "mdat" and pending:
            fragments.append(pending + box)
            pending = b""
    return Fmp4Clip(init, tuple(fragments), width, height, fps)
