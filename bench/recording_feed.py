"""The recording benchmark's cameras: N synthetic hub sources replaying one pre-encoded clip, no network.

Each `FeedSource` is a `MediaSource` (as `LiveSessionSource` is around a live session) whose frames come from a
`ReplaySource` over the clip (fresh timestamps, looping on a keyframe). One task wakes every `TICK` seconds
and hands every source the frames that are due, in real time; source i starts i/N of a GOP after source 0, so
frames and keyframes are spread over the GOP as real cameras' are. The frames go into the real `StreamHub`
(one `Fmp4Fragmenter` per stream), which is what recorders consume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from clearsight.channel_streams import stream_key
from clearsight.media.es import Codec, EsFrame
from clearsight.media.hub import HubStream, SourceStats, StreamHub
from clearsight.sim.rtp_stream import ReplaySource
from clearsight.sim.video import EncodedFrame

TICK = 0.010  # seconds between the feed's wake-ups
VIDEO_STREAM_ID = 0xE0  # 13818-1: the first video stream


class FeedSource:
    def __init__(self, clip: Sequence[EncodedFrame], fps: int) -> None:
        self.replay = ReplaySource(clip, fps)
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self.handler: Callable[[EsFrame], None] | None = None
        self.frames = 0
        self.bytes = 0

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        self.handler = handler

    def deliver(self) -> None:
        if self.handler is None:
            return
        frame, pts = next(self.replay)
        self.frames += 1
        self.bytes += len(frame.data)
        self.handler(EsFrame(VIDEO_STREAM_ID, Codec.H264, pts, None, frame.data, frame.keyframe))

    async def close(self) -> None:
        self.handler = None
        if not self.closed.is_set():
            self.close_reason = "benchmark over"
            self.closed.set()

    def stats(self) -> SourceStats:
        return SourceStats(transport="synthetic", bytes=self.bytes)


class ClipFeed:
    """N sources and the task that feeds them; `streams` is what recorders open (as `ChannelStreams`)."""

    def __init__(self, hub: StreamHub, clip: Sequence[EncodedFrame], count: int, *, fps: int, gop_seconds: float
                 ) -> None:
        self.hub = hub
        self.fps = fps
        self.sources = [FeedSource(clip, fps) for _ in range(count)]
        self._offsets = [gop_seconds * i / count for i in range(count)]
        self._task: asyncio.Task[None] | None = None
        self.late_frames = 0  # frames handed over more than two ticks after they were due

    async def open(self, channel_id: int) -> HubStream:
        source = self.sources[channel_id - 1]

        async def opener() -> FeedSource:
            return source

        return await self.hub.open(stream_key(channel_id), opener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        due = [began + offset for offset in self._offsets]
        interval = 1 / self.fps
        while True:
            now = loop.time()
            for index, source in enumerate(self.sources):
                while due[index] <= now:
                    if now - due[index] > 2 * TICK:
                        self.late_frames += 1
                    source.deliver()
                    due[index] += interval
            await asyncio.sleep(max(0.0, TICK - (loop.time() - now)))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
