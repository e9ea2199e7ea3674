"""Values that leave the recording store (frozen dataclasses, never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SegmentState(StrEnum):
    OPEN = "open"  # being written; its row is updated every checkpoint: bytes [0, size) are whole fragments
    COMPLETE = "complete"  # closed normally and fsynced; sha256 set
    REPAIRED = "repaired"  # closed by start-up repair after a crash (cut back to its last whole fragment)


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    id: int
    channel_id: int
    channel_gb_id: str
    storage: str  # the storage path's name in CLEARSIGHT_RECORDING_PATHS
    path: str  # relative to that storage path's root, '/'-separated
    start_at: datetime
    end_at: datetime
    size: int
    codec: str
    keyframes: tuple[tuple[int, int], ...]  # (byte offset of the keyframe's moof, ms from start_at)
    state: SegmentState
    sha256: str | None


@dataclass(frozen=True, slots=True)
class GapRecord:
    id: int
    channel_id: int
    start_at: datetime
    end_at: datetime | None  # None while it lasts
    reason: str


@dataclass(frozen=True, slots=True)
class LegalHoldRecord:
    id: int
    channel_id: int
    start_at: datetime
    end_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    released_at: datetime | None
    released_by: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True, slots=True)
class Timeline:
    """A channel's recordings within a window: covered ranges (segments merged), gaps and the segments."""

    channel_id: int
    start_at: datetime
    end_at: datetime
    ranges: tuple[TimeRange, ...]
    gaps: tuple[GapRecord, ...]
    segments: tuple[SegmentRecord, ...]
    segments_truncated: bool  # more segments than the listing's limit; `ranges` still covers them all
