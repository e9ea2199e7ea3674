"""Watermark text: the lines, the bitmap font with its extra glyphs, the size that fits."""

from __future__ import annotations

from datetime import UTC, datetime

import av

from clearsight.export.watermark import (
    CELL_WIDTH,
    burn_in,
    exporter_line,
    frame_time_line,
    text_rows,
    text_scale,
)
from clearsight.sim.video import LUMA_BLACK, LUMA_WHITE


def test_lines_say_who_and_when() -> None:
    at = datetime(2026, 5, 1, 12, 0, 3, 40_500, tzinfo=UTC)
    assert exporter_line("alice", at) == "alice · 2026-05-01 12:00:03Z"
    assert frame_time_line(at) == "2026-05-01 12:00:03.040Z"


def test_rows_are_white_on_black_with_a_middle_dot_glyph() -> None:
    rows = text_rows("A·@", 2)
    assert len(rows) == 18 and {len(r) for r in rows} == {(CELL_WIDTH * 3 + 1) * 2}
    assert set(b"".join(rows)) == {LUMA_BLACK, LUMA_WHITE}
    dot_columns = range((1 + CELL_WIDTH) * 2, (1 + 2 * CELL_WIDTH) * 2)
    assert any(rows[row][column] == LUMA_WHITE for row in range(len(rows)) for column in dot_columns)
    assert text_rows("?", 1) != text_rows("·", 1)  # not drawn as the unknown-character glyph


def test_the_scale_fits_the_line_into_the_picture() -> None:
    assert text_scale(1920, 1080, 28) == 6
    assert text_scale(320, 180, 28) == 1
    assert (CELL_WIDTH * 28 + 1) * text_scale(640, 360, 28) <= 640


def test_burn_in_keeps_size_and_format_of_odd_strided_frames() -> None:
    decoded = av.VideoFrame(322, 182, "yuvj420p")
    for plane in decoded.planes:
        plane.update(bytes([128]) * plane.buffer_size)
    frame = burn_in(decoded, "top", "bottom")
    assert (frame.width, frame.height, frame.format.name) == (322, 182, "yuv420p")
    luma = bytes(frame.planes[0])
    assert LUMA_WHITE in luma[: frame.planes[0].line_size * 10]
