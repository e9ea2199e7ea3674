"""Privacy masks: polygons per channel hiding parts of the picture in snapshots, thumbnails and exports.

`polygon` validates a mask's shape (normalised coordinates), `painter` burns masks into decoded pictures,
`records` holds the values, `store` keeps them (import it from `clearsight.privacy.store`: the media code
that paints pictures needs no database). Who may see behind them is access control's `lift_mask`
action; the API decides it (docs/privacy.md).
"""

from clearsight.privacy.polygon import InvalidPolygon, Polygon, polygon_digest, validate_polygon
from clearsight.privacy.records import AppliedMask, PrivacyMask, painter_for

__all__ = [
    "AppliedMask",
    "InvalidPolygon",
    "Polygon",
    "PrivacyMask",
    "painter_for",
    "polygon_digest",
    "validate_polygon",
]
