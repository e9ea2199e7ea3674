"""RecordingStore on SQLite and PostgreSQL: policies, the segment index, gaps, legal holds, retention queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearsight.recording.policy import make_policy
from clearsight.recording.records import SegmentState, TimeRange
from clearsight.recording.segment_writer import SegmentFacts
from clearsight.recording.store import HoldAlreadyReleased, RecordingStore, merge_ranges

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GB = "34020000001310000001"


def facts(start: datetime, seconds: float, *, size: int = 1000, channel: int = 1,
          storage: str = "main") -> SegmentFacts:
    path = f"{channel}/{start:%Y%m%d}/{start:%Y%m%dT%H%M%S}_{start.microsecond // 1000:03d}Z_{GB}.mp4"
    return SegmentFacts(storage, path, start, start + timedelta(seconds=seconds), size, "avc1.42c00d",
                        ((0, 0), (900, 1000)), "ab" * 32)


async def add(store: RecordingStore, channel: int, start: datetime, seconds: float, **kwargs: object) -> int:
    return await store.add_segment(channel, GB, facts(start, seconds, channel=channel, **kwargs),  # type: ignore[arg-type]
                                   SegmentState.COMPLETE)


async def test_policies_are_stored_and_replaced(recording_store: RecordingStore, channel_ids: list[int]) -> None:
    first = channel_ids[0]
    assert await recording_store.get_policy(first) is None
    stored = await recording_store.set_policy(make_policy(first, "scheduled",
                                                          [{"days": [0], "start": "08:00", "end": "09:00"}], 30))
    assert stored.mode == "scheduled" and stored.retention_days == 30 and len(stored.schedule) == 1
    assert stored.updated_at is not None and stored.updated_at.tzinfo is not None
    replaced = await recording_store.set_policy(make_policy(first, "continuous"))
    assert replaced.mode == "continuous" and replaced.schedule == () and replaced.retention_days is None
    assert [p.channel_id for p in await recording_store.list_policies()] == [first]
    assert await recording_store.delete_policy(first)
    assert await recording_store.get_policy(first) is None


async def test_segments_between_and_the_timeline(recording_store: RecordingStore) -> None:
    for minute in (0, 1, 2, 5, 6):  # a hole from 3:00 to 5:00
        await add(recording_store, 1, T0 + timedelta(minutes=minute), 60)
    await add(recording_store, 2, T0, 600)
    found = await recording_store.segments_between(1, T0 + timedelta(seconds=90), T0 + timedelta(minutes=5, seconds=1))
    assert [s.start_at for s in found] == [T0 + timedelta(minutes=m) for m in (1, 2, 5)]
    assert found[0].keyframes == ((0, 0), (900, 1000)) and found[0].state is SegmentState.COMPLETE
    gap = await recording_store.open_gap(1, T0 + timedelta(minutes=3), "device sent BYE")
    await recording_store.close_gap(gap, T0 + timedelta(minutes=5))
    timeline = await recording_store.timeline(1, T0 + timedelta(seconds=30), T0 + timedelta(hours=1), segment_limit=3)
    assert timeline.ranges == (TimeRange(T0 + timedelta(seconds=30), T0 + timedelta(minutes=3)),
                               TimeRange(T0 + timedelta(minutes=5), T0 + timedelta(minutes=7)))
    assert [g.reason for g in timeline.gaps] == ["device sent BYE"]
    assert len(timeline.segments) == 3 and timeline.segments_truncated


async def test_open_gaps_and_reasons(recording_store: RecordingStore) -> None:
    gap = await recording_store.open_gap(1, T0, "device offline")
    await recording_store.set_gap_reason(gap, "device offline; then live view failed at invite: 486")
    gaps = await recording_store.gaps_between(1, T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert len(gaps) == 1 and gaps[0].end_at is None and "then" in gaps[0].reason
    assert await recording_store.close_open_gaps(T0 + timedelta(hours=1)) == 1
    assert (await recording_store.gaps_between(1, T0, T0 + timedelta(days=1)))[0].end_at == T0 + timedelta(hours=1)


async def test_legal_holds_are_released_not_deleted(recording_store: RecordingStore) -> None:
    hold = await recording_store.create_hold(1, T0, T0 + timedelta(hours=1), "case 2026-17", "alice")
    assert hold.active and hold.created_by == "alice"
    released = await recording_store.release_hold(hold.id, "bob")
    assert released is not None and not released.active and released.released_by == "bob"
    with pytest.raises(HoldAlreadyReleased):
        await recording_store.release_hold(hold.id, "carol")
    assert await recording_store.release_hold(9999, "bob") is None
    assert [h.id for h in await recording_store.list_holds(channel_id=1, active=False)] == [hold.id]
    assert await recording_store.list_holds(active=True) == []


async def test_retention_queries_skip_held_and_open_segments(recording_store: RecordingStore,
                                                             channel_ids: list[int]) -> None:
    now = T0 + timedelta(days=10)
    short, other = channel_ids
    old = [await add(recording_store, other, T0 + timedelta(minutes=m), 60) for m in range(4)]
    await recording_store.add_segment(other, GB, facts(T0 + timedelta(minutes=4), 60, channel=other),
                                      SegmentState.OPEN)
    await recording_store.create_hold(other, T0 + timedelta(minutes=1, seconds=30), T0 + timedelta(minutes=2),
                                      "held", "alice")
    released = await recording_store.create_hold(other, T0, T0 + timedelta(minutes=1), "released", "alice")
    await recording_store.release_hold(released.id, "bob")
    recent = await add(recording_store, short, now - timedelta(days=2), 60)
    await recording_store.set_policy(make_policy(short, "continuous", retention_days=1))
    expired = await recording_store.expired(now, default_days=7, limit=100)
    assert [s.id for s in expired] == [old[0], old[2], old[3], recent]  # old[1] is held; the open one never goes
    oldest = await recording_store.oldest_deletable("main", 2)
    assert [s.id for s in oldest] == [old[0], old[2]]
    assert await recording_store.delete_segments([old[0]]) == 1
    assert await recording_store.usage_by_storage() == {"main": 4000}  # closed segments only: 3 old + 1 recent


def test_merge_ranges_joins_touching_spans() -> None:
    spans = [(T0, T0 + timedelta(seconds=60)), (T0 + timedelta(seconds=60.1), T0 + timedelta(seconds=120)),
             (T0 + timedelta(seconds=200), T0 + timedelta(seconds=260))]
    assert merge_ranges(spans, T0, T0 + timedelta(seconds=230)) == (
        TimeRange(T0, T0 + timedelta(seconds=120)), TimeRange(T0 + timedelta(seconds=200), T0 + timedelta(seconds=230)))
    apart = [(T0, T0 + timedelta(seconds=60)), (T0 + timedelta(seconds=61), T0 + timedelta(seconds=120))]
    assert len(merge_ranges(apart, T0, T0 + timedelta(hours=1))) == 2  # a reconnection shows, however quick
