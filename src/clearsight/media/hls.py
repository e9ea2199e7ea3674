"""HLS (RFC 8216) with fMP4 segments, made from the hub's fragments: the fallback for players without MSE.

`HlsWindow` is one hub consumer per channel: it joins fragments into segments that start on a keyframe and
last at least `target_duration`, keeps the last `window` of them in memory, and writes the media playlist.
It ends itself when no playlist has been fetched for `idle_timeout` seconds, so the hub's grace period can
stop the source. URIs in the playlist are relative and carry the query string given (the stream token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.media.fmp4 import PTS_CLOCK_HZ, InitSegment, MediaFragment

logger = logging.getLogger(__name__)

DEFAULT_TARGET_DURATION = 1.0  # seconds; segments end on the first keyframe after this
DEFAULT_WINDOW = 6  # segments listed in the live playlist
DEFAULT_IDLE_TIMEOUT = 30.0  # seconds without a playlist fetch before the window closes
HLS_VERSION = 7  # RFC 8216 §4.3.1.2: fMP4 segments with EXT-X-MAP need version 6 or later


@dataclass(frozen=True, slots=True)
class HlsSegment:
    sequence: int
    data: bytes
    duration: float


class HlsWindow:
    def __init__(self, consumer: Consumer, *, target_duration: float = DEFAULT_TARGET_DURATION,
                 window: int = DEFAULT_WINDOW, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        self.consumer = consumer
        self.target_ticks = int(target_duration * PTS_CLOCK_HZ)
        self.idle_timeout = idle_timeout
        self.init: InitSegment | None = None
        self.segments: deque[HlsSegment] = deque(maxlen=window)
        self._building: list[MediaFragment] = []
        self._building_ticks = 0
        self._next_sequence = 0
        self.ended: StreamEnd | None = None
        self.last_fetch = time.monotonic()
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def touch(self) -> None:
        self.last_fetch = time.monotonic()

    async def _run(self) -> None:
        while self.ended is None:
            try:
                item = await asyncio.wait_for(self.consumer.get(), self.idle_timeout / 3)
            except TimeoutError:
                item = None
            if time.monotonic() - self.last_fetch > self.idle_timeout:
                self.ended = StreamEnd("no HLS client")
            elif isinstance(item, StreamEnd):
                self.ended = item
            elif isinstance(item, InitSegment):
                self.init = item
                self._building.clear()
                self._building_ticks = 0
            elif isinstance(item, MediaFragment):
                self._add(item)
        self.changed.set()

    def _add(self, fragment: MediaFragment) -> None:
        if fragment.keyframe and self._building_ticks >= self.target_ticks:
            self._cut()
        if not self._building and not fragment.keyframe:
            return  # a segment must start on a keyframe
        self._building.append(fragment)
        self._building_ticks += fragment.duration

    def _cut(self) -> None:
        data = b"".join(fragment.data for fragment in self._building)
        self.segments.append(HlsSegment(self._next_sequence, data, self._building_ticks / PTS_CLOCK_HZ))
        self._next_sequence += 1
        self._building.clear()
        self._building_ticks = 0
        self.changed.set()
        self.changed = asyncio.Event()

    def segment(self, sequence: int) -> HlsSegment | None:
        return next((s for s in self.segments if s.sequence == sequence), None)

    def playlist(self, query: str) -> str:
        suffix = f"?{query}" if query else ""
        target = max(1, math.ceil(max((s.duration for s in self.segments), default=1.0)))
        first = self.segments[0].sequence if self.segments else 0
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target}",
                 f"#EXT-X-MEDIA-SEQUENCE:{first}", f'#EXT-X-MAP:URI="init.mp4{suffix}"']
        for segment in self.segments:
            lines.append(f"#EXTINF:{segment.duration:.3f},")
            lines.append(f"seg/{segment.sequence}.m4s{suffix}")
        if self.ended is not None:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


class HlsWindows:
    """The HLS window of each stream key, created on the first playlist fetch and forgotten when it ends."""

    def __init__(self, **options: float) -> None:
        self._windows: dict[str, HlsWindow] = {}
        self._options = options

    def get(self, key: str) -> HlsWindow | None:
        window = self._windows.get(key)
        if window is not None and window.ended is not None:
            del self._windows[key]
            return None
        return window

    def start(self, key: str, consumer: Consumer) -> HlsWindow:
        window = HlsWindow(consumer, **self._options)  # type: ignore[arg-type]
        self._windows[key] = window
        window.start()
        return window

    async def close(self) -> None:
        for window in list(self._windows.values()):
            await window.close()
        self._windows.clear()
