"""Recording policies: modes, schedule windows in local time (also past midnight), validation."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from clearsight.recording.policy import (
    InvalidPolicy,
    RecordingMode,
    ScheduleWindow,
    make_policy,
    parse_schedule,
    schedule_json,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026: the 2nd is a Monday."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_continuous_and_none() -> None:
    assert make_policy(1, "continuous").records_at(at(2, 3))
    assert not make_policy(1, "none").records_at(at(2, 3))


def test_weekday_office_hours() -> None:
    policy = make_policy(1, "scheduled", [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:30"}])
    assert policy.records_at(at(2, 8)) and policy.records_at(at(6, 18, 29))
    assert not policy.records_at(at(2, 7, 59)) and not policy.records_at(at(2, 18, 30))
    assert not policy.records_at(at(7, 12))  # Saturday


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    policy = make_policy(1, "scheduled", [{"days": [4], "start": "22:00", "end": "06:00"}])  # Friday night
    assert policy.records_at(at(6, 23)) and policy.records_at(at(7, 5, 59))
    assert not policy.records_at(at(7, 6)) and not policy.records_at(at(7, 23))  # Saturday night is not listed
    assert not policy.records_at(at(6, 3))  # Friday morning belongs to Thursday night


def test_midnight_to_midnight_is_the_whole_day() -> None:
    policy = make_policy(1, "scheduled", [{"days": [6], "start": "00:00", "end": "00:00"}])
    assert policy.records_at(at(8, 0)) and policy.records_at(at(8, 23, 59)) and not policy.records_at(at(9, 0))


def test_schedule_round_trips_through_json() -> None:
    windows = (ScheduleWindow((0, 2), time(8), time(9, 30)),)
    assert parse_schedule(schedule_json(windows)) == windows


@pytest.mark.parametrize(("mode", "schedule", "retention", "storage", "problem"), [
    ("always", None, None, None, "mode must be"),
    ("scheduled", None, None, None, "at least one"),
    ("scheduled", [{"days": [7], "start": "08:00", "end": "09:00"}], None, None, "weekdays"),
    ("scheduled", [{"days": [1], "start": "8", "end": "09:00"}], None, None, "HH:MM"),
    ("scheduled", "not json", None, None, "not JSON"),
    ("continuous", None, 0, None, "retention_days"),
    ("continuous", None, None, "nas", "no storage path"),
])
def test_invalid_policies(mode: str, schedule: object, retention: int | None, storage: str | None,
                          problem: str) -> None:
    with pytest.raises(InvalidPolicy, match=problem):
        make_policy(1, mode, schedule, retention, storage, storages=["main"])


def test_valid_policy_values() -> None:
    policy = make_policy(3, "continuous", None, 30, "main", storages=["main"])
    assert (policy.mode, policy.retention_days, policy.storage) == (RecordingMode.CONTINUOUS, 30, "main")
