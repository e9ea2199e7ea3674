"""A channel stream without a network: a real StreamHub fed by a clip played in (fast) real time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from clearsight.channel_streams import stream_key
from clearsight.media.es import EsFrame
from clearsight.media.hub import HubStream, SourceStats, StreamHub
from tests.recording.samples import FPS, FRAME_TICKS


class ClipSource:
    """A MediaSource replaying frames in a loop with continuous timestamps, `speed` times real time."""

    def __init__(self, frames: list[EsFrame], *, speed: float = 1.0) -> None:
        self._frames = frames
        self._speed = speed
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.paused = False
        self.sent = 0

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        self._task = asyncio.create_task(self._play(handler))

    async def _play(self, handler: Callable[[EsFrame], None]) -> None:
        loop = asyncio.get_running_loop()
        interval = 1 / FPS / self._speed
        next_at = loop.time()
        index = 0
        while True:
            if not self.paused:
                frame = self._frames[index % len(self._frames)]
                pts = index * FRAME_TICKS
                handler(EsFrame(frame.stream_id, frame.codec, pts, None, frame.data, frame.keyframe))
                self.sent += 1
                index += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def end(self, reason: str) -> None:
        """The device hung up."""
        if self._task is not None:
            self._task.cancel()
        self.close_reason = reason
        self.closed.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.closed.is_set():
            self.close_reason = "closed by the platform"
            self.closed.set()

    def stats(self) -> SourceStats:
        return SourceStats(transport="test")


class FakeStreams:
    """`ChannelStreams` for tests: every channel plays the clip; opening can be made to fail."""

    def __init__(self, hub: StreamHub, frames: list[EsFrame], *, speed: float = 1.0) -> None:
        self.hub = hub
        self._frames = frames
        self._speed = speed
        self.sources: list[ClipSource] = []
        self.failures: list[BaseException] = []  # raised by the next opens, in order
        self.opens = 0

    async def open(self, channel_id: int) -> HubStream:
        self.opens += 1
        if self.failures:
            raise self.failures.pop(0)

        async def opener() -> ClipSource:
            source = ClipSource(self._frames, speed=self._speed)
            self.sources.append(source)
            return source

        return await self.hub.open(stream_key(channel_id), opener)


def window() -> tuple[datetime, datetime]:
    """An hour either side of now: what a recorder fed by these streams wrote falls inside, even where the media
    clock it follows ran ahead of the wall clock (a replay catching up after a stall on a loaded machine)."""
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)
