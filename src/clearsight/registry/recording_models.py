"""Persistence models of recording: per-channel policies, the segment index, gaps, legal holds, exports.

Segments and gaps name their channel by surrogate key *and* GB ID without a foreign key: recordings are
evidence and outlive the channel's row (a catalog that drops a channel must not delete its video).
Every change here needs a migration in `clearsight/migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.registry.models import GB_ID_LENGTH, TEXT_LENGTH, Base, UtcDateTime, utc_now

PATH_LENGTH = 1024  # a segment's path relative to its storage root
STORAGE_NAME_LENGTH = 64  # the name of a storage path in the settings
EXPORT_ID_LENGTH = 32  # uuid4 hex


class RecordingPolicy(Base):
    """How one channel is recorded; channels without a row follow `CLEARSIGHT_RECORDING_DEFAULT`."""

    __tablename__ = "recording_policies"

    channel_id: Mapped[int] = mapped_column(Integer, ForeignKey("channels.id", ondelete="CASCADE"),
                                            primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))  # continuous | scheduled | none
    # For mode "scheduled": JSON list of {"days": [0..6, Monday = 0], "start": "HH:MM", "end": "HH:MM"},
    # in the platform's local time.
    schedule: Mapped[str | None] = mapped_column(Text)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # None: the default retention
    storage: Mapped[str | None] = mapped_column(String(STORAGE_NAME_LENGTH))  # None: any storage path
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class RecordingSegment(Base):
    """One fragmented-MP4 file of a channel's recording and where its keyframes are."""

    __tablename__ = "recording_segments"
    __table_args__ = (
        Index("ix_recording_segments_channel_start", "channel_id", "start_at"),
        Index("ix_recording_segments_end_at", "end_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    channel_gb_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH))
    storage: Mapped[str] = mapped_column(String(STORAGE_NAME_LENGTH))
    path: Mapped[str] = mapped_column(String(PATH_LENGTH), unique=True)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    codec: Mapped[str] = mapped_column(String(64), default="")  # RFC 6381 codec string
    # JSON list of [byte offset of the keyframe's moof, milliseconds from start_at].
    keyframes: Mapped[str] = mapped_column(Text, default="[]")
    state: Mapped[str] = mapped_column(String(16))  # open | complete | repaired
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the file once complete


class RecordingGap(Base):
    """A time a channel should have been recorded but was not (source lost, device offline, disk full)."""

    __tablename__ = "recording_gaps"
    __table_args__ = (Index("ix_recording_gaps_channel_start", "channel_id", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None while the gap lasts
    reason: Mapped[str] = mapped_column(String(TEXT_LENGTH))


class LegalHold(Base):
    """Recordings of a channel within a time range that retention must never delete."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_channel_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(TEXT_LENGTH))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))


class Export(Base):
    """An evidence export: a time range of channels packaged as MP4 files with a signed manifest."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(EXPORT_ID_LENGTH), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(TEXT_LENGTH))
    channels: Mapped[str] = mapped_column(Text)  # JSON list of channel surrogate keys
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    watermark: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # JSON list of the channels whose privacy masks the exporter could lift (docs/privacy.md)
    masks_lifted: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    state: Mapped[str] = mapped_column(String(16))  # pending | running | done | failed
    detail: Mapped[str | None] = mapped_column(Text)  # what failed, or a summary when done
    path: Mapped[str | None] = mapped_column(String(PATH_LENGTH))  # the package, once done
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
