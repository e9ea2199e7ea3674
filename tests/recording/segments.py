"""Real segment files for the retention and repair tests, written by the product's SegmentWriter."""

from __future__ import annotations

from datetime import datetime

from clearsight.recording.records import SegmentState
from clearsight.recording.segment_writer import SegmentClosed, SegmentFacts, SegmentWriter, TimedItem
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from tests.recording.samples import Clip

GB_ID = "34020000001310000001"


def write_segments(pool: StoragePool, clip: Clip, channel_id: int, start: datetime, *, seconds: float = 2.0,
                   fragments: int | None = None, storage: str | None = None) -> list[SegmentFacts]:
    """The clip (or its first `fragments`) as segments of `seconds`, starting at `start`."""
    writer = SegmentWriter(channel_id, GB_ID, pool, segment_seconds=seconds, preferred_storage=storage)
    t0 = start.timestamp()
    items: list[TimedItem] = [(clip.init, t0)]
    items += [(f, t0 + f.dts / 90_000) for f in clip.fragments[:fragments]]
    events = writer.write(items).events + writer.close().events
    return [e.facts for e in events if isinstance(e, SegmentClosed)]


async def index(store: RecordingStore, channel_id: int, segments: list[SegmentFacts]) -> list[int]:
    return [await store.add_segment(channel_id, GB_ID, facts, SegmentState.COMPLETE) for facts in segments]
