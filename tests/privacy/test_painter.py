"""Burning masks into pictures: pixels inside a polygon are filled, those outside are left as they were."""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt
import pytest

from clearsight.privacy.painter import CHROMA_NEUTRAL, LUMA_BLACK, MaskPainter, rasterise

# x 0.25..0.5 and y 0.5..0.75 of the picture
RECTANGLE = ((0.25, 0.5), (0.5, 0.5), (0.5, 0.75), (0.25, 0.75))
TRIANGLE = ((0.6, 0.1), (0.9, 0.1), (0.9, 0.4))  # above the diagonal from (0.6, 0.1) to (0.9, 0.4)


def _plane(frame: av.VideoFrame, index: int) -> npt.NDArray[np.uint8]:
    plane = frame.planes[index]
    rows = frame.height if index == 0 else (frame.height + 1) // 2
    columns = frame.width if index == 0 else (frame.width + 1) // 2
    flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
    return flat[: rows * plane.line_size].reshape(rows, plane.line_size)[:, :columns]


def _textured(width: int, height: int, fmt: str = "yuv420p") -> av.VideoFrame:
    frame = av.VideoFrame(width, height, fmt)
    for index in range(3):
        pixels = _plane(frame, index)
        rows, columns = np.indices(pixels.shape)
        pixels[:] = (60 + (rows * 3 + columns * 5 + index * 50) % 150).astype(np.uint8)
    frame.pts = 1234
    return frame


def test_the_raster_covers_the_polygon_and_nothing_far_from_it() -> None:
    raster = rasterise([RECTANGLE], 64, 48)
    assert raster[24:36, 16:32].all()  # rows 0.5..0.75 of 48, columns 0.25..0.5 of 64
    outside = raster.copy()
    outside[23:37, 15:33] = False  # at most one pixel beyond each edge
    assert not outside.any()
    triangle = rasterise([TRIANGLE], 100, 100)
    assert triangle[12, 88] and triangle[20, 85] and not triangle[30, 65]  # below the diagonal: outside


def test_normalised_polygons_cover_the_same_part_at_any_resolution() -> None:
    for width, height in ((64, 48), (1920, 1080), (1280, 720)):
        raster = rasterise([RECTANGLE], width, height)
        assert raster.mean() == pytest.approx(0.25 * 0.25, abs=2 / min(width, height))


@pytest.mark.parametrize("fmt", ["yuv420p", "yuvj420p"])
def test_a_frame_is_filled_black_inside_and_untouched_outside(fmt: str) -> None:
    frame = _textured(64, 48, fmt)
    before = [_plane(frame, i).copy() for i in range(3)]
    painter = MaskPainter([RECTANGLE, TRIANGLE])
    painted = painter.paint_frame(frame)
    assert painted.format.name == fmt and painted.pts == 1234
    luma, chroma = painter.rasters(64, 48)
    assert (_plane(painted, 0)[luma] == LUMA_BLACK[fmt]).all()
    assert (_plane(painted, 0)[~luma] == before[0][~luma]).all()
    for index in (1, 2):
        assert (_plane(painted, index)[chroma] == CHROMA_NEUTRAL).all()
        assert (_plane(painted, index)[~chroma] == before[index][~chroma]).all()
    assert all((_plane(frame, i) == before[i]).all() for i in range(3))  # the decoder's frame is not touched


def test_odd_sizes_and_other_formats_are_painted_too() -> None:
    frame = _textured(63, 47).reformat(format="rgb24")
    painted = MaskPainter([RECTANGLE]).paint_frame(frame)
    assert painted.format.name == "yuv420p"
    assert (_plane(painted, 0)[25:34, 17:30] == LUMA_BLACK["yuv420p"]).all()
    assert _plane(painted, 0)[5:15, 40:60].min() > 40


def test_an_array_is_painted_with_the_fill_given() -> None:
    image = np.full((48, 64, 3), 200, dtype=np.uint8)
    painted = MaskPainter([RECTANGLE]).paint_array(image, fill=(0, 0, 0))
    assert (painted[26:34, 18:30] == 0).all()
    assert (painted[:20] == 200).all() and (painted[:, 40:] == 200).all()
    assert (image == 200).all()


def test_a_painter_needs_a_polygon() -> None:
    with pytest.raises(ValueError, match="at least one polygon"):
        MaskPainter([])
