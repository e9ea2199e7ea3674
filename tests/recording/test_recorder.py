"""ChannelRecorder against a real StreamHub fed by a clip: segments and their index, gaps with reasons, resume."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import av
import pytest

from clearsight.gb28181.errors import DeviceOffline
from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.media.hub import StreamHub
from clearsight.recording.recorder import ChannelRecorder, RecorderSettings
from clearsight.recording.records import SegmentState
from clearsight.recording.segment_writer import SegmentWriter
from clearsight.recording.storage import StoragePath, StoragePool
from clearsight.recording.store import RecordingStore
from tests.recording.fake_stream import FakeStreams, window
from tests.recording.samples import Clip

GB_ID = "34020000001310000001"
FAST = RecorderSettings(segment_seconds=1, batch_interval=0.05, checkpoint_interval=0.3, thumbnail_interval=0.5,
                        backoff_min=0.05, backoff_max=0.2)


@pytest.fixture
async def hub() -> AsyncIterator[StreamHub]:
    hub = StreamHub(grace_period=0.2)
    yield hub
    await hub.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown()


async def until(check: Callable[[], object], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


def recorder_for(streams: FakeStreams, store: RecordingStore, pool: StoragePool, executor: ThreadPoolExecutor,
                 settings: RecorderSettings = FAST) -> ChannelRecorder:
    return ChannelRecorder(1, GB_ID, streams=streams, store=store, pool=pool, writes=executor, thumbnails=executor,
                           settings=settings)


async def test_continuous_recording_writes_indexed_segments(hub: StreamHub, recording_store: RecordingStore,
                                                            pool: StoragePool, storage_root: Path,
                                                            executor: ThreadPoolExecutor, clip: Clip) -> None:
    streams = FakeStreams(hub, clip.frames, speed=4)
    recorder = recorder_for(streams, recording_store, pool, executor)
    recorder.start()
    await until(lambda: recorder.segments_written >= 3)
    start, end = window()
    open_rows = [s for s in await recording_store.segments_between(1, start, end) if s.state is SegmentState.OPEN]
    assert len(open_rows) == 1  # the segment being written is indexed (and checkpointed) already
    await recorder.stop()
    segments = await recording_store.segments_between(1, start, end)
    assert all(s.state is SegmentState.COMPLETE and s.sha256 for s in segments)
    for segment in segments:
        with av.open(str(storage_root / segment.path)) as container:
            pictures = list(container.decode(video=0))
        assert pictures and pictures[0].key_frame
        assert (storage_root / segment.path).stat().st_size == segment.size
    timeline = await recording_store.timeline(1, start, end)
    assert len(timeline.ranges) == 1 and timeline.gaps == ()
    assert recorder.thumbnails_taken >= 1
    assert await asyncio.to_thread(lambda: list(storage_root.glob("1/*/thumbs/*.jpg")))
    await until(lambda: not hub.streams, within=3)  # the recorder left; the source closes after the grace period


async def test_a_lost_source_is_a_gap_with_its_reason_then_recording_resumes(
        hub: StreamHub, recording_store: RecordingStore, pool: StoragePool, executor: ThreadPoolExecutor,
        clip: Clip) -> None:
    streams = FakeStreams(hub, clip.frames)
    recorder = recorder_for(streams, recording_store, pool, executor)
    recorder.start()
    await until(lambda: recorder.segments_written >= 1)
    streams.failures = [DeviceOffline("34020000001320000001"),
                        LiveViewError(LiveStep.NO_RTP, "no RTP within 5 s")]
    streams.sources[-1].end("device sent BYE")
    written = recorder.segments_written
    await until(lambda: recorder.segments_written > written + 1)
    await recorder.stop()
    start, end = window()
    [gap] = await recording_store.gaps_between(1, start, end)
    assert gap.reason == "device sent BYE; then live view failed at no-rtp: no RTP within 5 s"
    assert gap.end_at is not None and gap.end_at > gap.start_at
    segments = await recording_store.segments_between(1, start, end)
    assert any(s.end_at <= gap.start_at + timedelta(milliseconds=50) for s in segments)
    assert any(s.start_at == gap.end_at for s in segments)  # the next segment's start closes the gap
    assert streams.opens == 4


async def test_stopping_for_the_platform_leaves_an_open_gap(hub: StreamHub, recording_store: RecordingStore,
                                                           pool: StoragePool, executor: ThreadPoolExecutor,
                                                           clip: Clip) -> None:
    recorder = recorder_for(FakeStreams(hub, clip.frames, speed=4), recording_store, pool, executor)
    recorder.start()
    await until(lambda: recorder.segments_written >= 1)
    await recorder.stop("platform stopped")
    [gap] = await recording_store.gaps_between(1, *window())
    assert gap.reason == "platform stopped" and gap.end_at is None


async def test_a_recorder_that_falls_behind_records_the_gap(hub: StreamHub, recording_store: RecordingStore,
                                                            pool: StoragePool, executor: ThreadPoolExecutor,
                                                            clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    slow_once = asyncio.Event()
    real_write = SegmentWriter.write

    def stalling_write(self: SegmentWriter, batch, **kwargs):  # type: ignore[no-untyped-def]
        if not slow_once.is_set() and self.current is not None and self.current.size > 20_000:
            slow_once.set()
            time.sleep(1.5)  # a disk stall longer than the recorder's queue (max_lag 0.5 s)
        return real_write(self, batch, **kwargs)

    monkeypatch.setattr(SegmentWriter, "write", stalling_write)
    settings = RecorderSettings(segment_seconds=60, batch_interval=0.05, max_lag=0.5, thumbnail_interval=0,
                                backoff_min=0.05)
    recorder = recorder_for(FakeStreams(hub, clip.frames, speed=1), recording_store, pool, executor, settings)
    recorder.start()
    await until(lambda: recorder.skips >= 1)
    await until(lambda: recorder.segments_written >= 1)
    await asyncio.sleep(0.5)
    await recorder.stop()
    [gap] = await recording_store.gaps_between(1, *window())
    assert gap.reason.startswith("recorder fell behind: ") and gap.end_at is not None
    assert timedelta(seconds=0.5) < gap.end_at - gap.start_at < timedelta(seconds=3)


async def test_no_storage_space_is_a_gap_until_there_is_room(hub: StreamHub, recording_store: RecordingStore,
                                                             storage_root: Path, executor: ThreadPoolExecutor,
                                                             clip: Clip) -> None:
    pool = StoragePool([StoragePath("main", storage_root, 1)], min_free_bytes=0, segment_reserve=0)
    pool.indexed_changed("main", 1)  # the quota is used up
    trouble = asyncio.Event()
    recorder = ChannelRecorder(1, GB_ID, streams=FakeStreams(hub, clip.frames, speed=4), store=recording_store,
                               pool=pool, writes=executor, settings=FAST, on_storage_trouble=trouble)
    recorder.start()
    await asyncio.wait_for(trouble.wait(), 5)
    [gap] = await recording_store.gaps_between(1, *window())
    assert gap.reason == "no storage space: every storage path is full" and gap.end_at is None
    pool.indexed_changed("main", -1)
    pool.paths["main"] = StoragePath("main", storage_root, None)  # an operator raised the quota
    await until(lambda: recorder.segments_written >= 1)
    await recorder.stop()
    [gap] = await recording_store.gaps_between(1, *window())
    assert gap.end_at is not None
