"""A GB28181 `LiveSession` as the stream hub's `MediaSource`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from clearsight.gb28181.live import LiveSession
from clearsight.media.es import EsFrame
from clearsight.media.hub import SourceStats


class LiveSessionSource:
    """Adapts a live session: frames go straight from its receiver to the hub, with no queue between."""

    def __init__(self, session: LiveSession, transport: str) -> None:
        self.session = session
        self.transport = transport

    @property
    def closed(self) -> asyncio.Event:
        return self.session.closed

    @property
    def close_reason(self) -> str | None:
        return self.session.close_reason

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        queued = self.session.frames
        while not queued.empty():
            handler(queued.get_nowait())
        self.session.receiver.on_frame = handler

    async def close(self) -> None:
        await self.session.close()

    def stats(self) -> SourceStats:
        stats = self.session.receiver.stats
        return SourceStats(transport=self.transport, packets=stats.packets, lost=max(0, stats.lost),
                           jitter_ms=stats.jitter_ms, bytes=stats.bytes)
