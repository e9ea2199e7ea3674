"""The playback engine on real segment files: start on the keyframe before the instant, across segments and gaps,
seek, speeds (media time against the wall clock), pause and resume, the end."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from clearsight.media.fmp4 import PTS_CLOCK_HZ
from clearsight.recording.playback import (
    GapSkipped,
    PlaybackEnd,
    PlaybackError,
    PlaybackFragment,
    PlaybackInit,
    PlaybackOutput,
    PositionReport,
    RecordedPlayback,
    Seeked,
    find_start,
    keyframes_only,
)
from clearsight.recording.storage import StoragePool
from tests.recording.playback_recordings import (
    CHANNEL,
    LEAD,
    T0,
    MemoryIndex,
    collect,
    decoded_numbers,
    frames_of,
    playback_from,
)
from tests.recording.samples import FPS, Clip


@pytest.fixture
def index(pool: StoragePool, clock_clip: Clip) -> MemoryIndex:
    index = MemoryIndex(pool)
    index.record(CHANNEL, clock_clip, T0)  # 2 s segments: 08:00:00-08:00:10
    return index


async def test_starts_on_the_keyframe_at_or_before_the_instant(index: MemoryIndex) -> None:
    asked = T0 + timedelta(seconds=3.5)
    start = await find_start(index, CHANNEL, asked)
    assert start is not None and start.time == T0 + timedelta(seconds=3) and start.offset is not None
    playback = RecordedPlayback(index, CHANNEL, start, 8, lead=LEAD)
    outputs = [o for _, o in await collect(playback, count=4)]
    assert isinstance(next(o for o in outputs if not isinstance(o, PositionReport)), PlaybackInit)
    fragments = frames_of(outputs)
    assert fragments[0].keyframe and fragments[0].recorded_at == T0 + timedelta(seconds=3)
    assert fragments[0].decode_time == 0
    assert decoded_numbers(outputs)[0] == 3 * FPS  # the picture of 08:00:03


async def test_nothing_at_or_after_the_instant_has_no_start(index: MemoryIndex) -> None:
    assert await find_start(index, CHANNEL, T0 + timedelta(seconds=11)) is None
    assert await find_start(index, CHANNEL + 1, T0) is None


async def test_crosses_segments_with_continuous_media_time_and_ends(index: MemoryIndex) -> None:
    assert len(index.segments) == 5
    playback = await playback_from(index, T0 + timedelta(seconds=1), speed=4)
    outputs = [o for _, o in await collect(playback)]
    fragments = frames_of(outputs)
    assert len(fragments) == 9 * FPS  # every frame at 4× of this small video (see test_frames_sent_by_speed)
    for before, after in itertools.pairwise(fragments):
        assert after.decode_time == before.decode_time + before.duration
    assert fragments[0].duration == PTS_CLOCK_HZ // FPS // 4
    assert decoded_numbers(outputs) == list(range(FPS, 10 * FPS))
    assert isinstance(outputs[-1], PlaybackEnd) and outputs[-1].time == T0 + timedelta(seconds=10)
    assert sum(isinstance(o, PlaybackInit) for o in outputs) == 1  # the segments share their init segment
    assert not any(isinstance(o, GapSkipped) for o in outputs)


async def test_a_gap_is_skipped_and_reported(index: MemoryIndex, clock_clip: Clip) -> None:
    later = T0 + timedelta(seconds=30)
    index.record(CHANNEL, clock_clip, later, fragments=2 * FPS)  # 08:00:30-08:00:32
    playback = await playback_from(index, T0 + timedelta(seconds=9), speed=2)
    outputs = [o for _, o in await collect(playback)]
    gaps = [o for o in outputs if isinstance(o, GapSkipped)]
    assert gaps == [GapSkipped(T0 + timedelta(seconds=10), later)]
    fragments = frames_of(outputs)
    gap_at = outputs.index(gaps[0])
    after = next(o for o in outputs[gap_at:] if isinstance(o, PlaybackFragment))
    assert after.recorded_at == later and after.keyframe
    for before, following in itertools.pairwise(fragments):  # no hole where the gap was
        assert following.decode_time == before.decode_time + before.duration
    assert decoded_numbers(outputs) == list(range(9 * FPS, 10 * FPS)) + list(range(2 * FPS))


async def acting(playback: RecordedPlayback, *, at: int, action: Callable[[], None], until: int
                 ) -> list[PlaybackOutput]:
    """The outputs until `until` fragments came, calling `action` once the `at`-th one did."""
    seen: list[PlaybackOutput] = []
    stream = playback.outputs()
    async with asyncio.timeout(10):
        async for output in stream:
            seen.append(output)
            count = len(frames_of(seen))
            if isinstance(output, PlaybackFragment) and count == at:
                action()
            if count == until:
                break
    await stream.aclose()
    return seen


async def test_seek_announces_itself_then_a_fresh_init_segment(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=1)
    seen = await acting(playback, at=5, action=lambda: playback.seek(T0 + timedelta(seconds=7, milliseconds=400)),
                        until=8)
    seeked = next(o for o in seen if isinstance(o, Seeked))
    after = seen[seen.index(seeked) + 1:]
    assert seeked.time == T0 + timedelta(seconds=7)
    assert seeked.media_time <= (5 * PTS_CLOCK_HZ // FPS) / PTS_CLOCK_HZ  # at the client's playhead, not beyond
    media = [o for o in after if not isinstance(o, PositionReport)]
    assert isinstance(media[0], PlaybackInit)
    first = frames_of(after)[0]
    assert first.recorded_at == T0 + timedelta(seconds=7) and first.keyframe
    assert first.decode_time == round(seeked.media_time * PTS_CLOCK_HZ)
    assert decoded_numbers(after) == [7 * FPS, 7 * FPS + 1, 7 * FPS + 2]


async def test_seek_to_where_nothing_is_recorded_is_an_error_and_play_goes_on(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=8)
    seen = await acting(playback, at=1, action=lambda: playback.seek(T0 + timedelta(hours=1)), until=3)
    errors = [o for o in seen if isinstance(o, PlaybackError)]
    assert len(errors) == 1 and "nothing is recorded" in errors[0].message
    assert not any(isinstance(o, Seeked) for o in seen)
    assert [f.recorded_at for f in frames_of(seen)] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]


@pytest.mark.parametrize("speed", [1, 2])
async def test_paced_by_the_wall_clock_at_the_speed(index: MemoryIndex, speed: int) -> None:
    recorded = 2.0
    playback = await playback_from(index, T0, speed=speed)
    got = await collect(playback, count=int(recorded * FPS) + 1, within=10)
    fragments = [(wall, o) for wall, o in got if isinstance(o, PlaybackFragment)]
    last_wall, last = fragments[-1]
    assert last.recorded_at == T0 + timedelta(seconds=recorded)
    media_seconds = last.decode_time / PTS_CLOCK_HZ
    assert media_seconds == pytest.approx(recorded / speed, abs=0.01)  # recorded time divided by the speed
    assert last_wall == pytest.approx(media_seconds - LEAD, abs=0.25)  # sent `lead` ahead of the wall clock
    positions = [o for _, o in got if isinstance(o, PositionReport)]
    assert positions and all(p.speed == speed for p in positions)
    assert T0 < positions[-1].time <= T0 + timedelta(seconds=recorded)


async def test_eight_times_sends_keyframes_each_lasting_to_the_next(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=8)
    got = await collect(playback)
    fragments = [(wall, o) for wall, o in got if isinstance(o, PlaybackFragment)]
    assert [o.recorded_at for _, o in fragments] == [T0 + timedelta(seconds=s) for s in range(10)]
    assert all(o.keyframe and o.duration == PTS_CLOCK_HZ // 8 for _, o in fragments)
    assert fragments[-1][0] == pytest.approx(9 / 8 - LEAD, abs=0.25)  # 9 recorded seconds in 9/8 s
    assert decoded_numbers([o for _, o in got]) == [s * FPS for s in range(10)]


def test_frames_sent_by_speed() -> None:
    assert not keyframes_only(1, 8_000_000) and not keyframes_only(2, 8_000_000)
    assert not keyframes_only(4, 2_000_000) and keyframes_only(4, 8_000_000)
    assert keyframes_only(8, 100_000)


async def test_speed_change_continues_the_media_timeline(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=1)
    seen = await acting(playback, at=3, action=lambda: playback.set_speed(8), until=6)
    fragments = frames_of(seen)
    assert [f.duration for f in fragments[:3]] == [PTS_CLOCK_HZ // FPS] * 3
    assert all(f.keyframe for f in fragments[4:])  # keyframes only from the next one on
    for before, after in itertools.pairwise(fragments):
        assert after.decode_time == before.decode_time + before.duration
    assert fragments[4].recorded_at == T0 + timedelta(seconds=1)
    with pytest.raises(ValueError, match="speed"):
        playback.set_speed(3)


async def test_pause_stops_the_fragments_and_resume_continues(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=2)
    stream = playback.outputs()
    seen: list[tuple[float, PlaybackOutput]] = []
    paused_at = resumed_at = 0.0
    async with asyncio.timeout(10):
        async for output in stream:
            now = time.monotonic()
            seen.append((now, output))
            if isinstance(output, PlaybackFragment) and len(frames_of([o for _, o in seen])) == 20:
                playback.pause()
                paused_at = now
                asyncio.get_running_loop().call_later(1.0, playback.resume)
            if paused_at and not resumed_at and isinstance(output, PositionReport) and not output.paused:
                resumed_at = now
            if len(frames_of([o for _, o in seen])) == 30:
                break
    await stream.aclose()
    fragments = [(wall, o) for wall, o in seen if isinstance(o, PlaybackFragment)]
    during = [o for wall, o in fragments if paused_at < wall < paused_at + 0.9]
    assert during == []
    assert any(isinstance(o, PositionReport) and o.paused for _, o in seen)
    numbers = [f.recorded_at for _, f in fragments]
    assert numbers == [T0 + timedelta(seconds=i / FPS) for i in range(30)]  # nothing lost, nothing repeated
    for (_, before), (_, after) in itertools.pairwise(fragments):
        assert after.decode_time == before.decode_time + before.duration


async def test_an_unreadable_segment_is_reported_and_skipped(index: MemoryIndex) -> None:
    missing = index.segments[1]
    path = index.segment_file(missing)
    assert path is not None
    path.unlink()
    playback = await playback_from(index, T0 + timedelta(seconds=1), speed=8)
    outputs = [o for _, o in await collect(playback)]
    errors = [o for o in outputs if isinstance(o, PlaybackError)]
    assert len(errors) == 1 and "unreadable" in errors[0].message
    assert [f.recorded_at for f in frames_of(outputs)] == [T0 + timedelta(seconds=s) for s in (1, 4, 5, 6, 7, 8, 9)]


async def test_a_second_run_starts_at_the_position_with_a_fresh_init(index: MemoryIndex) -> None:
    playback = await playback_from(index, T0, speed=8)
    await collect(playback, count=5)
    assert playback.position >= T0
    outputs = [o for _, o in await collect(playback, count=1)]
    media = [o for o in outputs if not isinstance(o, PositionReport)]
    assert isinstance(media[0], PlaybackInit)
    assert frames_of(outputs)[0].recorded_at <= playback.position + timedelta(seconds=1)
