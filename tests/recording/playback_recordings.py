"""Recordings for the playback tests: clock-clip video written by the real SegmentWriter, and an index of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clearsight.recording.records import SegmentRecord, SegmentState
from clearsight.recording.segment_writer import SegmentFacts
from clearsight.recording.storage import StoragePool
from tests.recording.samples import Clip
from tests.recording.segments import GB_ID, write_segments


def as_record(number: int, channel_id: int, facts: SegmentFacts) -> SegmentRecord:
    return SegmentRecord(number, channel_id, GB_ID, facts.storage, facts.path, facts.start_at, facts.end_at,
                         facts.size, facts.codec, facts.keyframes, SegmentState.COMPLETE, facts.sha256)


@dataclass
class MemoryIndex:
    """A `SegmentIndex` over segments in memory (the API tests use the real RecordingService)."""

    pool: StoragePool
    segments: list[SegmentRecord] = field(default_factory=list)
    queries: int = 0

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
