"""One channel's recorder: a consumer of the channel's hub stream that writes segments and records gaps.

`ChannelRecorder.run()` opens the channel's stream through `ChannelStreams` (sharing the source with live
viewers), subscribes with a long `max_lag` (a recorder is never skipped ahead for a moment's slowness: a
disk stall of seconds is absorbed by its queue), and writes what arrives in batches: every `batch_interval`
it takes everything queued and hands it to its `SegmentWriter` in a worker thread, so the event loop never
waits for the disk. While it records, the source stays open (the hub's grace period starts only when the
last consumer leaves).

When the stream ends (BYE, no RTP, the device gone) or cannot be opened, it records a *gap* from where the
recorded video ends, with the reason, and tries again with exponential backoff; the next segment's start
closes the gap. A later, different cause is added to the reason ("device sent BYE; then device offline"). If
the consumer is ever skipped ahead, the fragments lost are a gap too ("recorder fell behind"). The open
segment's row is checkpointed every `checkpoint_interval`, and a thumbnail is taken every
`thumbnail_interval` from the stream's latest keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from clearsight.channel_streams import UnknownChannel
from clearsight.gb28181.errors import DeviceOffline
from clearsight.gb28181.live import LiveViewError
from clearsight.media.consumer import Consumer, HubItem, StreamEnd
from clearsight.media.es import EsFrame
from clearsight.media.hub import StreamNotReady
from clearsight.recording.records import SegmentState
from clearsight.recording.segment_writer import (
    SegmentClosed,
    SegmentFacts,
    SegmentOpened,
    SegmentWriter,
    TimedItem,
    WriteResult,
)
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import MAX_REASON_LENGTH, RecordingStore
from clearsight.recording.thumbnails import ThumbnailError, make_thumbnail
from clearsight.registry.models import utc_now

logger = logging.getLogger(__name__)

RECORDER_MAX_LAG = 20.0  # seconds of video a recorder may have queued before it is skipped ahead
STOPPING = "recorder stopping"


class RecordableStream(Protocol):
    """What a recorder needs of a hub stream (`clearsight.media.hub.HubStream` fits)."""

    @property
    def last_keyframe(self) -> EsFrame | None: ...

    def subscribe(self, label: str, **options: float) -> Consumer: ...

    def unsubscribe(self, consumer: Consumer) -> None: ...


class StreamOpener(Protocol):
    """`clearsight.channel_streams.ChannelStreams` fits."""

    async def open(self, channel_id: int) -> RecordableStream: ...


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    segment_seconds: float = 60.0
    batch_interval: float = 0.25  # seconds between writes: each takes everything queued meanwhile
    checkpoint_interval: float = 10.0  # seconds between updates of the open segment's row
    thumbnail_interval: float = 10.0  # seconds between thumbnails; 0: none
    max_lag: float = RECORDER_MAX_LAG
    backoff_min: float = 1.0  # seconds before the first retry after a stream is lost
    backoff_max: float = 30.0
    backoff_reset: float = 60.0  # a session that lasted this long starts the backoff over


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    channel_id: int
    state: str  # opening | recording | waiting | stopped
    segment: SegmentFacts | None
    gap_reason: str | None
    segments_written: int
    bytes_written: int


def describe_failure(exc: BaseException) -> str:
    """A gap's reason for a stream that could not be opened."""
    if isinstance(exc, UnknownChannel):
        return "channel unknown"
    if isinstance(exc, DeviceOffline):
        return "device offline"
    if isinstance(exc, LiveViewError):
        return f"live view failed at {exc.step}: {exc.detail}"
    if isinstance(exc, StreamNotReady):
        return f"no picture: {exc.detail}"
    return f"recorder error: {exc}"


class ChannelRecorder:
    def __init__(self, channel_id: int, channel_gb_id: str, *, streams: StreamOpener, store: RecordingStore,
                 pool: StoragePool, writes: Executor, thumbnails: Executor | None = None,
                 settings: RecorderSettings = RecorderSettings(), storage: str | None = None,
                 on_storage_trouble: asyncio.Event | None = None) -> None:
        self.channel_id = channel_id
        self.channel_gb_id = channel_gb_id
        self.storage = storage
        self.settings = settings
        self._streams = streams
        self._store = store
        self._pool = pool
        self._writes = writes
        self._thumbnails = thumbnails
        self._storage_trouble = on_storage_trouble
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._consumer: Consumer | None = None
        self._writer: SegmentWriter | None = None
        self._segment_id: int | None = None
        self._last_checkpoint = 0.0
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._last_end: datetime | None = None  # where the recorded video ends so far
        self._gap_id: int | None = None
        self._gap_start = utc_now()
        self._gap_reasons: list[str] = []
        self._thumbnail_task: asyncio.Task[None] | None = None
        self._last_thumbnail = 0.0
        self._last_thumbnail_frame: EsFrame | None = None
        self.state = "opening"
        self.segments_written = 0
        self.bytes_written = 0
        self.thumbnails_taken = 0
        self.skips = 0

    # --- control -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"recorder:{self.channel_id}")

    async def stop(self, gap_reason: str | None = None) -> None:
        """Stop recording: the open segment is closed. `gap_reason`: the time from now on is a gap (the platform
        stops); None: recording stops on purpose (its policy), and an open gap ends now."""
        self._stopping = True
        self._wake.set()
        task = self._task
        if self._consumer is not None:
            self._consumer.offer(StreamEnd(STOPPING))
        elif task is not None:
            task.cancel()  # opening the stream or waiting to retry: nothing to close
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._thumbnail_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._thumbnail_task
        if gap_reason is not None:
            await self._gap_begins(self._last_end or utc_now(), gap_reason)
        else:
            await self._gap_ends(utc_now())
        self.state = "stopped"

    @property
    def queued_seconds(self) -> float:
        """Seconds of video waiting in the recorder's queue (how far behind the stream it is)."""
        return self._consumer.queued_seconds if self._consumer is not None else 0.0

    def status(self) -> RecorderStatus:
        writer = self._writer
        return RecorderStatus(self.channel_id, self.state, writer.current if writer else None,
                              "; then ".join(self._gap_reasons) if self._gap_id is not None else None,
                              self.segments_written, self.bytes_written)

    # --- the loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.settings.backoff_min
        while not self._stopping:
            began, attempt_at = loop.time(), utc_now()
            self.state = "opening"
            try:
                stream = await self._streams.open(self.channel_id)
            except (UnknownChannel, DeviceOffline, LiveViewError, StreamNotReady) as exc:
                reason = describe_failure(exc)
            else:
                try:
                    reason = await self._record(stream)
                except Exception as exc:
                    logger.exception("channel %d: recorder failed", self.channel_id)
                    reason = describe_failure(exc)
            if self._stopping:
                break
            logger.info("channel %d: not recording (%s); retrying in %g s", self.channel_id, reason, backoff)
            try:
                await self._gap_begins(self._last_end or attempt_at, reason)
            except Exception:
                logger.exception("channel %d: cannot record the gap", self.channel_id)
            if loop.time() - began >= self.settings.backoff_reset:
                backoff = self.settings.backoff_min
            self.state = "waiting"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)
            backoff = min(backoff * 2, self.settings.backoff_max)

    async def _record(self, stream: RecordableStream) -> str:
        """Record one hub stream until it ends; returns why it ended."""
        loop = asyncio.get_running_loop()
        consumer = stream.subscribe(f"recorder:{self.channel_id}", max_lag=self.settings.max_lag)
        writer = SegmentWriter(self.channel_id, self.channel_gb_id, self._pool,
                               segment_seconds=self.settings.segment_seconds, preferred_storage=self.storage)
        self._consumer, self._writer = consumer, writer
        self.state = "recording"
        skips = consumer.skips
        try:
            while True:
                batch_began = loop.time()
                batch, end = self._drain(consumer, await consumer.get())
                discontinuity = consumer.skips != skips
                if discontinuity:
                    self.skips += consumer.skips - skips
                    skips = consumer.skips
                    await self._gap_begins(writer.last_end_at or utc_now(),
                                           f"recorder fell behind: {consumer.fragments_skipped} fragments skipped")
                if batch:
                    result = await loop.run_in_executor(self._writes, partial(writer.write, batch,
                                                                              discontinuity=discontinuity))
                    await self._apply(result, writer)
                if end is not None:
                    return end.reason
                self._checkpoint(writer, loop.time())
                self._maybe_thumbnail(stream, writer, loop.time())
                delay = self.settings.batch_interval - (loop.time() - batch_began)
                if delay > 0:
                    await asyncio.sleep(delay)
        finally:
            stream.unsubscribe(consumer)
            try:
                await self._apply(await loop.run_in_executor(self._writes, writer.close), writer)
            finally:
                self._consumer = None  # only now: stop() cancels a recorder without a consumer

    @staticmethod
    def _drain(consumer: Consumer, first: HubItem) -> tuple[list[TimedItem], StreamEnd | None]:
        """Everything queued, each fragment stamped with the wall-clock time it stands for (the fragments
        still queued behind it are newer by their durations)."""
        now = time.time()
        batch: list[TimedItem] = []
        item: HubItem | None = first
        while item is not None:
            if isinstance(item, StreamEnd):
                return batch, item
            batch.append((item, now - consumer.queued_seconds))
            item = consumer.get_nowait()
        return batch, None

    async def _apply(self, result: WriteResult, writer: SegmentWriter) -> None:
        """Put what the writer did into the index."""
        for event in result.events:
            if isinstance(event, SegmentOpened):
                await self._gap_ends(event.facts.start_at)
                self._segment_id = await self._store.add_segment(self.channel_id, self.channel_gb_id, event.facts)
                # Spread over the interval: recorders started together must not all checkpoint at once.
                self._last_checkpoint = (asyncio.get_running_loop().time()
                                         - random.uniform(0, self.settings.checkpoint_interval))
            elif isinstance(event, SegmentClosed):
                await self._checkpoint_written()  # the final facts must not be overwritten by a late checkpoint
                segment_id, self._segment_id = self._segment_id, None
                if event.discarded:
                    if segment_id is not None:
                        await self._store.delete_segments([segment_id])
                    continue
                facts = event.facts
                if segment_id is None:  # opened in a batch whose index write failed: index it now
                    await self._store.add_segment(self.channel_id, self.channel_gb_id, facts, SegmentState.COMPLETE)
                else:
                    await self._store.update_segment(segment_id, facts, SegmentState.COMPLETE)
                self._last_end = facts.end_at
                self.segments_written += 1
                self.bytes_written += facts.size
        if writer.last_end_at is not None:
            self._last_end = writer.last_end_at
        if result.error is not None:
            await self._gap_begins(writer.last_end_at or utc_now(), result.error)
            if self._storage_trouble is not None:
                self._storage_trouble.set()

    def _checkpoint(self, writer: SegmentWriter, now: float) -> None:
        """Update the open segment's row in the background: the write loop never waits for the database."""
        if self._segment_id is None or now - self._last_checkpoint < self.settings.checkpoint_interval:
            return
        if self._checkpoint_task is not None and not self._checkpoint_task.done():
            return
        facts = writer.current
        if facts is not None:
            self._last_checkpoint = now
            self._checkpoint_task = asyncio.create_task(
                self._store.update_segment(self._segment_id, facts, SegmentState.OPEN))

    async def _checkpoint_written(self) -> None:
        task, self._checkpoint_task = self._checkpoint_task, None
        if task is None:
            return
        try:
            await task
        except Exception:
            logger.exception("channel %d: checkpoint of the open segment failed", self.channel_id)

    # --- gaps --------------------------------------------------------------------------------------
    async def _gap_begins(self, at: datetime, reason: str) -> None:
        if self._gap_id is None:
            self._gap_reasons, self._gap_start = [reason], at
            self._gap_id = await self._store.open_gap(self.channel_id, at, reason)
            logger.warning("channel %d: recording gap from %s: %s", self.channel_id, at.isoformat(), reason)
        elif reason not in self._gap_reasons:
            self._gap_reasons = [self._gap_reasons[0], reason]
            await self._store.set_gap_reason(self._gap_id, "; then ".join(self._gap_reasons)[:MAX_REASON_LENGTH])

    async def _gap_ends(self, at: datetime) -> None:
        if self._gap_id is None:
            return
        gap_id, self._gap_id = self._gap_id, None
        # A device clock running fast can put the end of what was recorded after the wall-clock restart.
        await self._store.close_gap(gap_id, max(at, self._gap_start))
        logger.info("channel %d: recording resumed at %s", self.channel_id, at.isoformat())

    # --- thumbnails --------------------------------------------------------------------------------
    def _maybe_thumbnail(self, stream: RecordableStream, writer: SegmentWriter, now: float) -> None:
        interval = self.settings.thumbnail_interval
        if interval <= 0 or self._thumbnails is None or now - self._last_thumbnail < interval:
            return
        if self._thumbnail_task is not None and not self._thumbnail_task.done():
            return
        frame, storage = stream.last_keyframe, writer.current_storage
        if frame is None or storage is None or frame is self._last_thumbnail_frame:
            return
        self._last_thumbnail, self._last_thumbnail_frame = now, frame
        self._thumbnail_task = asyncio.create_task(self._thumbnail(storage.root, frame))

    async def _thumbnail(self, root: Path, frame: EsFrame) -> None:
        assert self._thumbnails is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._thumbnails, make_thumbnail, root, self.channel_id, utc_now(), frame)
            self.thumbnails_taken += 1
        except (ThumbnailError, OSError) as exc:
            logger.info("channel %d: no thumbnail: %s", self.channel_id, exc)
