"""Runs exports in the background: a few at once, each in a worker thread, state kept in the exports table.

`submit` stores a pending export and schedules it; at most `max_running` build at a time (each in this
runner's own thread pool, so they never hold up the event loop or its default executor); the rest wait
their turn, pending. On `close` building exports stop at their next frame and go back to pending; at
`start` pending ones are scheduled again and ones left running by a crash are marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Protocol

from clearsight.export.builder import build_package, public_key_pem
from clearsight.export.errors import ExportCancelled, ExportError
from clearsight.export.records import (
    ChannelPlan,
    ChannelRef,
    ExportJob,
    ExportPage,
    ExportRecord,
    ExportState,
)
from clearsight.export.store import ExportStore
from clearsight.privacy.records import AppliedMask
from clearsight.signing import SigningKey

logger = logging.getLogger(__name__)

DEFAULT_MAX_RUNNING = 2  # exports building at once: video work is CPU and disk bound
CLOSE_TIMEOUT = 10.0  # seconds `close` waits for building exports to notice the stop
INTERRUPTED_BY_CRASH = "interrupted: the platform stopped while this export was being built; request it again"


class KnownChannel(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def gb_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def device_id(self) -> str: ...


class ChannelDirectory(Protocol):
    """Implemented by `clearsight.registry.store.RegistryStore`."""

    async def get_channel(self, channel_pk: int) -> KnownChannel | None: ...


class MaskDirectory(Protocol):
    """Implemented by `clearsight.privacy.store.PrivacyMaskStore`."""

    async def applied_masks(self, channel_id: int) -> tuple[AppliedMask, ...]: ...


class ExportRunner:
    def __init__(self, store: ExportStore, channels: ChannelDirectory, *, exports_dir: Path,
                 storage_roots: Mapping[str, Path], signing_key: SigningKey, platform_id: str,
                 max_running: int = DEFAULT_MAX_RUNNING, masks: MaskDirectory | None = None) -> None:
        self._store, self._channels, self._masks = store, channels, masks
        self.exports_dir = exports_dir
        self._roots = dict(storage_roots)
        self._key = signing_key
        self._platform_id = platform_id
        self._slots = asyncio.Semaphore(max_running)
        self._executor = ThreadPoolExecutor(max_workers=max_running, thread_name_prefix="export")
        self._cancel = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def signing_fingerprint(self) -> str:
        return self._key.fingerprint

    @property
    def signing_public_key_pem(self) -> str:
        return public_key_pem(self._key.public_bytes).decode("ascii")

    async def start(self) -> None:
        failed = await self._store.fail_interrupted(INTERRUPTED_BY_CRASH)
        if failed:
            logger.warning("%d export(s) left running by the last run marked failed", failed)
        for export_id in await self._store.pending():
            self._schedule(export_id)

    async def close(self) -> None:
        self._closing = True
        self._cancel.set()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_TIMEOUT)
            if late:
                logger.warning("%d export(s) still building after %.0f s; leaving them", len(late), CLOSE_TIMEOUT)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, *, created_by: str, reason: str, channels: Sequence[int], start: datetime,
                     end: datetime, watermark: bool, masks_lifted: Sequence[int] = ()) -> ExportRecord:
        """Store and schedule an export; channels not in `masks_lifted` get their privacy masks burnt in."""
        record = await self._store.create(created_by=created_by, reason=reason, channels=channels, start=start,
                                          end=end, watermark=watermark, masks_lifted=masks_lifted)
        logger.info("export %s of channels %s from %s to %s requested by %s (watermark %s): %s", record.id,
                    list(channels), start.isoformat(), end.isoformat(), created_by, watermark, reason)
        if not self._closing:
            self._schedule(record.id)
        return record

    async def get(self, export_id: str) -> ExportRecord | None:
        return await self._store.get(export_id)

    async def list_exports(self, *, created_by: str | None, offset: int, limit: int) -> ExportPage:
        return await self._store.list_exports(created_by=created_by, offset=offset, limit=limit)

    async def package(self, export_id: str) -> Path | None:
        """The finished package's file, if the export is done and the file is still there."""
        record = await self._store.get(export_id)
        if record is None or record.state is not ExportState.DONE or record.path is None:
            return None
        path = Path(record.path)
        return path if await asyncio.to_thread(path.is_file) else None

    async def wait_idle(self) -> None:
        """Until every scheduled export has finished (tests, orderly hand-over)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _schedule(self, export_id: str) -> None:
        task = asyncio.create_task(self._run(export_id), name=f"export-{export_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, export_id: str) -> None:
        async with self._slots:
            if self._closing:
                return
            record = await self._store.claim(export_id)
            if record is None:
                return
            logger.info("export %s: building", export_id)
            try:
                job = await self._plan(record)
                built = await asyncio.get_running_loop().run_in_executor(
                    self._executor, build_package, job, self.exports_dir, self._key, self._cancel)
            except ExportCancelled:
                logger.info("export %s: interrupted by the stop; pending again", export_id)
                await self._store.release(export_id)
            except ExportError as exc:
                logger.warning("export %s failed: %s", export_id, exc)
                await self._store.fail(export_id, str(exc))
            except Exception as exc:
                logger.exception("export %s failed", export_id)
                await self._store.fail(export_id, f"internal error: {type(exc).__name__}: {exc}")
            else:
                await self._store.finish(export_id, path=str(built.path), size=built.size, detail=built.summary)

    async def _plan(self, record: ExportRecord) -> ExportJob:
        plans = []
        for channel_id in record.channels:
            segments = await self._store.segments(channel_id, record.start_at, record.end_at, self._roots)
            known = await self._channels.get_channel(channel_id)
            if known is not None:
                channel = ChannelRef(channel_id, known.gb_id, known.name, known.device_id)
            else:  # deleted since: its recordings remain, and name it
                channel = ChannelRef(channel_id, segments[0].channel_gb_id if segments else None)
            masks = await self._masks.applied_masks(channel_id) if self._masks is not None else ()
            plans.append(ChannelPlan(channel, segments, masks, channel_id in record.masks_lifted))
        return ExportJob(record.id, self._platform_id, record.created_by, record.reason, record.created_at,
                         record.start_at, record.end_at, record.watermark, tuple(plans))
