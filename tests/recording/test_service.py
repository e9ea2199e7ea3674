"""RecordingService: recorders per policy (default, continuous, schedule), repair before recording, gaps on stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clearsight.media.hub import StreamHub
from clearsight.recording.policy import RecordingMode, make_policy
from clearsight.recording.recorder import RecorderSettings
from clearsight.recording.service import PLATFORM_STOPPED, RecordingService, RecordingServiceSettings
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.registry.store import RegistryStore
from tests.recording.fake_stream import FakeStreams, window
from tests.recording.samples import Clip
from tests.recording.segments import write_segments

FAST = RecorderSettings(segment_seconds=1, batch_interval=0.05, checkpoint_interval=0.3, thumbnail_interval=0,
                        backoff_min=0.05, backoff_max=0.2)


@pytest.fixture
async def hub() -> AsyncIterator[StreamHub]:
    hub = StreamHub(grace_period=0.2)
    yield hub
    await hub.close()


def make_service(store: RecordingStore, registry: RegistryStore, pool: StoragePool, hub: StreamHub, clip: Clip,
                 **settings: object) -> RecordingService:
    options = {"recorder": FAST, "policy_interval": 0.1, "channel_refresh_interval": 0.2} | settings
    return RecordingService(store, FakeStreams(hub, clip.frames), registry, pool,
                            RecordingServiceSettings(**options))  # type: ignore[arg-type]


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


async def test_the_default_and_the_channel_policies_decide_who_is_recorded(
        recording_store: RecordingStore, registry_store: RegistryStore, pool: StoragePool, hub: StreamHub, clip: Clip,
        channel_ids: list[int]) -> None:
    first, second = channel_ids
    await recording_store.set_policy(make_policy(second, "none"))
    service = make_service(recording_store, registry_store, pool, hub, clip, default_mode=RecordingMode.CONTINUOUS)
    await service.start()
    try:
        await until(lambda: set(service.recorders) == {first})
        await service.set_policy(make_policy(second, "continuous"))
        await until(lambda: set(service.recorders) == {first, second}, within=3)
        await service.set_policy(make_policy(first, "none"))
        await until(lambda: set(service.recorders) == {second}, within=3)
        await until(lambda: service.recorders[second].segments_written >= 1)
        writing = service.open_segment(second)  # what playback follows at the live edge
        storage = pool.get(writing[0]) if writing is not None else None
        assert writing is not None and storage is not None and (storage.root / writing[1]).is_file()
        assert service.open_segment(first) is None
        status = service.status()
        assert status.repair is not None and [r.channel_id for r in status.recorders] == [second]
    finally:
        await service.stop()
    gaps = await recording_store.gaps_between(second, *window())
    assert [(g.reason, g.end_at) for g in gaps] == [(PLATFORM_STOPPED, None)]
    first_gaps = await recording_store.gaps_between(first, *window())
    assert first_gaps == []  # stopped by its policy: no gap


async def test_a_schedule_is_evaluated_in_local_time(recording_store: RecordingStore, registry_store: RegistryStore,
                                                     pool: StoragePool, hub: StreamHub, clip: Clip,
                                                     channel_ids: list[int]) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.now(zone)
    inside = {"days": list(range(7)), "start": (now - timedelta(minutes=5)).strftime("%H:%M"),
              "end": (now + timedelta(minutes=5)).strftime("%H:%M")}
    elsewhere = {"days": [(now.weekday() + 3) % 7], "start": "00:00", "end": "00:00"}
    await recording_store.set_policy(make_policy(channel_ids[0], "scheduled", [inside]))
    await recording_store.set_policy(make_policy(channel_ids[1], "scheduled", [elsewhere]))
    service = make_service(recording_store, registry_store, pool, hub, clip, local_tz=zone)
    await service.start()
    try:
        await until(lambda: set(service.recorders) == {channel_ids[0]})
        await asyncio.sleep(0.5)
        assert set(service.recorders) == {channel_ids[0]}
    finally:
        await service.stop()


async def test_repair_runs_before_recording_starts(recording_store: RecordingStore, registry_store: RegistryStore,
                                                   pool: StoragePool, storage_root: Path, hub: StreamHub, clip: Clip,
                                                   channel_ids: list[int]) -> None:
    orphan = write_segments(pool, clip, channel_ids[0], datetime.now(UTC) - timedelta(hours=1), fragments=50)[0]
    service = make_service(recording_store, registry_store, pool, hub, clip)
    await service.start()
    try:
        await asyncio.wait_for(service.ready.wait(), 10)
        assert service.repair_report is not None and service.repair_report.orphans_indexed == [f"main:{orphan.path}"]
        assert service.recorders == {}  # default none, no policies
        assert pool.used("main") == orphan.size  # usage read from the index after repair
    finally:
        await service.stop()
