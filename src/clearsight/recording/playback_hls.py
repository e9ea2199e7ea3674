"""HLS (RFC 8216) of recorded material from an instant: a playlist planned from the index, segments cut from files.

`plan_playlist` lays out up to `MAX_PLAYLIST_SPAN` of recordings from a start point as HLS segments of about
`TARGET_SECONDS`, each from one indexed keyframe to the next one chosen (never across a recorded segment), on one
continuous media timeline that skips the gaps like the WebSocket stream does (at 1×: an HLS client sets its own
`playbackRate`). Every HLS segment carries `EXT-X-PROGRAM-DATE-TIME`, its recorded instant, and every recorded
segment its own `EXT-X-MAP` (its file's init segment), after an `EXT-X-DISCONTINUITY` where there was a gap. The
playlist is `VOD` with `EXT-X-ENDLIST` when it covers only closed segments, else `EVENT` without it (it grows as
the open segment's index does; fetch it again). `build_segment` (blocking: a worker thread) reads one segment's
fragments from its file and retimes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from clearsight.media.fmp4 import PTS_CLOCK_HZ
from clearsight.recording.playback import GAP_TOLERANCE, SegmentIndex, StartPoint
from clearsight.recording.playback_fragments import retime_fragment
from clearsight.recording.playback_reader import SegmentCursor
from clearsight.recording.records import SegmentRecord, SegmentState

TARGET_SECONDS = 2.0  # an HLS segment ends at the first indexed keyframe this long after it began
MAX_PLAYLIST_SPAN = timedelta(hours=2)  # recorded time one playlist covers; later material: a new session
MAX_RECORDED_SEGMENTS = 500  # recorded segments one playlist reads from the index
HLS_VERSION = 7  # RFC 8216 §4.3.1.2: fMP4 segments with EXT-X-MAP need version 6 or later
READ_BATCH = 50


@dataclass(frozen=True, slots=True)
class HlsPart:
    """One HLS segment: fragments [start_offset, end_offset) of one recorded segment's file."""

    number: int
    segment: SegmentRecord
    start_offset: int | None  # a keyframe's moof; None: the file's first fragment
    end_offset: int | None  # the next part's keyframe; None: the end of the file
    recorded_at: datetime
    duration: float  # seconds
    media_start: int  # 90 kHz ticks on the playlist's media timeline
    after_gap: bool


@dataclass(frozen=True, slots=True)
class HlsPlan:
    parts: tuple[HlsPart, ...]
    complete: bool  # no open segment in it: the playlist is final

    def part(self, number: int) -> HlsPart | None:
        return self.parts[number] if 0 <= number < len(self.parts) else None

    def segment(self, segment_id: int) -> SegmentRecord | None:
        return next((p.segment for p in self.parts if p.segment.id == segment_id), None)

    def playlist(self, query: str) -> str:
        suffix = f"?{query}" if query else ""
        target = max(1, math.ceil(max((p.duration for p in self.parts), default=1.0)))
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target}",
                 "#EXT-X-MEDIA-SEQUENCE:0", f"#EXT-X-PLAYLIST-TYPE:{'VOD' if self.complete else 'EVENT'}",
                 "#EXT-X-INDEPENDENT-SEGMENTS"]
        previous: SegmentRecord | None = None
        for part in self.parts:
            if part.segment is not previous:
                if part.after_gap:
                    lines.append("#EXT-X-DISCONTINUITY")
                lines.append(f'#EXT-X-MAP:URI="init/{part.segment.id}.mp4{suffix}"')
                previous = part.segment
            moment = part.recorded_at.isoformat(timespec="milliseconds")
            lines += [f"#EXT-X-PROGRAM-DATE-TIME:{moment}", f"#EXTINF:{part.duration:.3f},",
                      f"seg/{part.number}.m4s{suffix}"]
        if self.complete:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


def _keyframes_from(segment: SegmentRecord, start: StartPoint | None) -> list[tuple[datetime, int | None]]:
    """(instant, moof offset) of the segment's indexed keyframes from where playback starts in it."""
    first: tuple[datetime, int | None] = (start.time, start.offset) if start is not None else (segment.start_at, None)
    later = [(segment.start_at + timedelta(milliseconds=ms), offset) for offset, ms in segment.keyframes]
    return [first] + [k for k in later if k[0] > first[0]]


async def plan_playlist(index: SegmentIndex, channel_id: int, start: StartPoint) -> HlsPlan:
    """The HLS segments of the recorded material from `start` (see the module docstring)."""
    until = start.time + MAX_PLAYLIST_SPAN
    segments = [s for s in await index.segments_from(channel_id, start.time, MAX_RECORDED_SEGMENTS)
                if s.start_at < until and s.start_at >= start.segment.start_at]
    parts: list[HlsPart] = []
    media = 0
    complete = True
    last_end: datetime | None = None
    for segment in segments:
        growing = segment.state is SegmentState.OPEN
        complete = complete and not growing
        keyframes = _keyframes_from(segment, start if segment.id == start.segment.id else None)
        cuts: list[tuple[datetime, int | None]] = []
        for keyframe in keyframes:
            if not cuts or (keyframe[0] - cuts[-1][0]).total_seconds() >= TARGET_SECONDS:
                cuts.append(keyframe)
        # A closed segment's last part runs to its end; an open one's only to its last indexed keyframe.
        ends: list[tuple[datetime, int | None]] = cuts[1:] + ([] if growing else [(segment.end_at, None)])
        after_gap = last_end is not None and segment.start_at - last_end > GAP_TOLERANCE
        for (at, offset), (end_at, end_offset) in zip(cuts, ends, strict=False):
            seconds = (end_at - at).total_seconds()
            if seconds <= 0:
                continue
            parts.append(HlsPart(len(parts), segment, offset, end_offset, at, seconds, media, after_gap))
            after_gap = False
            media += round(seconds * PTS_CLOCK_HZ)
        last_end = segment.end_at
    return HlsPlan(tuple(parts), complete and bool(parts))


def init_of(path: Path) -> bytes:
    """The file's init segment (blocking)."""
    with SegmentCursor(path) as cursor:
        return cursor.init


def build_segment(path: Path, part: HlsPart) -> bytes:
    """The part's fragments from the file, on the playlist's media timeline (blocking: call in a worker thread)."""
    pieces: list[bytes] = []
    with SegmentCursor(path, start_offset=part.start_offset) as cursor:
        first: int | None = None
        sequence = 0
        while not cursor.exhausted:
            for sample in cursor.read(READ_BATCH):
                if part.end_offset is not None and sample.offset >= part.end_offset:
                    return b"".join(pieces)
                first = sample.ticks if first is None else first
                sequence += 1
                pieces.append(retime_fragment(sample.data, sequence=sequence,
                                              decode_time=part.media_start + sample.ticks - first,
                                              duration=sample.duration, source_duration=sample.duration))
    return b"".join(pieces)
