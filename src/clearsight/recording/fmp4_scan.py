"""What a segment file holds, read from its boxes (ISO/IEC 14496-12): for start-up repair of cut-off files.

`scan_segment` walks the top-level boxes of a fragmented MP4 written by `SegmentWriter` (ftyp, moov, then a
moof + mdat per frame), reading only box headers and the small moof boxes (mdat payloads are skipped by
seeking). It returns the init segment's extent, the track's timescale and codec, and every *complete*
fragment: its byte range, whether its first sample is a sync sample (a keyframe), its decode time and
duration. `valid_end` is where the last complete fragment ends: a file cut anywhere by a crash is whole
again when truncated there.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

BOX_HEADER = struct.Struct(">I4s")
LARGE_SIZE = struct.Struct(">Q")
MAX_MOOF_BYTES = 1 << 20  # a moof is ~100 bytes a frame; a larger one is damage, not a fragment
MAX_MOOV_BYTES = 16 << 20
SAMPLE_IS_NON_SYNC = 0x0001_0000  # 14496-12 §8.8.3.1 sample_flags: sample_is_non_sync_sample
# tfhd flags (§8.8.7)
TFHD_BASE_DATA_OFFSET, TFHD_SAMPLE_DESCRIPTION = 0x01, 0x02
TFHD_DEFAULT_DURATION, TFHD_DEFAULT_SIZE, TFHD_DEFAULT_FLAGS = 0x08, 0x10, 0x20
# trun flags (§8.8.8)
TRUN_DATA_OFFSET, TRUN_FIRST_SAMPLE_FLAGS = 0x01, 0x04
TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO = 0x100, 0x200, 0x400, 0x800
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf"})


class UnreadableSegment(Exception):
    """The file does not start with an init segment we can read."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ScannedFragment:
    offset: int  # of the moof
    end: int  # after its mdat
    keyframe: bool
    decode_time: int  # in the track's timescale
    duration: int


@dataclass(frozen=True, slots=True)
class SegmentScan:
    init_end: int
    timescale: int
    codec: str  # RFC 6381 for avc1; the sample entry's four-character code otherwise
    fragments: tuple[ScannedFragment, ...]
    valid_end: int
    file_size: int

    @property
    def span(self) -> int:
        """Decode-time span of the complete fragments, in the timescale."""
        if not self.fragments:
            return 0
        last = self.fragments[-1]
        return last.decode_time + last.duration - self.fragments[0].decode_time


@dataclass(slots=True)
class TrackDefaults:
    duration: int = 0
    size: int = 0
    flags: int = 0


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    boxes: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end:
        size, kind = BOX_HEADER.unpack_from(data, offset)
        header = 8
        if size == 1 and offset + 16 <= end:
            size, header = LARGE_SIZE.unpack_from(data, offset + 8)[0], 16
        if size < header or offset + size > end:
            break
        boxes.append((kind, offset + header, offset + size))
        offset += size
    return boxes


def _find(data: bytes, start: int, end: int, path: list[bytes]) -> list[tuple[int, int]]:
    """Payload ranges of the boxes at `path` below data[start:end]."""
    found: list[tuple[int, int]] = []
    head, rest = path[0], path[1:]
    for kind, payload, box_end in _children(data, start, end):
        if kind != head:
            continue
        if rest:
            found.extend(_find(data, payload, box_end, rest))
        else:
            found.append((payload, box_end))
    return found


def _read_moov(moov: bytes) -> tuple[int, str, TrackDefaults]:
    timescale = 0
    for payload, _ in _find(moov, 0, len(moov), [b"trak", b"mdia", b"mdhd"]):
        version = moov[payload]
        timescale = struct.unpack_from(">I", moov, payload + (20 if version == 1 else 12))[0]
        break
    codec = ""
    for payload, end in _find(moov, 0, len(moov), [b"trak", b"mdia", b"minf", b"stbl", b"stsd"]):
        entries = _children(moov, payload + 8, end)  # version/flags and entry_count first
        if entries:
            kind, entry_payload, entry_end = entries[0]
            codec = kind.decode("latin-1")
            if kind in (b"avc1", b"avc3"):
                # VisualSampleEntry: 78 bytes of fields, then boxes; avcC's bytes 1-3 are profile,
                # compatibility and level (RFC 6381 §3.3).
                for avcc, _ in _find(moov, entry_payload + 78, entry_end, [b"avcC"]):
                    codec = f"{codec}.{moov[avcc + 1:avcc + 4].hex()}"
        break
    defaults = TrackDefaults()
    for payload, _ in _find(moov, 0, len(moov), [b"mvex", b"trex"]):
        _, _, _, duration, size, flags = struct.unpack_from(">IIIIII", moov, payload)
        defaults = TrackDefaults(duration, size, flags)
        break
    return timescale, codec, defaults


def _read_moof(moof: bytes, track: TrackDefaults) -> tuple[bool, int, int]:
    """(first sample is sync, base decode time, total duration) of a one-track moof."""
    keyframe, decode_time, duration = False, 0, 0
    for traf, traf_end in _find(moof, 0, len(moof), [b"traf"]):
        defaults = TrackDefaults(track.duration, track.size, track.flags)
        for kind, payload, _ in _children(moof, traf, traf_end):
            if kind == b"tfhd":
                flags = int.from_bytes(moof[payload + 1:payload + 4], "big")
                cursor = payload + 8  # version/flags, track_ID
                if flags & TFHD_BASE_DATA_OFFSET:
                    cursor += 8
                if flags & TFHD_SAMPLE_DESCRIPTION:
                    cursor += 4
                if flags & TFHD_DEFAULT_DURATION:
                    defaults.duration = struct.unpack_from(">I", moof, cursor)[0]
                    cursor += 4
                if flags & TFHD_DEFAULT_SIZE:
                    defaults.size = struct.unpack_from(">I", moof, cursor)[0]
                    cursor += 4
                if flags & TFHD_DEFAULT_FLAGS:
                    defaults.flags = struct.unpack_from(">I", moof, cursor)[0]
            elif kind == b"tfdt":
                version = moof[payload]
                decode_time = struct.unpack_from(">Q" if version == 1 else ">I", moof, payload + 4)[0]
            elif kind == b"trun":
                flags = int.from_bytes(moof[payload + 1:payload + 4], "big")
                count = struct.unpack_from(">I", moof, payload + 4)[0]
                cursor = payload + 8
                if flags & TRUN_DATA_OFFSET:
                    cursor += 4
                first_flags: int | None = None
                if flags & TRUN_FIRST_SAMPLE_FLAGS:
                    first_flags = struct.unpack_from(">I", moof, cursor)[0]
                    cursor += 4
                for index in range(count):
                    sample_duration, sample_flags = defaults.duration, defaults.flags
                    if flags & TRUN_DURATION:
                        sample_duration = struct.unpack_from(">I", moof, cursor)[0]
                        cursor += 4
                    if flags & TRUN_SIZE:
                        cursor += 4
                    if flags & TRUN_FLAGS:
                        sample_flags = struct.unpack_from(">I", moof, cursor)[0]
                        cursor += 4
                    if flags & TRUN_CTO:
                        cursor += 4
                    if index == 0:
                        keyframe = not ((first_flags if first_flags is not None else sample_flags)
                                        & SAMPLE_IS_NON_SYNC)
                    duration += sample_duration
        break
    return keyframe, decode_time, duration


def _header(stream: BinaryIO, offset: int, file_size: int) -> tuple[bytes, int, int] | None:
    """(type, header size, box size) of the box at `offset`, None when it does not lie wholly in the file."""
    stream.seek(offset)
    raw = stream.read(8)
    if len(raw) < 8:
        return None
    size, kind = BOX_HEADER.unpack(raw)
    header = 8
    if size == 1:
        extended = stream.read(8)
        if len(extended) < 8:
            return None
        size, header = LARGE_SIZE.unpack(extended)[0], 16
    if size < header or offset + size > file_size:
        return None
    return kind, header, size


@dataclass(frozen=True, slots=True)
class InitSection:
    """The init segment (ftyp + moov) of a file: where it ends and what its track says."""

    init_end: int
    timescale: int
    codec: str
    defaults: TrackDefaults


def read_init(stream: BinaryIO, file_size: int, *, name: str = "segment") -> InitSection:
    """The file's init segment; raises `UnreadableSegment` when there is no ftyp + moov to start with."""
    first = _header(stream, 0, file_size)
    if first is None or first[0] != b"ftyp":
        raise UnreadableSegment(name, "no complete ftyp box at the start")
    moov_at = first[2]
    second = _header(stream, moov_at, file_size)
    if second is None or second[0] != b"moov" or second[2] > MAX_MOOV_BYTES:
        raise UnreadableSegment(name, "no complete moov box after the ftyp")
    stream.seek(moov_at + second[1])
    timescale, codec, defaults = _read_moov(stream.read(second[2] - second[1]))
    if timescale <= 0:
        raise UnreadableSegment(name, "the moov box names no track timescale")
    return InitSection(moov_at + second[2], timescale, codec, defaults)


def read_fragment(stream: BinaryIO, offset: int, file_size: int, defaults: TrackDefaults) -> ScannedFragment | None:
    """The complete fragment (moof + mdat) at `offset`, None when there is none (the end, or a cut-off one)."""
    moof = _header(stream, offset, file_size)
    if moof is None or moof[0] != b"moof" or moof[2] > MAX_MOOF_BYTES:
        return None
    stream.seek(offset + moof[1])
    keyframe, decode_time, duration = _read_moof(stream.read(moof[2] - moof[1]), defaults)
    mdat_at = offset + moof[2]
    mdat = _header(stream, mdat_at, file_size)
    if mdat is None or mdat[0] != b"mdat":
        return None
    return ScannedFragment(offset, mdat_at + mdat[2], keyframe, decode_time, duration)


def scan_segment(stream: BinaryIO, file_size: int, *, name: str = "segment") -> SegmentScan:
    """See the module docstring; raises `UnreadableSegment` when there is no ftyp + moov to start with."""
    init = read_init(stream, file_size, name=name)
    fragments: list[ScannedFragment] = []
    offset = init.init_end
    while (fragment := read_fragment(stream, offset, file_size, init.defaults)) is not None:
        fragments.append(fragment)
        offset = fragment.end
    valid_end = fragments[-1].end if fragments else init.init_end
    return SegmentScan(init.init_end, init.timescale, init.codec, tuple(fragments), valid_end, file_size)
