"""The media benchmark's platform side: the product's receive path for N streams, in this process.

Per stream: an `RtpReceiver` on a UDP port of 127.0.0.1 (parse → SSRC gate and stats → reorder → PS demux),
whose frames go to the real `StreamHub` through `ReceiverSource` (a `MediaSource` around the receiver, as
`clearsight.gb28181.live_source.LiveSessionSource` is around a live session), with one `Consumer` that a task
drains as a WebSocket viewer's would, without the socket. The only additions to the product's path are a
wrapper around the hub's frame handler and the drain tasks, which note what arrived when (`time.monotonic`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clearsight.media.consumer import Consumer
from clearsight.media.es import EsFrame
from clearsight.media.fmp4 import MediaFragment
from clearsight.media.hub import SourceStats, StreamHub, StreamNotReady
from clearsight.media.rtp_receiver import RtpReceiver

RTP_TIMESTAMP_MOD = 1 << 32  # RFC 3550 §5.1: 32-bit timestamps


@dataclass(slots=True)
class StreamTimes:
    """When frames left the demuxer and fragments reached the consumer, keyed by RTP timestamp."""

    first_pts: int | None = None  # the first keyframe's PTS: the fragmenter's dts 0
    frames_out: dict[int, float] = field(default_factory=dict)  # RTP timestamp → demuxer emitted it
    fragments: list[tuple[int, float]] = field(default_factory=list)  # (fragment dts, reached the consumer)
    recording: bool = False  # fragments are noted only in the measured window

    def fragment_timestamps(self) -> list[tuple[int, float]]:
        """(RTP timestamp, arrival) of each fragment recorded: dts counts from the first keyframe's PTS."""
        if self.first_pts is None:
            return []
        return [((self.first_pts + dts) % RTP_TIMESTAMP_MOD, at) for dts, at in self.fragments]


class ReceiverSource:
    """A `MediaSource` around one `RtpReceiver`: frames go from the demuxer to the hub without a queue."""

    def __init__(self, receiver: RtpReceiver, times: StreamTimes) -> None:
        self.receiver = receiver
        self.times = times
        self._closed = asyncio.Event()
        self._held: list[EsFrame] = []
        self._handler: Callable[[EsFrame], None] | None = None
        receiver.on_frame = self._deliver

    @property
    def closed(self) -> asyncio.Event:
        return self._closed

    @property
    def close_reason(self) -> str | None:
        return "benchmark over" if self._closed.is_set() else None

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        held, self._held = self._held, []
        self._handler = handler
        for frame in held:
            self._deliver(frame)

    def _deliver(self, frame: EsFrame) -> None:
        if self._handler is None:
            self._held.append(frame)
            return
        times = self.times
        if frame.pts is not None:
            if times.first_pts is None and frame.keyframe:
                times.first_pts = frame.pts
            times.frames_out[frame.pts % RTP_TIMESTAMP_MOD] = time.monotonic()
        self._handler(frame)

    async def close(self) -> None:
        self.receiver.close()
        self._closed.set()

    def stats(self) -> SourceStats:
        stats = self.receiver.stats
        return SourceStats(transport="udp", packets=stats.packets, lost=max(0, stats.lost),
                           jitter_ms=stats.jitter_ms, bytes=stats.bytes)


async def _drain(consumer: Consumer, times: StreamTimes) -> None:
    async for item in consumer:
        if isinstance(item, MediaFragment) and times.recording:
            times.fragments.append((item.dts, time.monotonic()))


@dataclass(slots=True)
class ReceiverPlant:
    """N receivers, the hub, and one drained consumer per stream."""

    hub: StreamHub
    receivers: list[RtpReceiver]
    times: list[StreamTimes]
    consumers: list[Consumer] = field(default_factory=list)
    drains: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def bind(cls, ssrcs: list[int], *, ready_timeout: float) -> ReceiverPlant:
        """Bind one UDP receiver per SSRC (ephemeral ports on 127.0.0.1); nothing is opened in the hub yet."""
        receivers = [RtpReceiver(expected_ssrc=ssrc, label=f"bench-{i}") for i, ssrc in enumerate(ssrcs)]
        for receiver in receivers:
            await receiver.start("127.0.0.1", 0, udp=True)
        hub = StreamHub(grace_period=3600.0, ready_timeout=ready_timeout)
        return cls(hub, receivers, [StreamTimes() for _ in receivers])

    @property
    def ports(self) -> list[int]:
        return [receiver.port for receiver in self.receivers]

    async def open_all(self) -> int:
        """Open every stream in the hub (each waits for its first keyframe) and subscribe; returns failures."""

        async def open_one(index: int) -> Consumer | None:
            source = ReceiverSource(self.receivers[index], self.times[index])

            async def opener() -> ReceiverSource:
                return source

            try:
                stream = await self.hub.open(f"bench-{index}", opener)
            except StreamNotReady:  # counted and reported; the other streams go on
                return None
            return stream.subscribe(f"bench-viewer-{index}")

        opened = await asyncio.gather(*(open_one(i) for i in range(len(self.receivers))))
        failures = 0
        for consumer, times in zip(opened, self.times, strict=True):
            if consumer is None:
                failures += 1
                continue
            self.consumers.append(consumer)
            self.drains.append(asyncio.create_task(_drain(consumer, times)))
        return failures

    def record(self, on: bool) -> None:
        for times in self.times:
            times.recording = on

    async def close(self) -> None:
        await self.hub.close()
        for receiver in self.receivers:
            receiver.close()
        for task in self.drains:
            task.cancel()
        for task in self.drains:
            with contextlib.suppress(asyncio.CancelledError):
                await task
