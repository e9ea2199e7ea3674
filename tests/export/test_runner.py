"""ExportRunner on a real database: background builds in worker threads, bounded, state in the exports table."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import session_factory
from clearsight.export import runner as runner_module
from clearsight.export.errors import ExportCancelled, ExportError
from clearsight.export.records import ExportState
from clearsight.export.verify import TrustAnchor, verify_package
from clearsight.registry.recording_models import Export, RecordingSegment
from clearsight.signing import SigningKey
from tests.export.conftest import GB_ID, OTHER_GB_ID, T0
from tests.export.platform import RecordedPlatform, recorded_platform

BLOCKING_BUILD = 1.0  # seconds each build blocks its thread in the concurrency test


@pytest.fixture
async def platform(db_engine: AsyncEngine, tmp_path: Path) -> RecordedPlatform:
    return await recorded_platform(session_factory(db_engine), tmp_path)


async def _submit(runner: runner_module.ExportRunner, platform: RecordedPlatform, *, start: float = 1.0,
                  end: float = 9.0, who: str = "alice") -> str:
    record = await runner.submit(created_by=who, reason="incident 7", channels=platform.channel_ids,
                                 start=T0 + timedelta(seconds=start), end=T0 + timedelta(seconds=end),
                                 watermark=False)
    assert record.state is ExportState.PENDING
    return record.id


async def _states(platform: RecordedPlatform, ids: list[str]) -> set[ExportState]:
    records = [await platform.store.get(export_id) for export_id in ids]
    return {record.state for record in records if record is not None}


async def test_an_export_runs_to_done_and_its_package_verifies(platform: RecordedPlatform,
                                                               signing_key: SigningKey) -> None:
    runner = platform.runner(signing_key)
    await runner.start()
    try:
        export_id = await _submit(runner, platform)
        await runner.wait_idle()
        record = await runner.get(export_id)
        assert record is not None and record.state is ExportState.DONE, record
        assert record.detail == "2 file(s) for 2 channel(s), 2 gap(s)"
        assert record.finished_at is not None and record.finished_at >= record.created_at
        path = await runner.package(export_id)
        assert path is not None and path.stat().st_size == record.size and str(path) == record.path
        report = verify_package(path, TrustAnchor(fingerprint=signing_key.fingerprint))
        assert report.intact and report.files_checked == 2
        assert report.manifest is not None and report.manifest.export_id == export_id
    finally:
        await runner.close()


async def test_the_manifest_names_channels_from_the_registry(platform: RecordedPlatform,
                                                             signing_key: SigningKey) -> None:
    runner = platform.runner(signing_key)
    await runner.start()
    try:
        export_id = await _submit(runner, platform)
        await runner.wait_idle()
        path = await runner.package(export_id)
        assert path is not None
        with zipfile.ZipFile(path) as archive:
            channels = json.loads(archive.read("manifest.json"))["channels"]
        assert [(c["gb_id"], c["name"], c["device_id"]) for c in channels] == \
            [(GB_ID, "Gate", "34020000001320000001"), (OTHER_GB_ID, "Yard", "34020000001320000001")]
        # 1–9 s: GB_ID has 6–8 s missing; OTHER_GB_ID is recorded 2–6 s only.
        assert channels[0]["gaps"] == [{"start": "2026-05-01T12:00:06.000Z", "end": "2026-05-01T12:00:08.000Z"}]
        assert channels[1]["gaps"] == [{"start": "2026-05-01T12:00:06.000Z", "end": "2026-05-01T12:00:09.000Z"}]
    finally:
        await runner.close()


async def test_segments_overlapping_the_range_are_planned(platform: RecordedPlatform) -> None:
    roots = {"default": platform.recordings}
    gate = platform.channel_ids[0]
    segments = await platform.store.segments(gate, T0 + timedelta(seconds=2), T0 + timedelta(seconds=8.5), roots)
    # [0,2) ends where the range starts and [10,12) starts after it ends: neither overlaps.
    assert [(s.start_at - T0).total_seconds() for s in segments] == [2.0, 4.0, 8.0]
    assert all(s.file is not None and s.file.is_file() and s.keyframes for s in segments)
    async with platform.sessions.begin() as session:
        row = await session.scalar(select(RecordingSegment).where(RecordingSegment.id == segments[-1].id + 1))
        assert row is not None
        row.state, row.end_at = "open", row.start_at  # still being written; its end not yet known
    segments = await platform.store.segments(gate, T0 + timedelta(seconds=11), T0 + timedelta(seconds=20), roots)
    assert [(s.start_at - T0).total_seconds() for s in segments] == [10.0]
    assert (await platform.store.segments(gate, T0, T0 + timedelta(seconds=1), {}))[0].file is None


async def test_at_most_max_running_build_at_once_off_the_event_loop(platform: RecordedPlatform,
                                                                    signing_key: SigningKey,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak, threads = 0, 0, set()
    lock = threading.Lock()
    real = runner_module.build_package

    def slow_build(*args: Any) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.current_thread().name)
        time.sleep(BLOCKING_BUILD)  # blocking, as video work is
        try:
            return real(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(runner_module, "build_package", slow_build)
    loop = asyncio.get_running_loop()
    longest_pause = 0.0

    async def tick() -> None:
        nonlocal longest_pause
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            longest_pause = max(longest_pause, loop.time() - before)

    runner = platform.runner(signing_key, max_running=2)
    await runner.start()
    ticker = asyncio.create_task(tick())
    try:
        ids = [await _submit(runner, platform, start=1.0 + i) for i in range(4)]
        await runner.wait_idle()
        assert await _states(platform, ids) == {ExportState.DONE}
        assert peak == 2
        assert all(name.startswith("export") for name in threads)
        assert longest_pause < BLOCKING_BUILD / 2  # the loop kept turning while the builds blocked their threads
    finally:
        ticker.cancel()
        await runner.close()


async def test_a_stop_puts_a_building_export_back_to_pending_and_the_next_start_finishes_it(
        platform: RecordedPlatform, signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner_module.build_package
    started = threading.Event()

    def build_until_cancelled(job: Any, exports_dir: Path, key: SigningKey, cancel: threading.Event) -> Any:
        started.set()
        cancel.wait(10)
        raise ExportCancelled(job.export_id)

    monkeypatch.setattr(runner_module, "build_package", build_until_cancelled)
    runner = platform.runner(signing_key, max_running=1)
    await runner.start()
    first = await _submit(runner, platform)
    second = await _submit(runner, platform)
    await asyncio.to_thread(started.wait, 10)
    assert (await runner.get(first)).state is ExportState.RUNNING  # type: ignore[union-attr]
    await runner.close()
    assert await _states(platform, [first, second]) == {ExportState.PENDING}

    monkeypatch.setattr(runner_module, "build_package", real)
    again = platform.runner(signing_key)
    await again.start()
    try:
        await again.wait_idle()
        assert await _states(platform, [first, second]) == {ExportState.DONE}
    finally:
        await again.close()


async def test_exports_left_running_by_a_crash_are_failed_at_start(platform: RecordedPlatform,
                                                                   signing_key: SigningKey) -> None:
    record = await platform.store.create(created_by="bob", reason="r", channels=[1], start=T0,
                                         end=T0 + timedelta(seconds=1), watermark=False)
    assert await platform.store.claim(record.id) is not None
    runner = platform.runner(signing_key)
    await runner.start()
    try:
        failed = await runner.get(record.id)
        assert failed is not None and failed.state is ExportState.FAILED and "interrupted" in (failed.detail or "")
        assert await platform.store.claim(record.id) is None  # only pending exports are claimed
    finally:
        await runner.close()


@pytest.mark.parametrize(("error", "detail"), [
    (ExportError("no room left for the package"), "no room left for the package"),
    (OSError(28, "No space left on device"), "internal error: OSError: [Errno 28] No space left on device"),
])
async def test_a_failing_build_is_failed_with_what_went_wrong(platform: RecordedPlatform, signing_key: SigningKey,
                                                              monkeypatch: pytest.MonkeyPatch, error: Exception,
                                                              detail: str) -> None:
    def failing(*args: Any) -> Any:
        raise error

    monkeypatch.setattr(runner_module, "build_package", failing)
    runner = platform.runner(signing_key)
    await runner.start()
    try:
        export_id = await _submit(runner, platform)
        await runner.wait_idle()
        record = await runner.get(export_id)
        assert record is not None and record.state is ExportState.FAILED and record.detail == detail
        assert await runner.package(export_id) is None
    finally:
        await runner.close()


async def test_listing_is_newest_first_and_per_user(platform: RecordedPlatform, signing_key: SigningKey) -> None:
    store = platform.store
    made = [await store.create(created_by=who, reason="r", channels=[1], start=T0, end=T0 + timedelta(seconds=1),
                               watermark=False) for who in ("alice", "bob", "alice")]
    async with platform.sessions.begin() as session:
        for offset, record in enumerate(made):
            row = await session.get(Export, record.id)
            assert row is not None
            row.created_at = T0 + timedelta(minutes=offset)
    page = await store.list_exports(created_by=None, offset=0, limit=10)
    assert page.total == 3 and [r.id for r in page.items] == [made[2].id, made[1].id, made[0].id]
    page = await store.list_exports(created_by="alice", offset=1, limit=1)
    assert page.total == 2 and [r.id for r in page.items] == [made[0].id]
