"""Retention by age and by quota, in a temporary directory: the oldest unheld segments go, holds are respected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clearsight.recording.layout import thumbnail_path
from clearsight.recording.policy import make_policy
from clearsight.recording.retention import RetentionSweeper
from clearsight.recording.storage import StoragePath, StoragePool
from clearsight.recording.store import RecordingStore
from tests.recording.samples import Clip
from tests.recording.segments import index, write_segments

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


async def test_age_deletes_past_retention_but_not_held(recording_store: RecordingStore, pool: StoragePool,
                                                       storage_root: Path, clip: Clip, channel_ids: list[int]) -> None:
    first, second = channel_ids
    old = write_segments(pool, clip, first, NOW - timedelta(days=8))  # 5 segments of 2 s
    ids = await index(recording_store, first, old)
    recent = await index(recording_store, second, write_segments(pool, clip, second, NOW - timedelta(days=2)))
    await recording_store.set_policy(make_policy(second, "continuous", retention_days=1))
    held = old[1]
    await recording_store.create_hold(first, held.start_at + timedelta(milliseconds=500), held.end_at, "case 17",
                                      "alice")
    thumb = storage_root / thumbnail_path(first, old[0].start_at + timedelta(seconds=1))
    thumb.parent.mkdir(parents=True)
    thumb.write_bytes(b"jpeg")
    sweeper = RetentionSweeper(recording_store, pool, default_days=7, now=lambda: NOW)
    result = await sweeper.by_age()
    assert result.deleted == 4 + 5 and result.thumbnails_deleted == 1
    left = await recording_store.segments_between(first, NOW - timedelta(days=30), NOW)
    assert [s.id for s in left] == [ids[1]]
    assert (storage_root / held.path).exists() and not (storage_root / old[0].path).exists()
    assert await recording_store.segments_between(second, NOW - timedelta(days=30), NOW) == []
    assert recent  # the second channel's 1-day retention took its 2-day-old video
    assert not thumb.parent.exists()  # an emptied thumbnail directory goes too


async def test_quota_deletes_the_oldest_until_under_the_low_water_mark(recording_store: RecordingStore,
                                                                       storage_root: Path, clip: Clip) -> None:
    probe_pool = StoragePool([StoragePath("main", storage_root / "probe", None)], min_free_bytes=0, segment_reserve=0)
    size = sum(f.size for f in write_segments(probe_pool, clip, 9, NOW))  # what one clip takes
    unlimited = StoragePool([StoragePath("main", storage_root, None)], min_free_bytes=0, segment_reserve=0)
    day_one = write_segments(unlimited, clip, 1, NOW - timedelta(days=3))
    day_two = write_segments(unlimited, clip, 1, NOW - timedelta(days=2))
    day_three = write_segments(unlimited, clip, 1, NOW - timedelta(days=1))
    pool = StoragePool([StoragePath("main", storage_root, int(size * 2.5))], min_free_bytes=0, segment_reserve=0)
    for segments in (day_one, day_two, day_three):
        await index(recording_store, 1, segments)
    held = day_one[0]
    await recording_store.create_hold(1, held.start_at, held.end_at, "evidence", "alice")
    sweeper = RetentionSweeper(recording_store, pool, default_days=30, now=lambda: NOW)
    await sweeper.refresh_usage()
    assert pool.state("main").excess > 0  # three clips in a quota of two and a half
    result = await sweeper.by_space()
    assert pool.used("main") <= int(size * 2.5 * 0.90) and result.stuck == []
    remaining = {s.path for s in await recording_store.segments_between(1, NOW - timedelta(days=5), NOW)}
    assert held.path in remaining  # held: kept although it is the oldest
    assert not any(f.path in remaining for f in day_one[1:])  # the oldest unheld went first
    assert all(f.path in remaining for f in day_three)
    on_disk = await asyncio.to_thread(lambda: {p.relative_to(storage_root).as_posix()
                                               for p in storage_root.glob("1/*/*.mp4")})
    assert on_disk == remaining


async def test_a_full_store_of_held_segments_is_reported_and_kept(recording_store: RecordingStore, storage_root: Path,
                                                                  clip: Clip) -> None:
    pool = StoragePool([StoragePath("main", storage_root, 1000)], min_free_bytes=0, segment_reserve=0)
    segments = write_segments(pool, clip, 1, NOW - timedelta(days=1), fragments=50)
    await index(recording_store, 1, segments)
    await recording_store.create_hold(1, NOW - timedelta(days=2), NOW, "everything", "alice")
    sweeper = RetentionSweeper(recording_store, pool, default_days=30, now=lambda: NOW)
    await sweeper.refresh_usage()
    result = await sweeper.by_space()
    assert result.stuck == ["main"] and result.deleted == 0
    assert all((storage_root / f.path).exists() for f in segments)
    assert pool.choose() is None  # no room: recorders record a gap instead of writing
