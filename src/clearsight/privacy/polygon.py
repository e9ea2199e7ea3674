"""A privacy mask's polygon: normalised coordinates (0..1 of the picture's width and height), validated.

Coordinates are fractions of the picture, so a mask drawn on a 1080p picture covers the same part of a
720p one. `validate_polygon` accepts a simple (non self-intersecting) ring of 3 to 64 distinct points
inside the unit square enclosing some area; everything else raises `InvalidPolygon` saying why.
`polygon_digest` is what an export manifest names a mask's shape by.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

MIN_POINTS = 3  # a triangle: the smallest polygon enclosing an area
MAX_POINTS = 64  # enough to follow a window frame or a balcony; bounds the per-frame rasterising work

Point = tuple[float, float]
Polygon = tuple[Point, ...]


class InvalidPolygon(ValueError):
    """The points do not make a mask polygon; the message says why."""


def validate_polygon(points: Sequence[Sequence[float]]) -> Polygon:
    """The polygon as a tuple of (x, y) floats, or `InvalidPolygon`.

    A closing point equal to the first is dropped (GeoJSON rings repeat it); the ring's orientation is kept.
    """
    ring = [_point(index, point) for index, point in enumerate(points)]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if not MIN_POINTS <= len(ring) <= MAX_POINTS:
        raise InvalidPolygon(f"a polygon needs {MIN_POINTS} to {MAX_POINTS} points, got {len(ring)}")
    if len(set(ring)) != len(ring):
        raise InvalidPolygon("a polygon may not repeat a point")
    # Imported here, not at the top: GEOS takes a while to load and only mask changes validate polygons.
    from shapely.geometry import Polygon as ShapelyPolygon
    from shapely.validation import explain_validity

    shape = ShapelyPolygon(ring)
    if not shape.is_valid:
        raise InvalidPolygon(f"not a simple polygon: {explain_validity(shape)}")
    if not shape.area > 0:
        raise InvalidPolygon("the polygon encloses no area")
    return tuple(ring)


def _point(index: int, point: Sequence[float]) -> Point:
    if len(point) != 2:
        raise InvalidPolygon(f"point {index}: expected [x, y], got {len(point)} value(s)")
    x, y = float(point[0]), float(point[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidPolygon(f"point {index}: coordinates must be finite numbers")
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise InvalidPolygon(f"point {index} ({x:g}, {y:g}) lies outside the picture: coordinates are 0..1")
    return (x, y)


def polygon_json(polygon: Polygon) -> list[list[float]]:
    return [[x, y] for x, y in polygon]


def polygon_digest(polygon: Polygon) -> str:
    """SHA-256 (hex) of the polygon as compact JSON, `[[x,y],…]` with Python's shortest float repr."""
    text = json.dumps(polygon_json(polygon), separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()
