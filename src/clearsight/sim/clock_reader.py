"""Reading the simulator's burnt-in clock back from a decoded picture: which instant a frame shows.

`render_frame` draws ``HH:MM:SS.mmm`` in white on a black box at a known place, in the simulator's 5x7 font
scaled to the picture. `read_clock` takes the luma of that box from a decoded frame, thresholds it, and
matches each of the 12 character cells against the font's glyphs; a cell that matches no glyph closely makes
the reading fail (None), it is never guessed. Used by tests of playback (the clock shows the historic time
played) and of live view.
"""

from __future__ import annotations

import re
from functools import lru_cache

import av

from clearsight.sim.video import GLYPH_HEIGHT, GLYPH_WIDTH, glyph, overlay_layout

CLOCK_CHARS = 12  # HH:MM:SS.mmm, as `clock_text` writes it
CLOCK_ALPHABET = "0123456789:."
MAX_CELL_MISMATCH = 0.08  # a cell differing from its nearest glyph in more of its pixels is unreadable
MIN_CONTRAST = 96  # luma levels between the box's darkest and brightest pixel: less is no text
_CLOCK = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)")


@lru_cache(maxsize=8)
def _templates(scale: int) -> dict[str, int]:
    """Each clock character's cell as bits (1 = ink), row-major, one font pixel as scale x scale pixels."""
    blank = "0" * (GLYPH_WIDTH + 2)
    result = {}
    for char in CLOCK_ALPHABET:
        rows = [blank, *(f"0{row}0" for row in glyph(char)), blank]
        result[char] = int("".join("".join(cell * scale for cell in row) * scale for row in rows), 2)
    return result


def read_clock(frame: av.VideoFrame) -> str | None:
    """The ``HH:MM:SS.mmm`` burnt into a decoded test picture, or None when it cannot be read for sure."""
    layout = overlay_layout(frame.width, frame.height)
    scale = layout.scale
    x, y, width, height = layout.text_box(layout.clock_origin, CLOCK_CHARS)
    plane = frame.planes[0]
    data, stride = bytes(plane), plane.line_size
    if (y + height) * stride > len(data) or x + width > frame.width:
        return None
    rows = [data[(y + row) * stride + x : (y + row) * stride + x + width] for row in range(height)]
    low, high = min(min(r) for r in rows), max(max(r) for r in rows)
    if high - low < MIN_CONTRAST:
        return None
    threshold = (low + high) // 2
    cell_width, cell_height = (GLYPH_WIDTH + 2) * scale, (GLYPH_HEIGHT + 2) * scale
    templates = _templates(scale)
    chars = []
    for index in range(CLOCK_CHARS):
        x0 = index * (GLYPH_WIDTH + 1) * scale  # cells share their blank border column
        bits = int("".join("1" if rows[row][col] > threshold else "0"
                           for row in range(cell_height) for col in range(x0, x0 + cell_width)), 2)
        distance, char = min(((bits ^ template).bit_count(), c) for c, template in templates.items())
        if distance / (cell_width * cell_height) > MAX_CELL_MISMATCH:
            return None
        chars.append(char)
    text = "".join(chars)
    return text if _CLOCK.fullmatch(text) else None


def clock_seconds(text: str) -> float:
    """Seconds since midnight of a clock text read by `read_clock`."""
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not HH:MM:SS.mmm")
    hours, minutes, seconds, millis = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000
