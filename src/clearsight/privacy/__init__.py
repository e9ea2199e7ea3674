"""Privacy masks: polygons per channel hiding parts of the picture in snapshots, thumbnails and exports.

`polygon` validates a mask's shape (normalised coordinates), `painter` burns masks into decoded pictures,
`store` keeps them, `records` holds the values. Who may see behind them is access control's `lift_mask`
action; the API decides it (docs/privacy.md).
"""

from clearsight.privacy.painter import MaskPainter
from clearsight.privacy.polygon import InvalidPolygon, Polygon, polygon_digest, validate_polygon
from clearsight.privacy.records import AppliedMask, PrivacyMask, painter_for
from clearsight.privacy.store import PrivacyMaskStore

__all__ = [
    "AppliedMask",
    "InvalidPolygon",
    "MaskPainter",
    "Polygon",
    "PrivacyMask",
    "PrivacyMaskStore",
    "painter_for",
    "polygon_digest",
    "validate_polygon",
]
