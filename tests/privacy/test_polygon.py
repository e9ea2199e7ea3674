"""Mask polygons: what is accepted, what is refused and why, and the digest manifests name them by."""

from __future__ import annotations

import hashlib
import math

import pytest

from clearsight.privacy.polygon import MAX_POINTS, InvalidPolygon, polygon_digest, validate_polygon

SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]


def test_a_simple_polygon_inside_the_picture_is_kept_as_given() -> None:
    assert validate_polygon(SQUARE) == ((0.1, 0.1), (0.4, 0.1), (0.4, 0.4), (0.1, 0.4))
    assert validate_polygon([[0, 0], [1, 0], [1, 1], [0, 1]]) == ((0, 0), (1, 0), (1, 1), (0, 1))  # the whole picture


def test_a_closing_point_is_dropped_and_concave_polygons_are_fine() -> None:
    assert validate_polygon([*SQUARE, SQUARE[0]]) == validate_polygon(SQUARE)
    notch = [[0.1, 0.1], [0.5, 0.1], [0.3, 0.2], [0.5, 0.5], [0.1, 0.5]]
    assert len(validate_polygon(notch)) == 5


def test_sixty_four_points_are_the_most() -> None:
    circle = [[0.5 + 0.4 * math.cos(2 * math.pi * i / n), 0.5 + 0.4 * math.sin(2 * math.pi * i / n)]
              for n in (MAX_POINTS,) for i in range(n)]
    assert len(validate_polygon(circle)) == MAX_POINTS
    more = [[0.5 + 0.4 * math.cos(2 * math.pi * i / 65), 0.5 + 0.4 * math.sin(2 * math.pi * i / 65)]
            for i in range(65)]
    with pytest.raises(InvalidPolygon, match="3 to 64 points, got 65"):
        validate_polygon(more)


@pytest.mark.parametrize(("points", "why"), [
    ([[0.1, 0.1], [0.2, 0.2]], "3 to 64 points, got 2"),
    ([[0.1, 0.1], [0.2, 0.1], [0.2, 0.1], [0.1, 0.2]], "may not repeat a point"),
    ([[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]], "not a simple polygon: Self-intersection"),  # a bow tie
    ([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], "not a simple polygon|encloses no area"),  # collinear
    ([[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]], r"point 1 \(1.2, 0.1\) lies outside the picture"),
    ([[-0.01, 0.1], [0.5, 0.1], [0.5, 0.5]], "point 0 .* outside the picture"),
    ([[0.1, math.nan], [0.5, 0.1], [0.5, 0.5]], "point 0: coordinates must be finite"),
    ([[0.1, 0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], "point 0: expected"),
])
def test_bad_polygons_are_refused_saying_why(points: list[list[float]], why: str) -> None:
    with pytest.raises(InvalidPolygon, match=why):
        validate_polygon(points)


def test_the_digest_is_of_the_points_and_changes_with_any_of_them() -> None:
    polygon = validate_polygon(SQUARE)
    assert polygon_digest(polygon) == polygon_digest(validate_polygon([[0.1, 0.1], [0.4, 0.1], [0.4, 0.4],
                                                                       [0.1, 0.4]]))
    moved = validate_polygon([[0.1, 0.1], [0.4, 0.1], [0.4, 0.41], [0.1, 0.4]])
    assert polygon_digest(moved) != polygon_digest(polygon)
    assert polygon_digest(polygon) == hashlib.sha256(b"[[0.1,0.1],[0.4,0.1],[0.4,0.4],[0.1,0.4]]").hexdigest()
