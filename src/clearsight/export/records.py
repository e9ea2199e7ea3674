"""Values of the export package: what was asked for, what a job works from, and what came out.

Times are aware UTC. Inside a job, instants are counted in 90 kHz ticks from the export's start (`Tick`),
the clock MP4 timestamps use, so that cutting and gap arithmetic is exact integer work.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from clearsight.privacy.records import AppliedMask

TICKS_PER_SECOND = 90_000  # ISO/IEC 13818-1 / 14496-12 practice: video timestamps in a 90 kHz clock
Tick = int  # 90 kHz ticks since the export's start; negative before it


def ticks_between(origin: datetime, instant: datetime) -> Tick:
    """`instant - origin` in 90 kHz ticks (rounded to the nearest tick)."""
    delta = instant - origin
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return round(micros * TICKS_PER_SECOND / 1_000_000)


def instant_at(origin: datetime, ticks: Tick) -> datetime:
    """The instant `ticks` after `origin`, to the microsecond."""
    return origin + timedelta(microseconds=round(ticks * 1_000_000 / TICKS_PER_SECOND))


class ExportState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SegmentState(enum.StrEnum):
    """`recording_segments.state`: being written, closed with its hash, or closed after a crash repair."""

    OPEN = "open"
    COMPLETE = "complete"
    REPAIRED = "repaired"


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One row of the `exports` table, as it leaves the store."""

    id: str
    created_by: str
    reason: str
    channels: tuple[int, ...]
    start_at: datetime
    end_at: datetime
    watermark: bool
    state: ExportState
    detail: str | None
    path: str | None
    size: int | None
    created_at: datetime
    finished_at: datetime | None
    masks_lifted: tuple[int, ...] = ()  # channels whose privacy masks the exporter could lift


@dataclass(frozen=True, slots=True)
class ExportPage:
    items: tuple[ExportRecord, ...]
    total: int


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel as the manifest names it; `gb_id` is None when neither the registry nor a segment knows it."""

    id: int
    gb_id: str | None
    name: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A keyframe of a segment: where its moof box starts and how long after the segment's start it shows."""

    offset: int
    ms: int


@dataclass(frozen=True, slots=True)
class SegmentSource:
    """A segment row with its file resolved; `file` is None when its storage root is not configured."""

    id: int
    channel_id: int
    channel_gb_id: str
    storage: str
    file: Path | None
    start_at: datetime
    end_at: datetime
    state: SegmentState
    sha256: str | None
    keyframes: tuple[Keyframe, ...]


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    channel: ChannelRef
    segments: tuple[SegmentSource, ...]  # by start_at
    masks: tuple[AppliedMask, ...] = ()  # the channel's enabled privacy masks when the export was built
    masks_lifted: bool = False  # the exporter may see behind them: the clips are left unmasked

    @property
    def applied_masks(self) -> tuple[AppliedMask, ...]:
        """The masks burnt into this channel's clips."""
        return () if self.masks_lifted else self.masks


@dataclass(frozen=True, slots=True)
class ExportJob:
    """Everything a worker thread needs to build one package; no database access happens there."""

    export_id: str
    platform_id: str
    created_by: str
    reason: str
    created_at: datetime
    start: datetime
    end: datetime
    watermark: bool
    channels: tuple[ChannelPlan, ...]

    @property
    def length(self) -> Tick:
        return ticks_between(self.start, self.end)


@dataclass(frozen=True, slots=True)
class BuiltPackage:
    path: Path
    size: int
    files: int
    gaps: int
    summary: str
