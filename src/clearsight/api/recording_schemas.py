"""Request and response bodies of the recording endpoints: policies, the timeline, legal holds, status."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clearsight.api.params import MAX_CHANNEL_PK
from clearsight.api.schemas import Schema, UtcDatetime

MAX_TIMELINE_RANGE = timedelta(days=31)
MAX_REASON_LENGTH = 255  # the legal_holds table's reason column
MAX_RETENTION_DAYS = 3650

ModeName = Literal["continuous", "scheduled", "none"]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON_LENGTH)]


class ScheduleWindowSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(min_length=1, max_length=7,
                                                          description="Weekdays it starts on, Monday = 0.")
    start: Clock = Field(description="Local time HH:MM.")
    end: Clock = Field(description="Local time HH:MM; not after start: the window runs into the next day.")


class RecordingPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = Field(description="continuous, scheduled (by the windows in `schedule`) or none.")
    schedule: list[ScheduleWindowSchema] = Field(default_factory=list, max_length=64,
                                                 description="For scheduled: when to record, in local time.")
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS,
                                       description="Days recordings are kept; null: the platform's default.")
    storage: str | None = Field(default=None, max_length=64,
                                description="The storage path to record to; null: whichever has most room.")


class RecordingPolicyOut(Schema):
    channel_id: int
    mode: ModeName
    schedule: list[ScheduleWindowSchema]
    retention_days: int | None
    effective_retention_days: int = Field(description="retention_days, or the platform's default.")
    storage: str | None
    is_default: bool = Field(description="The channel has no policy of its own: CLEARSIGHT_RECORDING_DEFAULT.")
    updated_at: UtcDatetime | None
    recording_now: bool = Field(description="A recorder runs for the channel now.")


class TimeRangeOut(Schema):
    start: UtcDatetime
    end: UtcDatetime


class GapOut(Schema):
    id: int
    start: UtcDatetime
    end: UtcDatetime | None = Field(description="null while the gap lasts.")
    reason: str


class SegmentOut(Schema):
    id: int
    start: UtcDatetime
    end: UtcDatetime
    size: int = Field(description="Bytes.")
    codec: str = Field(description="RFC 6381 codec string.")
    state: Literal["open", "complete", "repaired"]
    storage: str
    keyframes: int = Field(description="Keyframes indexed in the segment.")


class TimelineOut(Schema):
    channel_id: int
    start: UtcDatetime
    end: UtcDatetime
    ranges: list[TimeRangeOut] = Field(description="Covered time: segments merged where they touch.")
    gaps: list[GapOut] = Field(description="Times the channel should have been recorded and was not, with why.")
    segments: list[SegmentOut]
    segments_truncated: bool = Field(description="More segments than listed; `ranges` covers them all.")
    recording_now: bool


class LegalHoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: int = Field(ge=1, le=MAX_CHANNEL_PK)
    start: AwareDatetime
    end: AwareDatetime
    reason: Reason = Field(description="Why the recordings must be kept (case number, order).")

    @model_validator(mode="after")
    def _check(self) -> LegalHoldIn:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class LegalHoldOut(Schema):
    id: int
    channel_id: int
    start: UtcDatetime
    end: UtcDatetime
    reason: str
    created_by: str
    created_at: UtcDatetime
    active: bool
    released_at: UtcDatetime | None
    released_by: str | None


class StorageOut(Schema):
    name: str
    quota: int | None = Field(description="Bytes; null: only the disk's free space limits it.")
    used: int = Field(description="Bytes of recordings on it.")
    disk_free: int
    headroom: int = Field(description="Bytes that may still be written before a limit is reached.")
    over_limits: bool


class RecorderOut(Schema):
    channel_id: int
    state: Literal["opening", "recording", "waiting", "stopped"]
    segment_start: UtcDatetime | None
    gap_reason: str | None
    segments_written: int
    bytes_written: int


class RepairOut(Schema):
    summary: str
    open_segments_closed: int
    truncated: int
    missing_files: int
    empty_removed: int
    orphans_indexed: int
    orphans_removed: int
    gaps_added: int
    gaps_closed: int


class RecordingStatusOut(Schema):
    storages: list[StorageOut]
    recorders: list[RecorderOut]
    repair: RepairOut | None = Field(description="What start-up repair did; null until it has run.")
