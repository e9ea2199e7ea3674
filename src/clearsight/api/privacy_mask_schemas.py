"""Request and response bodies of `/api/v1/channels/{id}/privacy-masks`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from clearsight.api.schemas import Schema, UtcDatetime
from clearsight.privacy import PrivacyMask, validate_polygon
from clearsight.privacy.models import MASK_NAME_LENGTH
from clearsight.privacy.polygon import MAX_POINTS, MIN_POINTS, polygon_json

MaskName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MASK_NAME_LENGTH)]
PointIn = tuple[float, float]


class PrivacyMaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: MaskName = Field(description="What the mask hides, e.g. \"windows of No. 12\".")
    polygon: list[PointIn] = Field(
        min_length=MIN_POINTS, max_length=MAX_POINTS + 1,
        description=f"[[x, y], …]: {MIN_POINTS} to {MAX_POINTS} points, each 0..1 of the picture's width and "
                    "height from its top-left corner, making a simple polygon with some area (a closing "
                    "point equal to the first is dropped).")
    enabled: bool = Field(default=True, description="Applied to pictures (false: kept, not applied).")

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, value: list[PointIn]) -> list[PointIn]:
        return list(validate_polygon(value))


class PrivacyMaskOut(Schema):
    id: int
    channel_id: int
    name: str
    polygon: list[list[float]]
    polygon_sha256: str = Field(description="SHA-256 of the polygon as export manifests name it (docs/privacy.md).")
    enabled: bool
    created_by: str
    created_at: UtcDatetime
    updated_by: str
    updated_at: UtcDatetime

    @staticmethod
    def of(mask: PrivacyMask) -> PrivacyMaskOut:
        return PrivacyMaskOut(id=mask.id, channel_id=mask.channel_id, name=mask.name,
                              polygon=polygon_json(mask.polygon), polygon_sha256=mask.digest, enabled=mask.enabled,
                              created_by=mask.created_by, created_at=mask.created_at, updated_by=mask.updated_by,
                              updated_at=mask.updated_at)
