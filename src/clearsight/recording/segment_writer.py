"""A channel's hub items written to segment files, without re-encoding: init segment + fragments → fMP4 files.

`SegmentWriter.write(batch)` takes what a recorder's consumer delivered (each item with the wall-clock time it
stands for) and is meant to run in a worker thread, one call at a time per writer. It starts a segment at a
keyframe (init segment first, so every file plays on its own), and closes it at the first keyframe after
`segment_seconds` of video, when the init segment changes, when the fragments' decode times jump (the recorder
was skipped ahead), or on `close()`. Each batch is written through with one `os.write` (no userspace buffer:
after a kill -9 the file holds every batch written, at worst cut inside the last one); a closed file is
fsynced. The SHA-256 is computed while writing.

Times: a segment starts at the wall-clock time of its first fragment, or, continuing a segment of the same
stream, where that one ended plus the decode-time step between them (so consecutive segments touch), unless
that has drifted more than `DRIFT_TOLERANCE` from the wall clock. Its end is its start plus the decode-time
span of its fragments. Keyframes are indexed as (byte offset of the moof, milliseconds from the start).

The writer reports what happened as events (`SegmentOpened`, `SegmentClosed`); the recorder puts them into
the index on the event loop. A write error closes the segment at its last whole batch (the file is cut back
there) and is returned in `WriteResult.error`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clearsight.media.fmp4 import PTS_CLOCK_HZ, InitSegment, MediaFragment
from clearsight.recording.layout import segment_path
from clearsight.recording.storage import StoragePath, StoragePool

logger = logging.getLogger(__name__)

DRIFT_TOLERANCE = 2.0  # seconds a continued segment's start may differ from the wall clock
MAX_CONTINUITY_GAP = PTS_CLOCK_HZ  # a larger decode-time jump between fragments starts a new segment
FILE_MODE = 0o640
DIR_MODE = 0o750
NAME_ATTEMPTS = 10  # a taken file name moves the start by a millisecond, this many times

WriterItem = InitSegment | MediaFragment
TimedItem = tuple[WriterItem, float]  # (item, wall-clock time in seconds since the epoch)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    """What the index records about a segment (complete once closed)."""

    storage: str
    path: str  # relative to the storage root
    start_at: datetime
    end_at: datetime
    size: int
    codec: str
    keyframes: tuple[tuple[int, int], ...]  # (byte offset of the keyframe's moof, ms from start_at)
    sha256: str | None = None  # once closed


@dataclass(frozen=True, slots=True)
class SegmentOpened:
    facts: SegmentFacts


@dataclass(frozen=True, slots=True)
class SegmentClosed:
    facts: SegmentFacts
    reason: str
    discarded: bool = False  # no whole fragment reached the disk; the file was removed


SegmentEvent = SegmentOpened | SegmentClosed


@dataclass(slots=True)
class WriteResult:
    events: list[SegmentEvent] = field(default_factory=list)
    error: str | None = None  # a write failed or no storage had room; the segment (if any) is closed


class NoStorageSpace(Exception):
    """No storage path has room for a new segment."""


@dataclass(slots=True)
class _OpenSegment:
    """A segment being written: the committed (on disk) part and what waits for the next flush."""

    storage: StoragePath
    path: str
    fd: int
    start: float  # wall clock, seconds since the epoch
    first_dts: int
    codec: str
    size: int = 0
    end_dts: int = 0  # decode time after the last fragment on disk
    keyframes: list[tuple[int, int]] = field(default_factory=list)
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    pending: list[bytes] = field(default_factory=list)
    pending_size: int = 0
    pending_end_dts: int = 0
    pending_keyframes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.storage.name}/{self.path}"

    @property
    def next_dts(self) -> int:
        return self.pending_end_dts if self.pending else self.end_dts

    def end_time(self) -> float:
        return self.start + (self.end_dts - self.first_dts) / PTS_CLOCK_HZ

    def facts(self, sha256: str | None = None) -> SegmentFacts:
        return SegmentFacts(self.storage.name, self.path, _utc(self.start), _utc(self.end_time()), self.size,
                            self.codec, tuple(self.keyframes), sha256)


class SegmentWriter:
    """One recording session of one channel (a new writer for each hub stream it records)."""

    def __init__(self, channel_id: int, channel_gb_id: str, pool: StoragePool, *, segment_seconds: float,
                 preferred_storage: str | None = None) -> None:
        self.channel_id = channel_id
        self.channel_gb_id = channel_gb_id
        self.pool = pool
        self.segment_ticks = int(segment_seconds * PTS_CLOCK_HZ)
        self.preferred_storage = preferred_storage
        self._init: InitSegment | None = None
        self._segment: _OpenSegment | None = None
        self._last_end: tuple[float, int] | None = None  # (wall-clock end, end dts) of the last closed segment
        self.fragments_dropped = 0  # before a keyframe, or while no storage had room
        self.bytes_written = 0

    # --- facts -------------------------------------------------------------------------------------
    @property
    def current(self) -> SegmentFacts | None:
        """The open segment as far as it is on disk (read on the event loop while a write may close it)."""
        segment = self._segment
        return segment.facts() if segment is not None else None

    @property
    def current_storage(self) -> StoragePath | None:
        return self._segment.storage if self._segment is not None else None

    @property
    def last_end_at(self) -> datetime | None:
        """Where the recorded video of this session ends so far (None: nothing written yet)."""
        if self._segment is not None and self._segment.size:
            return _utc(self._segment.end_time())
        return _utc(self._last_end[0]) if self._last_end is not None else None

    # --- writing (in a worker thread) ---------------------------------------------------------------
    def write(self, batch: Sequence[TimedItem], *, discontinuity: bool = False) -> WriteResult:
        """Write a batch; `discontinuity`: fragments were dropped before it (the consumer was skipped ahead)."""
        result = WriteResult()
        try:
            if discontinuity and self._segment is not None:
                self._close(result, "recorder fell behind")
            for item, wall in batch:
                if isinstance(item, InitSegment):
                    if self._init is None or item.data != self._init.data:
                        if self._segment is not None:
                            self._close(result, "new init segment")
                        self._init = item
                else:
                    self._fragment(item, wall, result)
            if self._segment is not None:
                self._flush(self._segment)
        except NoStorageSpace as exc:
            result.error = str(exc)
        except OSError as exc:
            result.error = f"storage write failed: {exc.strerror or exc}"
            self._fail(result, result.error)
        return result

    def close(self, reason: str = "recording stopped") -> WriteResult:
        result = WriteResult()
        try:
            if self._segment is not None:
                self._close(result, reason)
        except OSError as exc:
            result.error = f"storage write failed: {exc.strerror or exc}"
            self._fail(result, result.error)
        return result

    def _fragment(self, fragment: MediaFragment, wall: float, result: WriteResult) -> None:
        segment = self._segment
        if segment is not None:
            step = fragment.dts - segment.next_dts
            if step < -MAX_CONTINUITY_GAP or step > MAX_CONTINUITY_GAP:
                self._close(result, "decode times jumped")
            elif fragment.keyframe and fragment.dts - segment.first_dts >= self.segment_ticks:
                self._close(result, "length reached")
        if self._segment is None:
            if not fragment.keyframe or self._init is None:
                self.fragments_dropped += 1
                return
            try:
                self._open(fragment, wall, self._init, result)
            except NoStorageSpace:
                self.fragments_dropped += 1
                raise
        segment = self._segment
        assert segment is not None
        if fragment.keyframe:
            offset = segment.size + segment.pending_size
            segment.pending_keyframes.append((offset, (fragment.dts - segment.first_dts) // (PTS_CLOCK_HZ // 1000)))
        segment.pending.append(fragment.data)
        segment.pending_size += len(fragment.data)
        segment.pending_end_dts = fragment.dts + fragment.duration

    def _start_time(self, fragment: MediaFragment, wall: float) -> float:
        if self._last_end is not None:
            end, end_dts = self._last_end
            if fragment.dts >= end_dts:
                continued = end + (fragment.dts - end_dts) / PTS_CLOCK_HZ
                if abs(continued - wall) <= DRIFT_TOLERANCE:
                    return continued
        return wall

    def _open(self, fragment: MediaFragment, wall: float, init: InitSegment, result: WriteResult) -> None:
        storage = self.pool.choose(self.preferred_storage)
        if storage is None:
            raise NoStorageSpace("no storage space: every storage path is full")
        start = self._start_time(fragment, wall)
        fd, path = -1, ""
        for attempt in range(NAME_ATTEMPTS):
            path = segment_path(self.channel_id, self.channel_gb_id, _utc(start + attempt / 1000))
            full = storage.root / path
            full.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            try:
                fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
            except FileExistsError:
                continue
            start += attempt / 1000
            _fsync_dir(full.parent)
            break
        else:
            raise FileExistsError(f"segment names for {path} are all taken")
        segment = _OpenSegment(storage, path, fd, start, fragment.dts, init.parameters.codec_string,
                               end_dts=fragment.dts, pending_end_dts=fragment.dts)
        segment.pending.append(init.data)
        segment.pending_size = len(init.data)
        self._segment = segment
        self.pool.open_written(segment.key, storage.name, 0)
        result.events.append(SegmentOpened(segment.facts()))
        logger.info("channel %d: recording to %s:%s", self.channel_id, storage.name, path)

    def _flush(self, segment: _OpenSegment) -> None:
        if not segment.pending:
            return
        data = b"".join(segment.pending) if len(segment.pending) > 1 else segment.pending[0]
        view = memoryview(data)
        while view:
            written = os.write(segment.fd, view)
            view = view[written:]
        segment.sha.update(data)
        segment.size += len(data)
        self.bytes_written += len(data)
        segment.end_dts = segment.pending_end_dts
        segment.keyframes.extend(segment.pending_keyframes)
        segment.pending.clear()
        segment.pending_keyframes.clear()
        segment.pending_size = 0
        self.pool.open_written(segment.key, segment.storage.name, segment.size)

    def _close(self, result: WriteResult, reason: str) -> None:
        segment = self._segment
        assert segment is not None
        self._flush(segment)  # a failure here leaves the segment to _fail
        self._segment = None
        try:
            os.fsync(segment.fd)
        except OSError as exc:
            logger.warning("channel %d: fsync of %s failed: %s", self.channel_id, segment.path, exc)
        finally:
            os.close(segment.fd)
        self._finish(segment, result, reason)

    def _finish(self, segment: _OpenSegment, result: WriteResult, reason: str) -> None:
        self.pool.open_closed(segment.key)
        discarded = not segment.keyframes  # nothing playable reached the disk: the file goes
        if discarded:
            try:
                os.unlink(segment.storage.root / segment.path)
            except OSError as exc:
                logger.warning("channel %d: cannot remove empty segment %s: %s", self.channel_id, segment.path, exc)
        else:
            self.pool.indexed_changed(segment.storage.name, segment.size)
            self._last_end = (segment.end_time(), segment.end_dts)
        result.events.append(SegmentClosed(segment.facts(segment.sha.hexdigest()), reason, discarded))

    def _fail(self, result: WriteResult, reason: str) -> None:
        """After a write error: cut the file back to its last whole batch and close it."""
        segment, self._segment = self._segment, None
        if segment is None:
            return
        segment.pending.clear()
        segment.pending_keyframes.clear()
        segment.pending_size = 0
        try:
            os.ftruncate(segment.fd, segment.size)
            os.fsync(segment.fd)
        except OSError as exc:
            logger.warning("channel %d: cannot cut %s back after a write error: %s", self.channel_id, segment.path,
                           exc)
        finally:
            os.close(segment.fd)
        logger.warning("channel %d: %s; segment %s closed at %d bytes", self.channel_id, reason, segment.path,
                       segment.size)
        self._finish(segment, result, reason)


def _fsync_dir(path: os.PathLike[str]) -> None:
    """Make a new directory entry durable (a crash of the machine, not only of the process)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
