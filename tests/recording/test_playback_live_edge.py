"""Playback at the live edge: the segment the recorder is still writing is read as it grows (whole fragments only,
never a torn one), followed at 1× across the recorder's next segments until it stops, and caught up with at a
higher speed, which says `PlaybackLive` once the client has played what it was sent."""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from clearsight.media.fmp4 import PTS_CLOCK_HZ
from clearsight.recording.playback import (
    PlaybackEnd,
    PlaybackFragment,
    PlaybackLive,
)
from clearsight.recording.records import SegmentState
from clearsight.recording.segment_writer import SegmentClosed, SegmentOpened, SegmentWriter, TimedItem
from clearsight.recording.storage import StoragePool
from tests.recording.playback_recordings import (
    CHANNEL,
    LEAD,
    T0,
    MemoryIndex,
    as_record,
    collect,
    decoded_numbers,
    frames_of,
    playback_from,
)
from tests.recording.samples import FPS, Clip
from tests.recording.segments import GB_ID

BATCH = 5  # fragments the recording grows by at a time (0.2 s of video)


class GrowingRecording:
    """The clip written by the real SegmentWriter a batch at a time and indexed as a recorder does: a segment is
    `open` (its end and size as written so far) until the writer closes it."""

    def __init__(self, index: MemoryIndex, clip: Clip, *, segment_seconds: float = 60.0) -> None:
        self.index = index
        self.clip = clip
        self.writer = SegmentWriter(CHANNEL, GB_ID, index.pool, segment_seconds=segment_seconds)
        self.written = 0  # fragments of the clip

    def write(self, count: int) -> None:
        t0 = T0.timestamp()
        items: list[TimedItem] = [(self.clip.init, t0)] if self.written == 0 else []
        items += [(f, t0 + f.dts / PTS_CLOCK_HZ) for f in self.clip.fragments[self.written:self.written + count]]
        self.written += count
        self._apply(self.writer.write(items).events)

    def close(self) -> None:
        self._apply(self.writer.close().events)

    def _apply(self, events: list[SegmentOpened | SegmentClosed]) -> None:
        for event in events:
            facts = event.facts
            if isinstance(event, SegmentOpened):
                record = as_record(len(self.index.segments) + 1, CHANNEL, facts)
                self.index.segments.append(replace(record, state=SegmentState.OPEN))
            else:
                self._set(facts.path, end_at=facts.end_at, size=facts.size, keyframes=facts.keyframes,
                          state=SegmentState.COMPLETE)
        current = self.writer.current
        if current is None:
            self.index.writing.pop(CHANNEL, None)
        else:  # the service gives the open segment's row the recorder's facts of it
            self.index.writing[CHANNEL] = (current.storage, current.path)
            self._set(current.path, end_at=current.end_at, size=current.size, keyframes=current.keyframes)

    def _set(self, path: str, **changes: Any) -> None:
        self.index.segments = [replace(s, **changes) if s.path == path else s for s in self.index.segments]

    def torn(self, fraction: float) -> None:
        """Put the first `fraction` of the next fragment's bytes at the end of the file, as a write cut short
        leaves them (the writer writes the whole fragment over them next)."""
        current = self.writer.current
        path = self.index.pool.get(current.storage).root / current.path if current else None
        assert path is not None
        data = self.clip.fragments[self.written].data
        with path.open("ab") as stream:
            stream.write(data[:int(len(data) * fraction)])
            stream.flush()
            os.fsync(stream.fileno())

    async def grow(self, until: int, every: float = BATCH / FPS) -> None:
        """Append a batch every `every` seconds (as fast as recorded) up to `until` fragments, then close."""
        while self.written < until:
            await asyncio.sleep(every)
            self.write(min(BATCH, until - self.written))
        self.close()


@pytest.fixture
def index(pool: StoragePool) -> MemoryIndex:
    return MemoryIndex(pool)


async def test_a_segment_being_written_is_followed_at_1x_across_segments(index: MemoryIndex,
                                                                         clock_clip: Clip) -> None:
    recording = GrowingRecording(index, clock_clip, segment_seconds=2)
    recording.write(FPS)  # 1 s on disk when playback starts
    playback = await playback_from(index, T0, 1)
    growing = asyncio.create_task(recording.grow(5 * FPS))
    got = await collect(playback, within=15)
    await growing
    outputs = [o for _, o in got]
    assert decoded_numbers(outputs) == list(range(5 * FPS))  # every frame the recorder appended, in order
    fragments = frames_of(outputs)
    for before, after in itertools.pairwise(fragments):
        assert after.decode_time == before.decode_time + before.duration
    assert len(index.segments) == 3 and all(s.state is SegmentState.COMPLETE for s in index.segments)
    assert not any(isinstance(o, PlaybackLive) for o in outputs)
    assert isinstance(outputs[-1], PlaybackEnd) and outputs[-1].time == T0 + timedelta(seconds=5)
    last_sent = next(wall for wall, o in reversed(got) if isinstance(o, PlaybackFragment))
    assert last_sent == pytest.approx(5 - LEAD, abs=0.5)  # at the recording's pace, not faster


async def test_a_torn_trailing_fragment_is_not_sent_until_it_is_whole(index: MemoryIndex, clock_clip: Clip) -> None:
    recording = GrowingRecording(index, clock_clip)
    recording.write(10)
    recording.torn(0.5)
    playback = await playback_from(index, T0, 1)
    stream = playback.outputs()
    sent: list[PlaybackFragment] = []
    async with asyncio.timeout(10):
        async for output in stream:
            assert not isinstance(output, PlaybackEnd | PlaybackLive)
            if isinstance(output, PlaybackFragment):
                sent.append(output)
            if len(sent) == 10:
                await asyncio.sleep(0.6)  # the reader looks again meanwhile: the torn fragment is not taken
                assert len(sent) == 10
                recording.write(1)  # the rest of it reaches the file
            if len(sent) == 11:
                break
    await stream.aclose()
    recording.close()
    assert len(sent[10].data) == len(clock_clip.fragments[10].data)  # sent whole, once
    assert sent[10].recorded_at == T0 + timedelta(seconds=10 / FPS)


@pytest.mark.parametrize("speed", [2, 4, 8])
async def test_a_faster_playback_catches_up_and_says_live(index: MemoryIndex, clock_clip: Clip, speed: int) -> None:
    recording = GrowingRecording(index, clock_clip)
    recording.write(2 * FPS)
    playback = await playback_from(index, T0, speed)
    growing = asyncio.create_task(recording.grow(10 * FPS))
    try:
        got = await collect(playback, until=PlaybackLive, within=8)
        outputs = [o for _, o in got]
        live = outputs[-1]
        assert isinstance(live, PlaybackLive) and not any(isinstance(o, PlaybackEnd) for o in outputs)
        assert recording.written < 10 * FPS  # said while the recorder still writes
        fragments = frames_of(outputs)
        appended = [f for f in fragments if f.recorded_at >= T0 + timedelta(seconds=2)]
        assert appended or speed == 8  # what was appended after the start was played (at 8×: its keyframes)
        end = fragments[-1]
        assert live.time == pytest.approx(end.recorded_at + timedelta(seconds=end.duration * speed / PTS_CLOCK_HZ),
                                          abs=timedelta(seconds=1))
        first_sent = next(wall for wall, o in got if isinstance(o, PlaybackFragment))
        played_out = first_sent + (end.decode_time + end.duration) / PTS_CLOCK_HZ  # the client plays at rate 1
        assert got[-1][0] >= played_out - 0.05  # said once the client had played what it was sent
    finally:
        await growing
