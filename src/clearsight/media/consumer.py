"""One viewer (or recorder, or HLS window) of a hub stream: its own bounded queue, so it never slows others.

The hub `offer`s every item to every consumer without waiting. A consumer that falls more than `max_lag`
seconds of video behind is skipped ahead: its queue is emptied (the latest init segment kept) and it resumes
at the next keyframe. One that has to be skipped `max_skips` times within `SKIP_WINDOW` seconds is dropped
with a reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from clearsight.media.fmp4 import PTS_CLOCK_HZ, InitSegment, MediaFragment

logger = logging.getLogger(__name__)

DEFAULT_MAX_LAG = 2.0  # seconds of video a consumer may have queued before it is skipped ahead
DEFAULT_MAX_SKIPS = 5  # skips within SKIP_WINDOW before the consumer is dropped as too slow
SKIP_WINDOW = 60.0  # seconds


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The stream ended (the device hung up, media stopped, the platform is stopping, too slow a viewer)."""

    reason: str


HubItem = InitSegment | MediaFragment | StreamEnd


class Consumer:
    """Read with `await get()` or `async for`; the last item is always a `StreamEnd`."""

    def __init__(self, label: str, *, max_lag: float = DEFAULT_MAX_LAG, max_skips: int = DEFAULT_MAX_SKIPS,
                 waiting_for_keyframe: bool = False) -> None:
        self.label = label
        self.max_lag_ticks = int(max_lag * PTS_CLOCK_HZ)
        self.max_skips = max_skips
        self._queue: deque[HubItem] = deque()
        self._queued_ticks = 0
        self._ready = asyncio.Event()
        self._skipping = waiting_for_keyframe
        self._skip_times: deque[float] = deque()
        self.ended: StreamEnd | None = None
        self.fragments_sent = 0
        self.bytes_sent = 0
        self.skips = 0
        self.fragments_skipped = 0

    # --- the hub's side ----------------------------------------------------------------------------
    def offer(self, item: HubItem) -> None:
        if self.ended is not None:
            return
        if isinstance(item, StreamEnd):
            self.ended = item  # what is queued is still delivered, then the end
            self._queue.append(item)
            self._ready.set()
            return
        if isinstance(item, MediaFragment):
            if self._skipping:
                if not item.keyframe:
                    self.fragments_skipped += 1
                    return
                self._skipping = False
            if self._queued_ticks + item.duration > self.max_lag_ticks and self._queued_ticks > 0:
                self._skip_ahead()
                if self.ended is not None:
                    return
                if not item.keyframe:
                    self.fragments_skipped += 1
                    return
                self._skipping = False
            self._queued_ticks += item.duration
        self._queue.append(item)
        self._ready.set()

    def _skip_ahead(self) -> None:
        now = time.monotonic()
        self.skips += 1
        self._skip_times.append(now)
        while self._skip_times and now - self._skip_times[0] > SKIP_WINDOW:
            self._skip_times.popleft()
        if len(self._skip_times) > self.max_skips:
            logger.warning("consumer %s: dropped, too slow (%d skips in %g s)", self.label, len(self._skip_times),
                           SKIP_WINDOW)
            self._end(StreamEnd("viewer too slow: dropped"))
            return
        inits = [item for item in self._queue if isinstance(item, InitSegment)]
        dropped = sum(1 for item in self._queue if isinstance(item, MediaFragment))
        self.fragments_skipped += dropped
        self._queue.clear()
        self._queue.extend(inits[-1:])
        self._queued_ticks = 0
        self._skipping = True
        logger.info("consumer %s: %d fragments behind, skipped ahead to the next keyframe", self.label, dropped)

    def _end(self, end: StreamEnd) -> None:
        self.ended = end
        self._queue.clear()
        self._queue.append(end)
        self._queued_ticks = 0
        self._ready.set()

    # --- the reader's side -------------------------------------------------------------------------
    @property
    def queued_seconds(self) -> float:
        return self._queued_ticks / PTS_CLOCK_HZ

    def get_nowait(self) -> HubItem | None:
        if not self._queue:
            return None
        item = self._queue.popleft()
        if not self._queue:
            self._ready.clear()
        if isinstance(item, MediaFragment):
            self._queued_ticks -= item.duration
            self.fragments_sent += 1
            self.bytes_sent += len(item.data)
        return item

    async def get(self) -> HubItem:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            await self._ready.wait()

    async def __aiter__(self) -> AsyncIterator[HubItem]:
        while True:
            item = await self.get()
            yield item
            if isinstance(item, StreamEnd):
                return
