"""The stream hub: one source per channel, however many consumers; instant start from a GOP cache.

`StreamHub.open(key, opener)` starts the channel's source (or joins the one running, or waits for the opening
already under way) and returns once the stream has an init segment and a keyframe, so a failure is reported
to the caller who asked. Each source's frames go through one `Fmp4Fragmenter`; the fragments since the last
keyframe are cached, so that a new `Consumer` starts on a keyframe at once. When the last consumer leaves
(or nobody subscribes after an `open`), the source is closed after `grace_period` seconds; a consumer that
comes back within it finds the stream still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from clearsight.media.consumer import Consumer, HubItem, StreamEnd
from clearsight.media.es import EsFrame
from clearsight.media.fmp4 import Fmp4Fragmenter, InitSegment, MediaFragment
from clearsight.media.parameter_sets import VideoParameters

logger = logging.getLogger(__name__)

DEFAULT_GRACE_PERIOD = 10.0  # seconds a source outlives its last consumer
DEFAULT_READY_TIMEOUT = 8.0  # seconds from a source opening to its first keyframe
GOP_CACHE_MAX_BYTES = 16 * 1024 * 1024  # a longer GOP is not cached whole; new viewers wait for a keyframe
RATE_WINDOW = 5.0  # seconds over which fps and bitrate are estimated


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What the source knows of its transport (RTP figures for a GB28181 stream)."""

    transport: str
    packets: int = 0
    lost: int = 0
    jitter_ms: float = 0.0
    bytes: int = 0


class MediaSource(Protocol):
    """A live source the hub can take frames from: a GB28181 live session today, RTSP later."""

    @property
    def closed(self) -> asyncio.Event: ...

    @property
    def close_reason(self) -> str | None: ...

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        """From now on, hand every frame to `handler` (frames received before are handed over first)."""
        ...

    async def close(self) -> None: ...

    def stats(self) -> SourceStats: ...


SourceOpener = Callable[[], Awaitable[MediaSource]]


class StreamNotReady(Exception):
    """The source opened but produced no playable picture in time."""

    step = "keyframe"

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"stream {key}: {detail}")
        self.key = key
        self.detail = detail


class HubStream:
    """One running source and its consumers."""

    def __init__(self, hub: StreamHub, key: str, source: MediaSource) -> None:
        self.hub = hub
        self.key = key
        self.source = source
        self.fragmenter = Fmp4Fragmenter(label=key)
        self.init: InitSegment | None = None
        self.gop: list[MediaFragment] = []
        self._gop_bytes = 0
        self._gop_complete = False  # the cache starts at a keyframe
        self.last_keyframe: EsFrame | None = None
        self.consumers: set[Consumer] = set()
        self.started_at = time.monotonic()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ended: StreamEnd | None = None
        self.frames = 0
        self.fragments = 0
        self.bytes_in = 0
        self._recent: list[tuple[float, int]] = []  # (arrival, bytes) within RATE_WINDOW
        self._idle_timer: asyncio.TimerHandle | None = None
        self._watcher: asyncio.Task[None] | None = None

    # --- facts -------------------------------------------------------------------------------------
    @property
    def parameters(self) -> VideoParameters | None:
        return self.init.parameters if self.init else None

    def rates(self) -> tuple[float, float]:
        """(frames per second, kbit/s) over the last few seconds."""
        now = time.monotonic()
        self._trim_recent(now)
        if len(self._recent) < 2:
            return 0.0, 0.0
        span = max(1e-3, now - self._recent[0][0])
        return len(self._recent) / span, sum(size for _, size in self._recent) * 8 / span / 1000

    def _trim_recent(self, now: float) -> None:
        cut = 0
        while cut < len(self._recent) and now - self._recent[cut][0] > RATE_WINDOW:
            cut += 1
        if cut:
            del self._recent[:cut]

    # --- frames in ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.source.set_frame_handler(self._on_frame)
        self._watcher = asyncio.create_task(self._watch_source())

    def _on_frame(self, frame: EsFrame) -> None:
        if self.ended is not None:
            return
        if frame.is_video:
            self.frames += 1
            self.bytes_in += len(frame.data)
            now = time.monotonic()
            self._recent.append((now, len(frame.data)))
            if len(self._recent) > 512:
                self._trim_recent(now)
            if frame.keyframe:
                self.last_keyframe = frame
        for item in self.fragmenter.push(frame):
            self._publish(item)

    def _publish(self, item: InitSegment | MediaFragment) -> None:
        if isinstance(item, InitSegment):
            self.init = item
            self._reset_gop(complete=False)
        else:
            self.fragments += 1
            if item.keyframe:
                self._reset_gop(complete=True)
            if self._gop_complete:
                self._gop_bytes += len(item.data)
                if self._gop_bytes > GOP_CACHE_MAX_BYTES:
                    self._reset_gop(complete=False)
                else:
                    self.gop.append(item)
            if item.keyframe and not self.ready.done():
                self.ready.set_result(None)
        for consumer in list(self.consumers):
            consumer.offer(item)
            if consumer.ended is not None:
                self.unsubscribe(consumer)

    def _reset_gop(self, *, complete: bool) -> None:
        self.gop = []
        self._gop_bytes = 0
        self._gop_complete = complete

    async def _watch_source(self) -> None:
        await self.source.closed.wait()
        self.end(self.source.close_reason or "source closed")

    # --- consumers ---------------------------------------------------------------------------------
    def subscribe(self, label: str, **options: float) -> Consumer:
        """A new consumer: it gets the init segment and the cached GOP first, then everything live."""
        if self.ended is not None:
            raise StreamNotReady(self.key, f"stream ended: {self.ended.reason}")
        waiting = not (self.gop and self._gop_complete)
        consumer = Consumer(label, waiting_for_keyframe=waiting,
                            max_lag=options.get("max_lag", self.hub.max_lag))
        if self.init is not None:
            consumer.offer(self.init)
        for fragment in self.gop:
            consumer.offer(fragment)
        self.consumers.add(consumer)
        self._cancel_idle_timer()
        logger.info("stream %s: consumer %s joined (%d now)", self.key, label, len(self.consumers))
        return consumer

    def unsubscribe(self, consumer: Consumer) -> None:
        if consumer not in self.consumers:
            return
        self.consumers.discard(consumer)
        logger.info("stream %s: consumer %s left (%d remain)", self.key, consumer.label, len(self.consumers))
        if not self.consumers:
            self.arm_idle_timer()

    def arm_idle_timer(self) -> None:
        """Close the source after the grace period unless a consumer arrives first."""
        if self.consumers or self.ended is not None:
            return
        self._cancel_idle_timer()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(self.hub.grace_period, self._idle_expired)

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_expired(self) -> None:
        self._idle_timer = None
        if not self.consumers:
            logger.info("stream %s: no consumer for %g s; stopping the source", self.key, self.hub.grace_period)
            self.hub.spawn(self.stop("no viewers"))

    # --- ending ------------------------------------------------------------------------------------
    def end(self, reason: str) -> None:
        """Tell every consumer the stream ended and forget it (the source is not closed here)."""
        if self.ended is not None:
            return
        self.ended = StreamEnd(reason)
        self._cancel_idle_timer()
        if not self.ready.done():
            self.ready.set_exception(StreamNotReady(self.key, f"source ended before a picture: {reason}"))
            self.ready.exception()  # retrieved here so an unawaited failure is not reported as lost
        for consumer in list(self.consumers):
            consumer.offer(self.ended)
        self.consumers.clear()
        self.fragmenter.close()
        self.hub.forget(self)
        logger.info("stream %s: ended (%s) after %d frames", self.key, reason, self.frames)

    async def stop(self, reason: str) -> None:
        """End the stream and close its source (BYE to the device)."""
        self.end(reason)
        await self.source.close()
        if self._watcher is not None:
            self._watcher.cancel()


class StreamHub:
    def __init__(self, *, grace_period: float = DEFAULT_GRACE_PERIOD, ready_timeout: float = DEFAULT_READY_TIMEOUT,
                 max_lag: float = 2.0) -> None:
        self.grace_period = grace_period
        self.ready_timeout = ready_timeout
        self.max_lag = max_lag
        self._streams: dict[str, HubStream] = {}
        self._opening: dict[str, asyncio.Future[HubStream]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.streams_opened = 0
        self.open_failures = 0

    @property
    def streams(self) -> list[HubStream]:
        return list(self._streams.values())

    def get(self, key: str) -> HubStream | None:
        return self._streams.get(key)

    @property
    def consumer_count(self) -> int:
        return sum(len(stream.consumers) for stream in self._streams.values())

    async def open(self, key: str, opener: SourceOpener) -> HubStream:
        """The running stream for `key`, started with `opener` if there is none; raises what opening raised."""
        stream = self._streams.get(key)
        if stream is not None:
            if not stream.consumers:
                stream.arm_idle_timer()
            return stream
        pending = self._opening.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._opening[key] = pending
            self.spawn(self._start(key, opener, pending))
        return await asyncio.shield(pending)

    async def _start(self, key: str, opener: SourceOpener, result: asyncio.Future[HubStream]) -> None:
        stream: HubStream | None = None
        try:
            source = await opener()
            stream = HubStream(self, key, source)
            self._streams[key] = stream
            stream.start()
            try:
                await asyncio.wait_for(asyncio.shield(stream.ready), self.ready_timeout)
            except TimeoutError as exc:
                raise StreamNotReady(key, f"no keyframe within {self.ready_timeout:g} s "
                                          f"({stream.frames} frames arrived)") from exc
        except BaseException as exc:
            self.open_failures += 1
            if stream is not None:
                await stream.stop(f"failed to start: {exc}")
            if not result.done():
                result.set_exception(exc)
                result.exception()
            if not isinstance(exc, Exception):
                raise
        else:
            self.streams_opened += 1
            stream.arm_idle_timer()
            result.set_result(stream)
        finally:
            self._opening.pop(key, None)

    def forget(self, stream: HubStream) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]

    def spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("stream hub task failed", exc_info=task.exception())

    async def close(self) -> None:
        for stream in self.streams:
            with contextlib.suppress(Exception):
                await stream.stop("platform stopping")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


__all__ = ["Consumer", "HubItem", "HubStream", "MediaSource", "SourceStats", "StreamEnd", "StreamHub",
           "StreamNotReady"]
