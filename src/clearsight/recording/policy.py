"""Recording policies: continuous, scheduled by weekday and time of day (in local time), or none.

A schedule is a list of windows `{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}` (Monday = 0), in the
platform's local time. A window whose end is not after its start runs past midnight into the next day
(`22:00`-`06:00` on Friday records Friday night until Saturday 06:00); `00:00`-`00:00` is the whole day.
Channels without a policy follow `CLEARSIGHT_RECORDING_DEFAULT`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any

DAYS_PER_WEEK = 7
MAX_WINDOWS = 64  # schedule windows per channel
MAX_RETENTION_DAYS = 3650


class RecordingMode(StrEnum):
    CONTINUOUS = "continuous"
    SCHEDULED = "scheduled"
    NONE = "none"


class InvalidPolicy(ValueError):
    """A policy or schedule that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    days: tuple[int, ...]  # Monday = 0 … Sunday = 6: the days the window starts on
    start: time
    end: time  # not after start: runs into the next day

    def covers(self, local: datetime) -> bool:
        moment = local.time().replace(tzinfo=None)
        weekday = local.weekday()
        if self.end > self.start:
            return weekday in self.days and self.start <= moment < self.end
        # Past midnight: the evening part on a listed day, the morning part on the day after one.
        if weekday in self.days and moment >= self.start:
            return True
        return (weekday - 1) % DAYS_PER_WEEK in self.days and moment < self.end

    def to_json(self) -> dict[str, Any]:
        return {"days": list(self.days), "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    channel_id: int
    mode: RecordingMode
    schedule: tuple[ScheduleWindow, ...] = ()
    retention_days: int | None = None  # None: the default retention
    storage: str | None = None  # None: any storage path
    updated_at: datetime | None = None

    def records_at(self, local: datetime) -> bool:
        """Should the channel be recorded at this local time?"""
        if self.mode is RecordingMode.CONTINUOUS:
            return True
        if self.mode is RecordingMode.SCHEDULED:
            return any(window.covers(local) for window in self.schedule)
        return False


def default_policy(channel_id: int, mode: RecordingMode) -> RecordingPolicy:
    return RecordingPolicy(channel_id, mode)


def _clock(text: object, what: str) -> time:
    if not isinstance(text, str):
        raise InvalidPolicy(f"{what} must be a string HH:MM")
    try:
        parsed = datetime.strptime(text, "%H:%M")
    except ValueError:
        raise InvalidPolicy(f"{what} {text!r} is not HH:MM") from None
    return parsed.time()


def parse_window(raw: object) -> ScheduleWindow:
    if not isinstance(raw, dict):
        raise InvalidPolicy("a schedule window must be an object with days, start and end")
    days = raw.get("days")
    if (not isinstance(days, list) or not days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < DAYS_PER_WEEK for d in days)):
        raise InvalidPolicy("days must be a non-empty list of weekdays 0-6 (Monday = 0)")
    return ScheduleWindow(tuple(sorted(set(days))), _clock(raw.get("start"), "start"), _clock(raw.get("end"), "end"))


def parse_schedule(raw: object) -> tuple[ScheduleWindow, ...]:
    """Windows from their JSON form (a list of objects, or its text)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidPolicy(f"schedule is not JSON: {exc}") from None
    if not isinstance(raw, list):
        raise InvalidPolicy("schedule must be a list of windows")
    if len(raw) > MAX_WINDOWS:
        raise InvalidPolicy(f"schedule has more than {MAX_WINDOWS} windows")
    return tuple(parse_window(window) for window in raw)


def schedule_json(windows: Sequence[ScheduleWindow]) -> str:
    return json.dumps([window.to_json() for window in windows], separators=(",", ":"))


def make_policy(channel_id: int, mode: str, schedule: object = None, retention_days: int | None = None,
                storage: str | None = None, *, storages: Sequence[str] | None = None) -> RecordingPolicy:
    """A checked policy; `storages`: the configured storage names `storage` must be one of."""
    try:
        recording_mode = RecordingMode(mode)
    except ValueError:
        raise InvalidPolicy(f"mode must be one of {', '.join(m.value for m in RecordingMode)}") from None
    windows = parse_schedule(schedule) if schedule not in (None, "", []) else ()
    if recording_mode is RecordingMode.SCHEDULED and not windows:
        raise InvalidPolicy("a scheduled policy needs at least one schedule window")
    if retention_days is not None and not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise InvalidPolicy(f"retention_days must be 1-{MAX_RETENTION_DAYS}")
    if storage is not None and storages is not None and storage not in storages:
        raise InvalidPolicy(f"no storage path named {storage!r} (configured: {', '.join(storages)})")
    return RecordingPolicy(channel_id, recording_mode, windows, retention_days, storage)
