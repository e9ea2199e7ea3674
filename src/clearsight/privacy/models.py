"""Persistence model of privacy masks. Every change here needs a migration in `clearsight/migrations/versions/`.

`channel_id` deliberately has no foreign key to `channels`: a channel dropped from its device's catalog
keeps its recordings, and exports of them must still be masked, so its masks stay with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.registry.models import Base, UtcDateTime, utc_now

MASK_NAME_LENGTH = 128
USERNAME_LENGTH = 64


class PrivacyMaskRow(Base):
    """A polygon hiding part of a channel's picture; see `clearsight.privacy.records.PrivacyMask`."""

    __tablename__ = "privacy_masks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(MASK_NAME_LENGTH))
    polygon: Mapped[list[Any]] = mapped_column(JSON)  # [[x, y], …], each 0..1 of width and height
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
