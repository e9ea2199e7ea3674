"""Playback of the platform's own recordings as fMP4 for MSE: from any instant, 1×–8×, seek, pause, no re-encoding.

    playback = RecordedPlayback(index, channel_id, start_point, speed=1)
    async for output in playback.outputs():      # PlaybackInit, PlaybackFragment, and the events below
        ...                                      # other tasks call seek(), set_speed(), pause(), resume(), stop()

`find_start` picks the segment covering an instant (or the first one after it, when the instant falls in a gap)
and the indexed keyframe at or before it. From there `outputs` reads the segment files fragment by fragment in a
worker thread (`SegmentCursor`), moves on to the next segment, skips gaps (`GapSkipped`), and retimes every
fragment onto one continuous media timeline divided by the speed (`PlaybackTimeline`), paced by the wall clock
with `lead` seconds sent ahead. `PositionReport` comes about every `position_interval` seconds; `PlaybackEnd`
when nothing more is recorded (the stream then waits for a seek or `stop`). A seek announces itself
(`Seeked`) and starts again with a fresh init segment at the client's current media time.

The live edge: the segment the recorder is still writing is read as it grows, whole fragments only
(`SegmentCursor` takes a fragment once its moof and mdat are both in the file, as crash repair does). Having read
all of it, playback at 1× follows: it reads again every `FOLLOW_INTERVAL` and sends what the recorder appended,
at its pace. Faster, it has caught up with the recording: once the client has played what was sent,
`PlaybackLive` (then, as after `PlaybackEnd`, the stream waits for a seek or `stop`; the viewer goes to live view).

Frames sent: every frame at 1× and 2×, and at 4× while the recording's bitrate × 4 stays within
`FULL_FRAME_BUDGET_BPS`; otherwise (8× always) keyframes only, each shown until the next one, because all the
frames of 8× (200 frames/s of 25 fps video at 8× the bitrate) are more than a browser decodes smoothly or a
link carries for one tile, while a keyframe per GOP still shows the scene moving on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Protocol

from clearsight.media.fmp4 import PTS_CLOCK_HZ
from clearsight.recording.fmp4_scan import UnreadableSegment
from clearsight.recording.playback_fragments import FragmentLayoutError, retime_fragment
from clearsight.recording.playback_reader import RecordedSample, SegmentCursor
from clearsight.recording.playback_timing import PlaybackTimeline, span
from clearsight.recording.records import SegmentRecord

logger = logging.getLogger(__name__)

PLAYBACK_SPEEDS = (1, 2, 4, 8)
FULL_FRAME_BUDGET_BPS = 16_000_000  # what all frames at the speed may cost; beyond it, keyframes only
MAX_FULL_FRAME_SPEED = 4  # above it, keyframes only whatever the bitrate
GAP_TOLERANCE = timedelta(milliseconds=500)  # a larger hole between segments is reported as a gap
DEFAULT_LEAD = 1.0  # seconds of media sent ahead of the client's playhead
DEFAULT_POSITION_INTERVAL = 1.0  # seconds between position reports
READ_BATCH = 25  # fragments read from a file at a time (one second of 25 fps video)
SEGMENT_PAGE = 4  # segments asked of the index at a time
FOLLOW_INTERVAL = 0.25  # seconds between reads at the live edge (the recorder's default batch interval)


class SegmentIndex(Protocol):
    """The recording index as playback reads it (`RecordingService` implements it)."""

    async def segments_from(self, channel_id: int, at: datetime, limit: int) -> Sequence[SegmentRecord]:
        """The channel's segments ending after `at`, by start; an open one as its recorder knows it now."""
        ...

    def segment_file(self, segment: SegmentRecord) -> Path | None:
        """Where the segment's file is; None when its storage path is not configured."""
        ...

    def open_segment(self, channel_id: int) -> tuple[str, str] | None:
        """(storage, path) of the segment the channel's recorder is writing now; None when it writes none."""
        ...


@dataclass(frozen=True, slots=True)
class StartPoint:
    segment: SegmentRecord
    time: datetime  # of the keyframe playback starts on (or the segment's start)
    offset: int | None  # that keyframe's moof in the file; None: the first fragment


@dataclass(frozen=True, slots=True)
class PlaybackInit:
    data: bytes  # ftyp + moov of the segment file


@dataclass(frozen=True, slots=True)
class PlaybackFragment:
    data: bytes  # moof + mdat, retimed
    keyframe: bool
    recorded_at: datetime
    decode_time: int  # media time, 90 kHz
    duration: int


@dataclass(frozen=True, slots=True)
class PositionReport:
    time: datetime
    speed: int
    paused: bool


@dataclass(frozen=True, slots=True)
class GapSkipped:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Seeked:
    time: datetime
    media_time: float  # seconds: where on the media timeline the new init segment's fragments begin


@dataclass(frozen=True, slots=True)
class PlaybackEnd:
    time: datetime | None  # where the recorded material ended


@dataclass(frozen=True, slots=True)
class PlaybackLive:
    time: datetime  # where the recording being written was caught up with


@dataclass(frozen=True, slots=True)
class PlaybackError:
    message: str


PlaybackOutput = (PlaybackInit | PlaybackFragment | PositionReport | GapSkipped | Seeked | PlaybackEnd | PlaybackLive
                  | PlaybackError)
_Event = PlaybackInit | GapSkipped | PlaybackError


def keyframes_only(speed: int, bitrate_bps: float) -> bool:
    """Whether playback at `speed` of video of `bitrate_bps` sends keyframes only (see the module docstring)."""
    return speed > MAX_FULL_FRAME_SPEED or (speed > 2 and speed * bitrate_bps > FULL_FRAME_BUDGET_BPS)


def bitrate_of(segment: SegmentRecord) -> float:
    seconds = (segment.end_at - segment.start_at).total_seconds()
    return segment.size * 8 / seconds if seconds > 0 else 0.0


def start_keyframe(segment: SegmentRecord, at: datetime) -> tuple[datetime, int | None]:
    """The instant and offset of the last indexed keyframe at or before `at` (the segment's start if none)."""
    chosen: tuple[datetime, int | None] = (segment.start_at, None)
    for offset, ms in segment.keyframes:
        moment = segment.start_at + timedelta(milliseconds=ms)
        if moment > at:
            break
        chosen = (moment, offset)
    return chosen


async def find_start(index: SegmentIndex, channel_id: int, at: datetime) -> StartPoint | None:
    """Where playback from `at` begins; None when nothing is recorded at or after `at`."""
    for segment in await index.segments_from(channel_id, at, 1):
        if segment.start_at >= at:
            return StartPoint(segment, segment.start_at, None)
        moment, offset = start_keyframe(segment, at)
        return StartPoint(segment, moment, offset)
    return None


@dataclass(frozen=True, slots=True)
class _Queued:
    sample: RecordedSample
    at: datetime


@dataclass(slots=True)
class _Reading:
    """The segment being read (its cursor None when the file is unusable) and the end of what was read of it."""

    segment: SegmentRecord
    cursor: SegmentCursor | None
    read_until: datetime
    whole: bool = False  # the last read began after the recorder had finished the file: its end is final


class _Filled(Enum):
    """What `_Stream._fill` found."""

    QUEUED = "queued"  # fragments or an event
    LIVE_EDGE = "live edge"  # everything recorded so far was read, and the recorder writes on
    END = "end"  # the recorded material ended


class RecordedPlayback:
    """One viewer's playback of one channel's recordings; see the module docstring."""

    def __init__(self, index: SegmentIndex, channel_id: int, start: StartPoint, speed: int = 1, *,
                 lead: float = DEFAULT_LEAD, position_interval: float = DEFAULT_POSITION_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if speed not in PLAYBACK_SPEEDS:
            raise ValueError(f"speed must be one of {PLAYBACK_SPEEDS}")
        self.index = index
        self.channel_id = channel_id
        self.speed = speed
        self.paused = False
        self.position = start.time  # the recorded instant at the client's playhead
        self.stopped: str | None = None
        self._start: StartPoint | None = start
        self.lead = lead
        self.position_interval = position_interval
        self._clock = clock
        self._wake = asyncio.Event()
        self._seek_to: datetime | None = None
        self._speed_changed = False
        self._pause_changed = False
        self._running = False

    # --- commands (from other tasks) ---------------------------------------------------------------
    def seek(self, at: datetime) -> None:
        self._seek_to = at
        self._wake.set()

    def set_speed(self, speed: int) -> None:
        if speed not in PLAYBACK_SPEEDS:
            raise ValueError(f"speed must be one of {PLAYBACK_SPEEDS}")
        if speed != self.speed:
            self.speed = speed
            self._speed_changed = True
            self._wake.set()

    def pause(self) -> None:
        if not self.paused:
            self.paused, self._pause_changed = True, True
            self._wake.set()

    def resume(self) -> None:
        if self.paused:
            self.paused, self._pause_changed = False, True
            self._wake.set()

    def stop(self, reason: str) -> None:
        """End the running `outputs` (a later call starts again from the position)."""
        self.stopped = reason
        self._wake.set()

    # --- the stream ------------------------------------------------------------------------------
    async def outputs(self) -> AsyncIterator[PlaybackOutput]:
        """The stream from the current position (a fresh init segment first); again after a reconnect."""
        if self._running:
            raise RuntimeError("this playback is already being streamed")
        self._running = True
        self.stopped = None
        stream = _Stream(self)
        try:
            async for output in stream.run():
                yield output
        finally:
            self.position = stream.timeline.recorded_at_playhead(self.now()) or self.position
            stream.close()
            self._running = False

    def take_start(self) -> StartPoint | None:
        start, self._start = self._start, None
        return start

    def take_commands(self) -> tuple[datetime | None, bool, bool]:
        """(seek target, speed changed, pause changed) since the last call."""
        seek, speed, pause = self._seek_to, self._speed_changed, self._pause_changed
        self._seek_to, self._speed_changed, self._pause_changed = None, False, False
        self._wake.clear()
        return seek, speed, pause

    async def wait(self, seconds: float) -> None:
        """Until a command comes or `seconds` pass."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)

    def now(self) -> float:
        return self._clock()


class _Stream:
    """One run of `RecordedPlayback.outputs`: the file being read, what is read ahead, the media timeline."""

    def __init__(self, playback: RecordedPlayback) -> None:
        self.playback = playback
        self.timeline = PlaybackTimeline(playback.lead)
        self.reading: _Reading | None = None
        self.queued: deque[_Queued | _Event] = deque()
        self.last_init: bytes | None = None
        self.ended = False
        self.next_report = 0.0
        self.keyframes_only = False
        self.sequence = 0

    def close(self) -> None:
        if self.reading is not None and self.reading.cursor is not None:
            self.reading.cursor.close()
        self.reading = None

    async def run(self) -> AsyncIterator[PlaybackOutput]:
        playback = self.playback
        start = playback.take_start() or await find_start(playback.index, playback.channel_id, playback.position)
        if start is None:
            self.ended = True
            yield PlaybackEnd(playback.position)
        else:
            await self._begin(start)
        while playback.stopped is None:
            seek, speed_changed, pause_changed = playback.take_commands()
            if pause_changed:
                (self.timeline.pause if playback.paused else self.timeline.resume)(playback.now())
            if speed_changed:
                self._change_speed()
            if seek is not None:
                async for output in self._seek(seek):
                    yield output
            now = playback.now()
            if now >= self.next_report:
                self.next_report = now + playback.position_interval
                playback.position = self.timeline.recorded_at_playhead(now) or playback.position
                yield PositionReport(playback.position, playback.speed, playback.paused)
            if playback.paused or self.ended:
                await playback.wait(self.next_report - playback.now())
                continue
            if not self.queued:
                filled = await self._fill()
                if filled is _Filled.LIVE_EDGE:
                    # 1×: follow the recording; faster: say so once the client has played what it has.
                    wait = FOLLOW_INTERVAL if playback.speed == 1 else self.timeline.unplayed(playback.now())
                    if wait > 0:
                        await playback.wait(min(wait, self.next_report - playback.now()))
                        continue
                if filled is not _Filled.QUEUED:
                    self.ended = True
                    playback.position = self.reading.read_until if self.reading else playback.position
                    yield PlaybackEnd(playback.position) if filled is _Filled.END else PlaybackLive(playback.position)
                    continue
            item = self.queued[0]
            if not isinstance(item, _Queued):
                self.queued.popleft()
                yield item
                continue
            placement = self.timeline.place(item.sample.duration, playback.speed)
            wait = self.timeline.due_in(placement.decode_time, playback.now())
            if wait > 0:
                await playback.wait(min(wait, self.next_report - playback.now()))
                continue
            self.queued.popleft()
            fragment = self._retimed(item, placement.decode_time, placement.duration)
            if fragment is not None:
                self.timeline.sent(placement, item.at, playback.speed)
                yield fragment

    def _retimed(self, item: _Queued, decode_time: int, duration: int) -> PlaybackFragment | None:
        sample = item.sample
        self.sequence += 1
        try:
            data = retime_fragment(sample.data, sequence=self.sequence, decode_time=decode_time, duration=duration,
                                   source_duration=sample.duration)
        except FragmentLayoutError as exc:
            logger.warning("channel %d: fragment at %d left out: %s", self.playback.channel_id, sample.offset, exc)
            return None
        return PlaybackFragment(data, sample.keyframe, item.at, decode_time, duration)

    async def _begin(self, start: StartPoint) -> None:
        self.close()
        self.queued.clear()
        self.ended = False
        self.last_init = None
        self.playback.position = start.time
        await self._open(start.segment, start.offset, gap_from=None)

    async def _seek(self, target: datetime) -> AsyncIterator[PlaybackOutput]:
        playback = self.playback
        start = await find_start(playback.index, playback.channel_id, target)
        if start is None:
            yield PlaybackError(f"nothing is recorded at or after {target.isoformat()}")
            return
        media = self.timeline.restart_at_playhead(playback.now())
        await self._begin(start)
        self.next_report = 0.0
        yield Seeked(start.time, media / PTS_CLOCK_HZ)

    def _change_speed(self) -> None:
        """Frames of the new speed from the first one not yet sent (read again if the choice of frames changed)."""
        reading = self.reading
        if reading is None or reading.cursor is None:
            return
        wanted = keyframes_only(self.playback.speed, bitrate_of(reading.segment))
        if wanted == self.keyframes_only:
            return
        self.keyframes_only = wanted
        first = next((item for item in self.queued if isinstance(item, _Queued)), None)
        if first is not None:
            while self.queued[-1] is not first:
                self.queued.pop()
            self.queued.pop()
            self.queued.append(first)
            reading.cursor.move_to(first.sample.end)
            reading.read_until = first.at + span(first.sample.duration)

    async def _open(self, segment: SegmentRecord, offset: int | None, *, gap_from: datetime | None) -> None:
        """Start reading `segment`, queueing the gap before it and its init segment when that differs."""
        playback = self.playback
        if gap_from is not None and segment.start_at - gap_from > GAP_TOLERANCE:
            self.queued.append(GapSkipped(gap_from, segment.start_at))
        path = playback.index.segment_file(segment)
        try:
            if path is None:
                raise UnreadableSegment(segment.path, f"storage {segment.storage!r} is not configured")
            cursor = await asyncio.to_thread(SegmentCursor, path, start_offset=offset)
        except (OSError, UnreadableSegment) as exc:
            logger.warning("channel %d: segment %d not played: %s", playback.channel_id, segment.id, exc)
            self.queued.append(PlaybackError(f"the recording from {segment.start_at.isoformat()} is unreadable"))
            self.reading = _Reading(segment, None, segment.end_at)
            return
        self.reading = _Reading(segment, cursor, segment.start_at)
        self.keyframes_only = keyframes_only(playback.speed, bitrate_of(segment))
        if cursor.init != self.last_init:
            self.queued.append(PlaybackInit(cursor.init))
            self.last_init = cursor.init

    async def _fill(self) -> _Filled:
        """Queue the next fragments, reading the segment being written as it grows and moving on through the
        segments (see `_Filled`)."""
        while not self.queued:
            reading = self.reading
            if reading is None:
                return _Filled.END
            cursor = reading.cursor
            segment = reading.segment
            writing = self.playback.index.open_segment(self.playback.channel_id)  # before the read: see `whole`
            growing = cursor is not None and writing == (segment.storage, segment.path)
            if cursor is not None and not (cursor.exhausted and reading.whole):
                samples = await asyncio.to_thread(cursor.read, READ_BATCH, keyframes_only=self.keyframes_only)
                reading.whole = not growing
                for sample in samples:
                    at = segment.start_at + span(sample.ticks)
                    self.queued.append(_Queued(sample, at))
                    reading.read_until = at + span(sample.duration)
                if samples:
                    return _Filled.QUEUED
            if growing:
                return _Filled.LIVE_EDGE
            following = await self._following(reading)
            if following is None:  # while recording, the next segment may not be indexed yet: a moment's edge
                return _Filled.END if writing is None else _Filled.LIVE_EDGE
            if cursor is not None:
                cursor.close()
            await self._open(following, None, gap_from=reading.read_until)
        return _Filled.QUEUED

    async def _following(self, reading: _Reading) -> SegmentRecord | None:
        segments = await self.playback.index.segments_from(self.playback.channel_id, reading.read_until, SEGMENT_PAGE)
        return next((s for s in segments if s.id != reading.segment.id and s.start_at >= reading.segment.start_at),
                    None)
