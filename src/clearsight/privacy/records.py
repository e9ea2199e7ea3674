"""Values of privacy masks as they leave the store, and the set of them applied to one picture source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from clearsight.privacy.polygon import Polygon, polygon_digest

if TYPE_CHECKING:  # the painter (and numpy) load only when a picture is painted
    from clearsight.privacy.painter import MaskPainter


@dataclass(frozen=True, slots=True)
class PrivacyMask:
    id: int
    channel_id: int
    name: str
    polygon: Polygon
    enabled: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @property
    def digest(self) -> str:
        return polygon_digest(self.polygon)


@dataclass(frozen=True, slots=True)
class AppliedMask:
    """A mask as an export manifest or an audit entry names it: by ID, name and the hash of its polygon."""

    id: int
    name: str
    polygon: Polygon
    polygon_sha256: str

    @staticmethod
    def of(mask: PrivacyMask) -> AppliedMask:
        return AppliedMask(mask.id, mask.name, mask.polygon, mask.digest)


def painter_for(masks: Sequence[AppliedMask]) -> MaskPainter | None:
    """A painter filling every one of `masks`; None when there are none."""
    from clearsight.privacy.painter import MaskPainter  # here: numpy loads only when a picture is painted

    return MaskPainter([mask.polygon for mask in masks]) if masks else None
