"""One channel's part of an export: its segments over the range, cut at keyframes into MP4 clips.

Reading starts at the keyframe at or before the range's start (so the first picture shown is complete) and
stops at the first frame at or after its end. Frames keep their recorded timing, so a gap in the recording
is a jump in the clip's timestamps as well as an entry in the manifest. A change of codec parameters
(a new resolution) starts a new clip, since one MP4 track has one set. Missing, unreadable or altered
segment files do not stop the export: they are named in the channel's `problems`. The channel's privacy
masks, unless the exporter may lift them, are burnt in (the clips are then re-encoded, as for a watermark).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clearsight.export.clip_writer import ClipSink, RemuxClip
from clearsight.export.coverage import CoverageTracker, Span
from clearsight.export.digests import file_digest
from clearsight.export.errors import ExportCancelled, SegmentUnreadable
from clearsight.export.records import ChannelPlan, ExportJob, SegmentSource, SegmentState, Tick, instant_at
from clearsight.export.reencoded_clip import ReencodedClip, Watermark
from clearsight.export.segment_reader import SegmentReader, StreamKey, TimedPacket
from clearsight.export.watermark import exporter_line
from clearsight.privacy.records import painter_for

logger = logging.getLogger(__name__)


class Integrity:
    VERIFIED = "verified"  # the file's SHA-256 is the one recorded when the segment was closed
    MISMATCH = "mismatch"  # it is not: the file changed after recording
    UNCHECKED = "unchecked"  # no hash recorded (still being written, or repaired without one)


@dataclass(frozen=True, slots=True)
class SourceUse:
    """A recorded segment a clip was cut from."""

    segment_id: int
    start_at: datetime
    end_at: datetime
    sha256: str | None
    integrity: str


@dataclass(frozen=True, slots=True)
class ClipFile:
    name: str
    path: Path
    covered: Span
    codec: str
    width: int
    height: int
    frames: int
    sources: tuple[SourceUse, ...]


@dataclass(frozen=True, slots=True)
class ChannelCut:
    plan: ChannelPlan
    clips: tuple[ClipFile, ...]
    covered: Span | None
    gaps: tuple[Span, ...]
    problems: tuple[str, ...]


@dataclass(slots=True)
class _OpenClip:
    name: str
    path: Path
    key: StreamKey
    sink: ClipSink
    origin: Tick
    last_dts: Tick = -1
    first: Tick | None = None
    end: Tick = 0
    sources: list[SourceUse] = field(default_factory=list)

    def write(self, item: TimedPacket) -> None:
        dts = max(item.time - self.origin, self.last_dts + 1)
        self.last_dts = dts
        self.sink.write(item, dts, dts + item.pts_offset)
        if self.first is None:
            self.first = item.time
        self.end = max(self.end, item.time + item.duration)


def check_integrity(segment: SegmentSource) -> str:
    if segment.sha256 is None or segment.state is SegmentState.OPEN or segment.file is None:
        return Integrity.UNCHECKED
    try:
        _, actual = file_digest(segment.file)
    except OSError:
        return Integrity.UNCHECKED  # the reader names the missing file
    return Integrity.VERIFIED if actual == segment.sha256.lower() else Integrity.MISMATCH


def clip_name(job: ExportJob, plan: ChannelPlan, first: Tick, taken: set[str]) -> str:
    instant = instant_at(job.start, first)
    stem = f"ch{plan.channel.id}_{plan.channel.gb_id or 'unknown'}_{instant:%Y%m%dT%H%M%S}Z"
    name, number = f"{stem}.mp4", 1
    while name in taken:
        number += 1
        name = f"{stem}_{number}.mp4"
    taken.add(name)
    return name


class ChannelCutter:
    """Builds one channel's clips in `workdir`; runs in a worker thread and checks `cancel` between frames."""

    def __init__(self, job: ExportJob, plan: ChannelPlan, workdir: Path, cancel: threading.Event,
                 taken_names: set[str]) -> None:
        self.job, self.plan, self.workdir, self.cancel = job, plan, workdir, cancel
        self._taken = taken_names
        self._tracker = CoverageTracker(job.length)
        self._clips: list[ClipFile] = []
        self._problems: list[str] = []
        self._current: _OpenClip | None = None
        self._started = False
        self._gop: list[TimedPacket] = []  # from the last keyframe, while the range has not started
        self._finished = False
        self._painter = painter_for(plan.applied_masks)  # one per channel: its rasters are cached per size

    def run(self) -> ChannelCut:
        try:
            for segment in self.plan.segments:
                if self._finished:
                    break
                self._read(segment)
            self._close_clip()
        except BaseException:
            if self._current is not None:
                self._current.sink.abort()
            raise
        return ChannelCut(self.plan, tuple(self._clips), self._tracker.covered, tuple(self._tracker.gaps()),
                          tuple(self._problems))

    def _read(self, segment: SegmentSource) -> None:
        integrity = check_integrity(segment)
        if integrity == Integrity.MISMATCH:
            self._problem(f"segment {segment.id}: file differs from the SHA-256 recorded when it was closed")
        try:
            reader = SegmentReader(segment, self.job.start, from_tick=None if self._started else 0)
        except SegmentUnreadable as exc:
            self._problem(str(exc))
            return
        with reader:
            used = False
            awaiting_keyframe = True
            for item in reader.packets():
                if self.cancel.is_set():
                    raise ExportCancelled(self.job.export_id)
                if awaiting_keyframe and not item.keyframe:
                    continue
                awaiting_keyframe = False
                if item.time >= self.job.length:
                    self._finished = True
                    break
                used |= self._take(item, reader)
            if reader.problem is not None:
                self._problem(reader.problem)
        if used and self._current is not None:
            self._current.sources.append(
                SourceUse(segment.id, segment.start_at, segment.end_at, segment.sha256, integrity))

    def _take(self, item: TimedPacket, reader: SegmentReader) -> bool:
        if not self._started:
            if item.keyframe:
                self._gop = [item]
            else:
                self._gop.append(item)
            if item.time < 0:
                return False
            self._started = True
            emit, self._gop = self._gop, []
        else:
            emit = [item]
        if self._current is not None and self._current.key != reader.key:
            self._close_clip()
        if self._current is None:
            self._open_clip(emit[0].time, reader)
        assert self._current is not None
        for packet in emit:
            self._current.write(packet)
            self._tracker.add(packet.time, packet.duration)
        return True

    def _open_clip(self, first: Tick, reader: SegmentReader) -> None:
        name = clip_name(self.job, self.plan, first, self._taken)
        path = self.workdir / name
        sink: ClipSink
        watermark = Watermark(exporter_line(self.job.created_by, self.job.created_at),
                              instant_at(self.job.start, first)) if self.job.watermark else None
        if watermark is not None or self._painter is not None:
            sink = ReencodedClip(path, reader.stream, masks=self._painter, watermark=watermark)
        else:
            sink = RemuxClip(path, reader.stream)
        self._current = _OpenClip(name, path, reader.key, sink, first)
        logger.info("export %s: channel %s: clip %s started", self.job.export_id, self.plan.channel.gb_id, name)

    def _close_clip(self) -> None:
        clip, self._current = self._current, None
        if clip is None or clip.first is None:
            return
        facts = clip.sink.close()
        self._clips.append(ClipFile(clip.name, clip.path, Span(clip.first, clip.end), facts.codec, facts.width,
                                    facts.height, facts.frames, tuple(clip.sources)))

    def _problem(self, text: str) -> None:
        logger.warning("export %s: channel %s: %s", self.job.export_id, self.plan.channel.gb_id, text)
        self._problems.append(text)
