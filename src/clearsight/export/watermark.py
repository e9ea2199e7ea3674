"""The optional visible watermark: text burnt into decoded pictures (`clearsight.export.reencoded_clip`
decodes and re-encodes the video around it).

The top-left line names who exported the video and when ("ALICE · 2026-05-01 12:00:00Z"); the bottom line
is each frame's recorded time to the millisecond. Text uses the simulator's 5x7 bitmap font (white on a black
box, upper case), scaled to the picture and shrunk to fit its width.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import av

from clearsight.sim.video import CHROMA_NEUTRAL, GLYPH_HEIGHT, GLYPH_WIDTH, LUMA_BLACK, LUMA_WHITE, glyph

CELL_WIDTH, CELL_HEIGHT = GLYPH_WIDTH + 1, GLYPH_HEIGHT + 2  # a glyph with its blank column and rows
LINES_PER_PICTURE = 20  # the font pixel is chosen so a line of text is about 1/20 of the picture's height
_EXTRA_GLYPHS = {  # characters the simulator's font lacks, in its 5x7 form
    "·": ("00000", "00000", "01100", "01100", "00000", "00000", "00000"),
    "@": ("01110", "10001", "10111", "10101", "10111", "10000", "01110"),
    "/": ("00001", "00010", "00010", "00100", "01000", "01000", "10000"),
}


def exporter_line(user: str, exported_at: datetime) -> str:
    return f"{user} · {exported_at:%Y-%m-%d %H:%M:%S}Z"


def frame_time_line(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M:%S}.{instant.microsecond // 1000:03d}Z"


def _glyph(char: str) -> tuple[str, ...]:
    return _EXTRA_GLYPHS.get(char) or glyph(char)


@lru_cache(maxsize=16)
def text_rows(text: str, scale: int) -> tuple[bytes, ...]:
    """Luma rows of `text` drawn white on black, each font pixel `scale` picture pixels square."""
    ink, paper = bytes((LUMA_WHITE,)) * scale, bytes((LUMA_BLACK,)) * scale
    blank = paper * (CELL_WIDTH * len(text) + 1)
    glyphs = [_glyph(char) for char in text]
    rows = [blank] * scale
    for line in range(GLYPH_HEIGHT):
        cells = "0" + "".join(g[line] + "0" for g in glyphs)
        rows += [b"".join(ink if cell == "1" else paper for cell in cells)] * scale
    return (*rows, *([blank] * scale))


def text_scale(width: int, height: int, chars: int) -> int:
    """The font pixel size for a line of `chars` characters: readable, and narrower than the picture."""
    wanted = max(1, height // (LINES_PER_PICTURE * CELL_HEIGHT))
    fitting = max(1, (width - 2) // (CELL_WIDTH * chars + 1 + 4))
    return min(wanted, fitting)


class Picture:
    """A yuv420p copy of a decoded frame as three bytearrays with a new frame's line sizes; drawing clips."""

    def __init__(self, decoded: av.VideoFrame) -> None:
        source = decoded if decoded.format.name == "yuv420p" else decoded.reformat(format="yuv420p")
        self.frame = av.VideoFrame(source.width, source.height, "yuv420p")
        self.width, self.height = source.width, source.height
        self.planes: list[bytearray] = []
        self.strides: list[int] = []
        sizes = ((self.width, self.height), ((self.width + 1) // 2, (self.height + 1) // 2))
        for index, (target, plane) in enumerate(zip(self.frame.planes, source.planes, strict=True)):
            width, rows = sizes[min(index, 1)]
            data, out = bytes(plane), bytearray(target.buffer_size)
            for row in range(rows):
                out[row * target.line_size : row * target.line_size + width] = \
                    data[row * plane.line_size : row * plane.line_size + width]
            self.planes.append(out)
            self.strides.append(target.line_size)

    def draw_text(self, x: int, y: int, text: str, scale: int) -> None:
        rows = text_rows(text, scale)
        box_width = min(len(rows[0]), self.width - x)
        if box_width <= 0:
            return
        luma, stride = self.planes[0], self.strides[0]
        for offset, row in enumerate(rows):
            line = y + offset
            if 0 <= line < self.height:
                luma[line * stride + x : line * stride + x + box_width] = row[:box_width]
        chroma_x0, chroma_x1 = x // 2, (x + box_width + 1) // 2
        neutral = bytes((CHROMA_NEUTRAL,)) * (chroma_x1 - chroma_x0)
        for plane, stride in zip(self.planes[1:], self.strides[1:], strict=True):
            for line in range(max(0, y) // 2, min(self.height, y + len(rows) + 1) // 2):
                plane[line * stride + chroma_x0 : line * stride + chroma_x1] = neutral

    def finish(self) -> av.VideoFrame:
        for plane, data in zip(self.frame.planes, self.planes, strict=True):
            plane.update(bytes(data))
        return self.frame


def burn_in(decoded: av.VideoFrame, top: str, bottom: str) -> av.VideoFrame:
    """A copy of `decoded` with `top` in its top-left corner and `bottom` in its bottom-left."""
    picture = Picture(decoded)
    scale = text_scale(picture.width, picture.height, max(len(top), len(bottom)))
    margin = 2 * scale
    picture.draw_text(margin, margin, top, scale)
    picture.draw_text(margin, picture.height - margin - CELL_HEIGHT * scale, bottom, scale)
    return picture.finish()
