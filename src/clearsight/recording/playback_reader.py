"""Reading a recorded segment's fragments for playback, from a keyframe on (blocking file I/O: a worker thread).

A segment file is an init segment (ftyp + moov) and one moof + mdat per frame (`SegmentWriter`), so playback
needs no demuxer: `SegmentCursor` hands out the init bytes once and then whole fragments as they are on disk,
each with its time from the segment's first fragment. It starts at a keyframe's moof (the byte offset the index
keeps) and reads only complete fragments, so a segment still being written is read up to what is whole now.
With `keyframes_only` it skips the other frames (their moof headers are read, their mdat is not) and gives each
keyframe the duration up to the next one, so that the pictures cover the time without holes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from clearsight.media.fmp4 import PTS_CLOCK_HZ
from clearsight.recording.fmp4_scan import InitSection, ScannedFragment, UnreadableSegment, read_fragment, read_init

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordedSample:
    """One recorded fragment: its bytes as on disk, and its time in 90 kHz ticks after the segment's start."""

    offset: int  # of its moof in the file
    end: int  # after its mdat
    data: bytes
    keyframe: bool
    ticks: int
    duration: int  # 90 kHz ticks it lasts (keyframes only: until the next keyframe)


def _to_90k(value: int, timescale: int) -> int:
    return value if timescale == PTS_CLOCK_HZ else round(value * PTS_CLOCK_HZ / timescale)


class SegmentCursor:
    """Open with `with`; raises `UnreadableSegment` (or OSError) when the file has no readable init segment."""

    def __init__(self, path: Path, *, start_offset: int | None = None) -> None:
        self.path = path
        self._file = path.open("rb")
        try:
            size = os.fstat(self._file.fileno()).st_size
            self._init: InitSection = read_init(self._file, size, name=str(path))
            self._file.seek(0)
            self.init = self._file.read(self._init.init_end)
            first = read_fragment(self._file, self._init.init_end, size, self._init.defaults)
            if first is None:
                raise UnreadableSegment(str(path), "no complete fragment")
            self._origin = first.decode_time
            self._position = self._init.init_end
            if start_offset is not None and start_offset > self._init.init_end:
                at = read_fragment(self._file, start_offset, size, self._init.defaults)
                if at is not None and at.keyframe:
                    self._position = start_offset
                else:
                    logger.warning("%s: no keyframe at indexed offset %d; reading from the start", path,
                                   start_offset)
        except BaseException:
            self._file.close()
            raise
        self.exhausted = False

    def __enter__(self) -> SegmentCursor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def position(self) -> int:
        """The byte offset of the next fragment to read."""
        return self._position

    def move_to(self, offset: int) -> None:
        """Continue at the fragment at `offset` (one handed out earlier)."""
        self._position = max(offset, self._init.init_end)
        self.exhausted = False

    def read(self, max_samples: int, *, keyframes_only: bool = False) -> list[RecordedSample]:
        """Up to `max_samples` fragments from the position on; fewer, and `exhausted`, at the end of the file."""
        size = os.fstat(self._file.fileno()).st_size
        samples: list[RecordedSample] = []
        while len(samples) < max_samples:
            fragment = self._next(size, keyframes_only)
            if fragment is None:
                self.exhausted = True
                break
            duration = _to_90k(fragment.duration, self._init.timescale)
            if keyframes_only:
                duration = _to_90k(self._until_next_keyframe(size, fragment.decode_time + fragment.duration)
                                   - fragment.decode_time, self._init.timescale)
            self._file.seek(fragment.offset)
            data = self._file.read(fragment.end - fragment.offset)
            samples.append(RecordedSample(fragment.offset, fragment.end, data, fragment.keyframe,
                                          _to_90k(fragment.decode_time - self._origin, self._init.timescale),
                                          max(1, duration)))
        return samples

    def _next(self, size: int, keyframes_only: bool) -> ScannedFragment | None:
        """The next (key)frame's fragment from the position, which moves past it."""
        offset = self._position
        while (fragment := read_fragment(self._file, offset, size, self._init.defaults)) is not None:
            offset = fragment.end
            if not keyframes_only or fragment.keyframe:
                self._position = offset
                return fragment
        self._position = offset  # non-key frames at the end of the file: nothing to show from them
        return None

    def _until_next_keyframe(self, size: int, fallback: int) -> int:
        """The decode time of the next keyframe after the position, or the end of the file's last fragment."""
        offset, end = self._position, None
        while (fragment := read_fragment(self._file, offset, size, self._init.defaults)) is not None:
            if fragment.keyframe:
                return fragment.decode_time
            end = fragment.decode_time + fragment.duration
            offset = fragment.end
        return end if end is not None else fallback
