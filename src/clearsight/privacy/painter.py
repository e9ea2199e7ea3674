"""Burning privacy masks into decoded pictures: every pixel a mask's polygon touches is filled solid.

A solid fill is the only treatment offered: it keeps nothing of what was behind it, whereas pixelation or
blur keeps colours, shapes and movement (and large-block pixelation of text can be read back). The fill is
black (luma at the bottom of the frame's range, neutral chroma).

Polygons are rasterised with OpenCV's `fillPoly` once per picture size and kept, so masking a clip costs a
copy of each frame and a masked assignment. Pixel coverage is conservative: a pixel whose centre lies on an
edge is filled, and a 4:2:0 chroma sample is filled when any of its four luma pixels is.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import av
import numpy as np
import numpy.typing as npt

from clearsight.privacy.polygon import Polygon

BoolImage = npt.NDArray[np.bool_]
SUBPIXEL_BITS = 8  # fillPoly's `shift`: vertices to 1/256 of a pixel
LUMA_BLACK = {"yuv420p": 16, "yuvj420p": 0}  # ITU-R BT.601 limited range starts at 16; JPEG's full range at 0
CHROMA_NEUTRAL = 128
PAINTED_FORMATS = frozenset(LUMA_BLACK)  # other formats are converted to yuv420p first


def rasterise(polygons: Sequence[Polygon], width: int, height: int) -> BoolImage:
    """A height × width image, True where any polygon covers the pixel."""
    import cv2  # here, not at the top: OpenCV takes a while to load and most processes never paint

    canvas = np.zeros((height, width), dtype=np.uint8)
    scale = 1 << SUBPIXEL_BITS
    # Normalised 0..1 spans the picture's edges; pixel i's centre is at (i + 0.5) / size.
    rings = [np.array([[round((x * width - 0.5) * scale), round((y * height - 0.5) * scale)] for x, y in polygon],
                      dtype=np.int32) for polygon in polygons]
    if rings:
        cv2.fillPoly(canvas, rings, 1, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    return canvas.astype(bool)


def halve(raster: BoolImage) -> BoolImage:
    """The 4:2:0 chroma raster: a sample is covered when any luma pixel of its 2×2 block is."""
    height, width = raster.shape
    padded = np.pad(raster, ((0, height % 2), (0, width % 2)))
    blocks = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2)
    return np.asarray(blocks.any(axis=(1, 3)), dtype=np.bool_)


class MaskPainter:
    """Fills a fixed set of polygons into pictures of any size (rasters are cached per size; thread-safe)."""

    def __init__(self, polygons: Sequence[Polygon]) -> None:
        if not polygons:
            raise ValueError("a painter needs at least one polygon")
        self.polygons = tuple(polygons)
        self._rasters: dict[tuple[int, int], tuple[BoolImage, BoolImage]] = {}
        self._lock = threading.Lock()

    def rasters(self, width: int, height: int) -> tuple[BoolImage, BoolImage]:
        """(luma raster, 4:2:0 chroma raster) for a picture of this size."""
        with self._lock:
            found = self._rasters.get((width, height))
            if found is None:
                luma = rasterise(self.polygons, width, height)
                found = self._rasters[(width, height)] = (luma, halve(luma))
            return found

    def paint_array(self, image: npt.NDArray[np.uint8], fill: int | Sequence[int] = 0) -> npt.NDArray[np.uint8]:
        """A copy of a height × width (× channels) image with the polygons filled with `fill`."""
        luma, _ = self.rasters(image.shape[1], image.shape[0])
        painted = image.copy()
        painted[luma] = fill
        return painted

    def paint_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """A new frame (yuv420p or yuvj420p, as decoded) with the polygons filled; `frame` is not touched.

        Never paints in place: a decoder's output may be its reference picture for the frames that follow.
        """
        source = frame if frame.format.name in PAINTED_FORMATS else frame.reformat(format="yuv420p")
        name = source.format.name
        painted = av.VideoFrame(source.width, source.height, name)
        luma_raster, chroma_raster = self.rasters(source.width, source.height)
        for index, (target, plane) in enumerate(zip(painted.planes, source.planes, strict=True)):
            raster = luma_raster if index == 0 else chroma_raster
            rows, columns = raster.shape
            pixels = _plane_pixels(target, rows, columns)
            pixels[:] = _plane_pixels(plane, rows, columns)
            pixels[raster] = LUMA_BLACK[name] if index == 0 else CHROMA_NEUTRAL
        painted.pts = frame.pts
        if frame.time_base is not None:
            painted.time_base = frame.time_base
        return painted


def _plane_pixels(plane: av.video.plane.VideoPlane, rows: int, columns: int) -> npt.NDArray[np.uint8]:
    """The plane's visible pixels as a writable rows × columns view (line padding left out)."""
    flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
    return flat[: rows * plane.line_size].reshape(rows, plane.line_size)[:, :columns]
