"""Recordings for the playback tests: clock-clip video written by the real SegmentWriter, an index of them, and
what a playback of them outputs."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import av

from clearsight.recording.playback import (
    PlaybackEnd,
    PlaybackFragment,
    PlaybackInit,
    PlaybackOutput,
    RecordedPlayback,
    find_start,
)
from clearsight.recording.records import SegmentRecord, SegmentState
from clearsight.recording.segment_writer import SegmentFacts
from clearsight.recording.storage import StoragePool
from tests.recording.clock_clip import frame_number
from tests.recording.samples import Clip
from tests.recording.segments import GB_ID, write_segments

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHANNEL = 7
LEAD = 0.2  # seconds sent ahead: short, so that the tests' timings are tight


def as_record(number: int, channel_id: int, facts: SegmentFacts) -> SegmentRecord:
    return SegmentRecord(number, channel_id, GB_ID, facts.storage, facts.path, facts.start_at, facts.end_at,
                         facts.size, facts.codec, facts.keyframes, SegmentState.COMPLETE, facts.sha256)


@dataclass
class MemoryIndex:
    """A `SegmentIndex` over segments in memory (the API tests use the real RecordingService)."""

    pool: StoragePool
    segments: list[SegmentRecord] = field(default_factory=list)
    queries: int = 0
    writing: dict[int, tuple[str, str]] = field(default_factory=dict)  # channel → (storage, path) being recorded

    def record(self, channel_id: int, clip: Clip, start: datetime, *, seconds: float = 2.0,
               fragments: int | None = None) -> list[SegmentRecord]:
        """Write the clip (or its first `fragments`) as segments from `start` and index them."""
        written = write_segments(self.pool, clip, channel_id, start, seconds=seconds, fragments=fragments)
        records = [as_record(len(self.segments) + i + 1, channel_id, facts) for i, facts in enumerate(written)]
        self.segments = sorted(self.segments + records, key=lambda s: s.start_at)
        return records

    async def segments_from(self, channel_id: int, at: datetime, limit: int) -> Sequence[SegmentRecord]:
        self.queries += 1
        return [s for s in self.segments if s.channel_id == channel_id and s.end_at > at][:limit]

    def segment_file(self, segment: SegmentRecord) -> Path | None:
        path = self.pool.get(segment.storage)
        return path.root / segment.path if path is not None else None

    def open_segment(self, channel_id: int) -> tuple[str, str] | None:
        return self.writing.get(channel_id)


def frames_of(outputs: list[PlaybackOutput]) -> list[PlaybackFragment]:
    return [o for o in outputs if isinstance(o, PlaybackFragment)]


def decoded_numbers(outputs: list[PlaybackOutput]) -> list[int]:
    """Frame numbers of the pictures the received fMP4 decodes to."""
    data = b"".join(o.data for o in outputs if isinstance(o, PlaybackInit | PlaybackFragment))
    with av.open(io.BytesIO(data), format="mp4") as container:
        return [frame_number(frame) for frame in container.decode(video=0)]


async def collect(playback: RecordedPlayback, *, until: type | None = PlaybackEnd, count: int | None = None,
                  within: float = 20.0) -> list[tuple[float, PlaybackOutput]]:
    """(wall seconds since the call, output) until an output of type `until`, or `count` fragments."""
    started = time.monotonic()
    got: list[tuple[float, PlaybackOutput]] = []
    stream = playback.outputs()
    async with asyncio.timeout(within):
        async for output in stream:
            got.append((time.monotonic() - started, output))
            if until is not None and isinstance(output, until):
                break
            if count is not None and len([o for _, o in got if isinstance(o, PlaybackFragment)]) >= count:
                break
    await stream.aclose()
    return got


async def playback_from(index: MemoryIndex, at: datetime, speed: int = 1) -> RecordedPlayback:
    start = await find_start(index, CHANNEL, at)
    assert start is not None
    return RecordedPlayback(index, CHANNEL, start, speed, lead=LEAD, position_interval=0.25)
