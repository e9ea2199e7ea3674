"""Reading one recorded segment (fragmented MP4) as timed packets, optionally from a keyframe onwards.

A segment file is an init segment (ftyp + moov) followed by one moof + mdat per frame, so the init segment
followed by the fragments from any keyframe's moof is itself a valid fragmented MP4: to start at a keyframe,
`SplicedFile` shows PyAV the init bytes and then the file from that keyframe's offset (taken from the
segment's keyframe index). Packet times come from the file's decode timestamps, anchored to the segment's
`start_at` (or to the chosen keyframe's recorded time) and expressed in ticks from the export's start.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.error

from clearsight.export.errors import SegmentUnreadable
from clearsight.export.records import TICKS_PER_SECOND, Keyframe, SegmentSource, SegmentState, Tick, ticks_between

logger = logging.getLogger(__name__)

BOX_HEADER = 8  # ISO/IEC 14496-12 §4.2: 32-bit size, 4-character type
LARGE_BOX_HEADER = 16  # size 1: a 64-bit size follows the type
MAX_INIT_BOXES = 32  # an init segment is ftyp + moov (+ perhaps free/uuid); more is not a segment
TICKS_PER_MS = TICKS_PER_SECOND // 1000
DEFAULT_FRAME_TICKS: Tick = TICKS_PER_SECOND // 25  # when a sample carries no duration


@dataclass(frozen=True, slots=True)
class TimedPacket:
    packet: av.Packet[Any]
    time: Tick  # decode time, ticks from the export's start
    pts_offset: Tick  # presentation minus decode time
    duration: Tick
    keyframe: bool


@dataclass(frozen=True, slots=True)
class StreamKey:
    """What must stay the same for packets to go into one MP4 track."""

    codec: str
    width: int
    height: int
    extradata: bytes


def first_fragment_offset(path: Path) -> int | None:
    """Where the first moof box starts, or None when the file is a plain (unfragmented) MP4."""
    with path.open("rb") as stream:
        offset = 0
        for _ in range(MAX_INIT_BOXES):
            stream.seek(offset)
            header = stream.read(LARGE_BOX_HEADER)
            if len(header) < BOX_HEADER:
                raise ValueError("ends before its first fragment")
            size, kind = struct.unpack(">I4s", header[:BOX_HEADER])
            if kind == b"moof":
                return offset
            if kind == b"mdat":
                return None
            if size == 1 and len(header) == LARGE_BOX_HEADER:
                size = struct.unpack(">Q", header[BOX_HEADER:])[0]
            if size < BOX_HEADER:
                raise ValueError(f"box {kind!r} at {offset} has size {size}")
            offset += size
    raise ValueError(f"no fragment within the first {MAX_INIT_BOXES} boxes")


def _box_type_at(path: Path, offset: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(BOX_HEADER)[4:]


class SplicedFile(io.RawIOBase):
    """A read-only view of a file's first `head` bytes followed by its bytes from `resume` on."""

    def __init__(self, path: Path, head: int, resume: int) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._head, self._resume = head, resume
        self._size = head + max(0, path.stat().st_size - resume)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._size - self._position))
        done = 0
        while done < wanted:
            if self._position < self._head:
                part = min(wanted - done, self._head - self._position)
                self._file.seek(self._position)
            else:
                part = wanted - done
                self._file.seek(self._resume + self._position - self._head)
            count = self._file.readinto(view[done:done + part])
            if not count:
                break
            done += count
            self._position += count
        return done

    def close(self) -> None:
        self._file.close()
        super().close()


def _start_keyframe(keyframes: tuple[Keyframe, ...], target_ms: int) -> Keyframe | None:
    """The last indexed keyframe recorded at or before `target_ms` from the segment's start."""
    chosen = None
    for keyframe in keyframes:
        if keyframe.ms > target_ms:
            break
        chosen = keyframe
    return chosen


class SegmentReader:
    """Open with `with`; `packets()` yields the segment's video packets in decode order.

    `from_tick` (ticks from the export's start) asks to skip to the last indexed keyframe at or before it;
    reading still begins at a keyframe the caller must look for, since an index may be imprecise. A file
    cut short (a crash) ends the packets early; a damaged frame is left out with the frames depending on it,
    up to the next keyframe; either sets `problem`. The unfinished tail of a segment still being written is
    left out quietly: it is not damage.
    """

    def __init__(self, segment: SegmentSource, export_start: datetime, *, from_tick: Tick | None = None) -> None:
        if segment.file is None:
            raise SegmentUnreadable(segment.id, f"storage {segment.storage!r} is not configured")
        self.segment = segment
        self.problem: str | None = None
        self._origin = ticks_between(export_start, segment.start_at)
        path = segment.file
        try:
            head = first_fragment_offset(path)
            source: Any = str(path)
            if head is not None and from_tick is not None:
                keyframe = _start_keyframe(segment.keyframes, (from_tick - self._origin) // TICKS_PER_MS)
                if keyframe is not None and keyframe.offset > head and _box_type_at(path, keyframe.offset) == b"moof":
                    source = SplicedFile(path, head, keyframe.offset)
                    self._origin += keyframe.ms * TICKS_PER_MS
            self._container: Any = av.open(source, mode="r", format="mp4")
        except FileNotFoundError:
            raise SegmentUnreadable(segment.id, f"file {path} is missing") from None
        except (OSError, ValueError, av.error.FFmpegError) as exc:
            raise SegmentUnreadable(segment.id, f"file {path} is not a readable MP4: {exc}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise SegmentUnreadable(segment.id, f"file {path} has no video track")
        self.stream: Any = self._container.streams.video[0]
        context = self.stream.codec_context
        self.key = StreamKey(context.name, context.width, context.height, bytes(context.extradata or b""))

    def __enter__(self) -> SegmentReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def packets(self) -> Iterator[TimedPacket]:
        time_base: Fraction = self.stream.time_base
        scale = time_base * TICKS_PER_SECOND
        first_dts: int | None = None
        last_duration = DEFAULT_FRAME_TICKS
        count = damaged = 0
        demuxer = self._container.demux(self.stream)
        while True:
            try:
                packet = next(demuxer)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError) as exc:
                if self.segment.state is not SegmentState.OPEN:
                    self.problem = f"segment {self.segment.id}: unreadable after {count} frames ({exc})"
                    logger.warning("channel %s: %s", self.segment.channel_gb_id, self.problem)
                return
            if packet.dts is None or packet.size == 0:
                continue
            if packet.is_corrupt or (damaged and not packet.is_keyframe):
                damaged += 1
                continue
            if damaged:
                self._note_damage(damaged)
                damaged = 0
            if first_dts is None:
                first_dts = packet.dts
            pts = packet.pts if packet.pts is not None else packet.dts
            duration = round(packet.duration * scale) if packet.duration else last_duration
            last_duration = duration
            count += 1
            yield TimedPacket(packet, self._origin + round((packet.dts - first_dts) * scale),
                              round((pts - packet.dts) * scale), duration, bool(packet.is_keyframe))
        if damaged and self.segment.state is not SegmentState.OPEN:
            self._note_damage(damaged)

    def _note_damage(self, frames: int) -> None:
        note = f"{frames} damaged frame(s) (and those depending on them) left out"
        self.problem = f"segment {self.segment.id}: {note}" if self.problem is None else f"{self.problem}; {note}"
        logger.warning("channel %s: segment %d: %s", self.segment.channel_gb_id, self.segment.id, note)
