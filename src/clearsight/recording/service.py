"""The recording service: recorders per policy, retention on a timer, index repair at start.

`RecordingService.start()` repairs the index (`IndexRepair`), then runs three loops: the policy loop
(every `policy_interval`, or at once after a policy changed) starts a `ChannelRecorder` for each channel
its policy (or the default) says to record now and stops the others; the space loop (every
`space_interval`, or at once when a recorder met a full disk) deletes the oldest recordings of storage
paths over their limits; the age loop deletes what is past retention. `stop()` stops the recorders (the
time until the next start is a gap, "platform stopped") and waits for their files to be closed.

It is also what the API's recording routes talk to (`clearsight.api.ports.RecordingPort`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Protocol

from clearsight.recording.policy import RecordingMode, RecordingPolicy
from clearsight.recording.recorder import ChannelRecorder, RecorderSettings, RecorderStatus, StreamOpener
from clearsight.recording.records import LegalHoldRecord, SegmentRecord, SegmentState, Timeline
from clearsight.recording.repair import IndexRepair, RepairReport
from clearsight.recording.retention import RetentionSweeper
from clearsight.recording.storage import StoragePool, StorageState, ensure_roots
from clearsight.recording.store import RecordingStore
from clearsight.recording.thumbnails import DEFAULT_SEARCH_WINDOW, nearest_thumbnail

logger = logging.getLogger(__name__)

PLATFORM_STOPPED = "platform stopped"
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
CHANNEL_PAGE = 1000
FULL_CHANNEL_RELOAD = 120.0  # seconds: the whole channel list is read at least this often (else only its length)


class ChannelIdentity(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def gb_id(self) -> str: ...


class ChannelPage(Protocol):
    @property
    def items(self) -> Sequence[ChannelIdentity]: ...
    @property
    def total(self) -> int: ...


class ChannelDirectory(Protocol):
    """`clearsight.registry.store.RegistryStore` fits."""

    async def get_channel(self, channel_pk: int) -> ChannelIdentity | None: ...

    async def list_channels(self, *, offset: int = 0, limit: int = 100) -> ChannelPage: ...


@dataclass(frozen=True, slots=True)
class RecordingServiceSettings:
    default_mode: RecordingMode = RecordingMode.NONE
    retention_days: int = 7
    recorder: RecorderSettings = field(default_factory=RecorderSettings)
    policy_interval: float = 5.0  # seconds between evaluations of policies (schedules have minute resolution)
    channel_refresh_interval: float = 10.0  # seconds between reloads of the channel list and the policies
    space_interval: float = 5.0  # seconds between checks of the storage paths' limits
    age_interval: float = 600.0  # seconds between sweeps by age
    write_threads: int = 4  # worker threads writing segment files, shared by every recorder
    thumbnail_threads: int = 1
    local_tz: tzinfo | None = None  # schedules' time zone; None: the machine's


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    storages: tuple[StorageState, ...]
    recorders: tuple[RecorderStatus, ...]
    repair: RepairReport | None


class RecordingService:
    def __init__(self, store: RecordingStore, streams: StreamOpener, channels: ChannelDirectory, pool: StoragePool,
                 settings: RecordingServiceSettings = RecordingServiceSettings()) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self._streams = streams
        self._channels = channels
        self.sweeper = RetentionSweeper(store, pool, default_days=settings.retention_days)
        self._writes = ThreadPoolExecutor(settings.write_threads, thread_name_prefix="recording-write")
        self._thumbnail_pool = ThreadPoolExecutor(settings.thumbnail_threads, thread_name_prefix="recording-thumb")
        self.recorders: dict[int, ChannelRecorder] = {}
        self.repair_report: RepairReport | None = None
        self.ready = asyncio.Event()  # set once repair is done and the loops run
        self._policy_changed = asyncio.Event()
        self._storage_trouble = asyncio.Event()
        self._known: dict[int, str] = {}  # channel id → GB ID, of channels that may be recorded
        self._channel_total = -1  # channels in the registry at the last full reload
        self._full_reload_at = 0.0
        self._all_channels_seen: dict[int, str] = {}
        self._policies: dict[int, RecordingPolicy] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- life --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Repair, then run the loops in the background (`ready` is set when they run)."""
        self._tasks.append(asyncio.create_task(self._main(), name="recording-service"))

    async def _main(self) -> None:
        await asyncio.to_thread(ensure_roots, self.pool.paths.values())
        self.repair_report = await IndexRepair(self.store, self.pool).run()
        await self.sweeper.refresh_usage()
        if self._stopping:
            return
        self._tasks += [asyncio.create_task(self._policy_loop(), name="recording-policies"),
                        asyncio.create_task(self._space_loop(), name="recording-space"),
                        asyncio.create_task(self._age_loop(), name="recording-age")]
        self.ready.set()
        logger.info("recording: storage %s; default policy %s, retention %d days",
                    ", ".join(f"{p.name}={p.root}" + (f" (quota {p.quota} bytes)" if p.quota else "")
                              for p in self.pool.paths.values()),
                    self.settings.default_mode.value, self.settings.retention_days)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(recorder.stop(PLATFORM_STOPPED) for recorder in self.recorders.values()),
                             return_exceptions=True)
        self.recorders.clear()
        self._writes.shutdown(wait=True)
        self._thumbnail_pool.shutdown(wait=True)

    # --- policies ----------------------------------------------------------------------------------
    def policy_changed(self) -> None:
        """Re-read the policies and act on them now (after the API changed one)."""
        self._policy_changed.set()

    def effective_policy(self, channel_id: int) -> RecordingPolicy:
        return self._policies.get(channel_id) or RecordingPolicy(channel_id, self.settings.default_mode)

    async def _policy_loop(self) -> None:
        loop = asyncio.get_running_loop()
        refreshed = -self.settings.channel_refresh_interval
        while True:
            if self._policy_changed.is_set() or loop.time() - refreshed >= self.settings.channel_refresh_interval:
                self._policy_changed.clear()
                try:
                    await self._refresh()
                    refreshed = loop.time()
                except Exception:
                    logger.exception("recording: cannot load channels and policies")
            await self._apply_policies()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._policy_changed.wait(), self.settings.policy_interval)

    async def _refresh(self) -> None:
        self._policies = {policy.channel_id: policy for policy in await self.store.list_policies()}
        known: dict[int, str] = {}
        if self.settings.default_mode is not RecordingMode.NONE:
            known = await self._all_channels()
        for channel_id, policy in self._policies.items():
            if policy.mode is not RecordingMode.NONE and channel_id not in known:
                channel = self._known.get(channel_id)
                if channel is None:
                    found = await self._channels.get_channel(channel_id)
                    channel = found.gb_id if found is not None else None
                if channel is not None:
                    known[channel_id] = channel
        self._known = known

    async def _all_channels(self) -> dict[int, str]:
        """Every channel (the default records them all): the whole list when its length changed or every
        `FULL_CHANNEL_RELOAD` seconds, else the last one (a large registry is not read every few seconds)."""
        loop = asyncio.get_running_loop()
        total = (await self._channels.list_channels(offset=0, limit=1)).total
        if total == self._channel_total and loop.time() - self._full_reload_at < FULL_CHANNEL_RELOAD:
            return dict(self._all_channels_seen)
        known: dict[int, str] = {}
        offset = 0
        while offset < total:
            page = await self._channels.list_channels(offset=offset, limit=CHANNEL_PAGE)
            if not page.items:
                break
            known.update((channel.id, channel.gb_id) for channel in page.items)
            offset += len(page.items)
        self._channel_total, self._full_reload_at, self._all_channels_seen = total, loop.time(), known
        return dict(known)

    async def _apply_policies(self) -> None:
        now = datetime.now(self.settings.local_tz).astimezone(self.settings.local_tz)
        wanted = {channel_id for channel_id in self._known if self.effective_policy(channel_id).records_at(now)}
        stopping = [self.recorders.pop(channel_id) for channel_id in sorted(set(self.recorders) - wanted)]
        for recorder in stopping:
            logger.info("channel %d: recording stops (policy)", recorder.channel_id)
        await asyncio.gather(*(recorder.stop() for recorder in stopping))
        for channel_id in sorted(wanted - set(self.recorders)):
            policy = self.effective_policy(channel_id)
            recorder = ChannelRecorder(channel_id, self._known[channel_id], streams=self._streams, store=self.store,
                                       pool=self.pool, writes=self._writes, thumbnails=self._thumbnail_pool,
                                       settings=self.settings.recorder, storage=policy.storage,
                                       on_storage_trouble=self._storage_trouble)
            self.recorders[channel_id] = recorder
            logger.info("channel %d: recording starts (%s)", channel_id, policy.mode.value)
            recorder.start()

    # --- retention ---------------------------------------------------------------------------------
    async def _space_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._storage_trouble.wait(), self.settings.space_interval)
            self._storage_trouble.clear()
            try:
                await self.sweeper.by_space()
            except Exception:
                logger.exception("recording: the space sweep failed")

    async def _age_loop(self) -> None:
        while True:
            try:
                await self.sweeper.by_age()
                await self.sweeper.refresh_usage()
            except Exception:
                logger.exception("recording: the age sweep failed")
            await asyncio.sleep(self.settings.age_interval)

    # --- what the API asks -------------------------------------------------------------------------
    @property
    def storage_names(self) -> list[str]:
        return self.pool.names

    @property
    def default_mode(self) -> RecordingMode:
        return self.settings.default_mode

    @property
    def default_retention_days(self) -> int:
        return self.settings.retention_days

    def recorder_status(self, channel_id: int) -> RecorderStatus | None:
        recorder = self.recorders.get(channel_id)
        return recorder.status() if recorder is not None else None

    async def get_policy(self, channel_id: int) -> RecordingPolicy | None:
        return await self.store.get_policy(channel_id)

    async def set_policy(self, policy: RecordingPolicy) -> RecordingPolicy:
        stored = await self.store.set_policy(policy)
        self.policy_changed()
        return stored

    async def delete_policy(self, channel_id: int) -> bool:
        deleted = await self.store.delete_policy(channel_id)
        self.policy_changed()
        return deleted

    async def timeline(self, channel_id: int, start: datetime, end: datetime) -> Timeline:
        """From the index, with the open segment's end as its recorder knows it now."""
        status = self.recorder_status(channel_id)
        return await self.store.timeline(channel_id, start, end, live=status.segment if status else None)

    async def has_recordings(self, channel_id: int) -> bool:
        return await self.store.has_recordings(channel_id)

    async def segments_from(self, channel_id: int, at: datetime, limit: int) -> list[SegmentRecord]:
        """The channel's segments ending after `at`, by start, the open one as its recorder knows it now: what
        playback reads. (The open segment's row may end before `at` while its file already covers it: it lags by
        up to a checkpoint. It is the channel's newest, so asking from its start finds it and nothing older.)"""
        status = self.recorder_status(channel_id)
        live = status.segment if status is not None else None
        since = live.start_at if live is not None and live.start_at <= at else at
        found = await self.store.segments_between(channel_id, since, FAR_FUTURE, limit=limit)
        current = [replace(s, end_at=live.end_at, size=live.size, keyframes=live.keyframes)
                   if live is not None and s.path == live.path and s.state is SegmentState.OPEN else s for s in found]
        return [s for s in current if s.end_at > at]

    def segment_file(self, segment: SegmentRecord) -> Path | None:
        path = self.pool.get(segment.storage)
        return path.root / segment.path if path is not None else None

    def open_segment(self, channel_id: int) -> tuple[str, str] | None:
        """(storage, path) of the segment the channel's recorder is writing now (its file grows); None: none."""
        status = self.recorder_status(channel_id)
        live = status.segment if status is not None else None
        return (live.storage, live.path) if live is not None else None

    async def create_hold(self, channel_id: int, start: datetime, end: datetime, reason: str,
                          created_by: str) -> LegalHoldRecord:
        hold = await self.store.create_hold(channel_id, start, end, reason, created_by)
        logger.info("legal hold %d on channel %d from %s to %s by %s: %s", hold.id, channel_id, start.isoformat(),
                    end.isoformat(), created_by, reason)
        return hold

    async def list_holds(self, *, channel_id: int | None = None, active: bool | None = None) -> list[LegalHoldRecord]:
        return await self.store.list_holds(channel_id=channel_id, active=active)

    async def get_hold(self, hold_id: int) -> LegalHoldRecord | None:
        return await self.store.get_hold(hold_id)

    async def release_hold(self, hold_id: int, released_by: str) -> LegalHoldRecord | None:
        hold = await self.store.release_hold(hold_id, released_by)
        if hold is not None:
            logger.info("legal hold %d on channel %d released by %s", hold.id, hold.channel_id, released_by)
        return hold

    async def thumbnail(self, channel_id: int, at: datetime,
                        within: timedelta = DEFAULT_SEARCH_WINDOW) -> tuple[datetime, bytes] | None:
        roots = [path.root for path in self.pool.paths.values()]
        found = await asyncio.to_thread(nearest_thumbnail, roots, channel_id, at, within)
        if found is None:
            return None
        moment, path = found
        try:
            return moment, await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:  # deleted by retention meanwhile
            return None

    def status(self) -> RecordingStatus:
        return RecordingStatus(tuple(self.pool.states()), tuple(r.status() for r in self.recorders.values()),
                               self.repair_report)
