"""Demultiplex an MPEG-2 Program Stream (ISO/IEC 13818-1 §2.5) into elementary-stream frames, sans-I/O.

GB/T 28181 devices send H.264/H.265 (and G.711/AAC audio) in a PS carried over RTP. RTP payloads cut the PS
anywhere, so `PsDemuxer.feed` takes arbitrary chunks and `next_frame` returns whole frames once they are known
to be complete. Devices deviate from the standard in many ways; each deviation is tolerated and counted:
a missing or wrong program stream map, missing timestamps, garbage between packets, truncated PES packets.

Like h11's receive buffer, the demuxer never rescans bytes it has already searched: each input byte is
looked at a bounded number of times, whatever the input, and the buffer is capped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from clearsight.media.es import (
    AUDIO_STREAM_IDS,
    CODEC_STREAM_TYPES,
    STREAM_TYPE_CODECS,
    VIDEO_STREAM_IDS,
    Codec,
    EsFrame,
    begins_access_unit,
    guess_video_codec,
    has_vcl,
    is_keyframe,
)

__all__ = [
    "CODEC_STREAM_TYPES",
    "Codec",
    "EsFrame",
    "PsDemuxStats",
    "PsDemuxer",
    "crc32_mpeg",
    "decode_timestamp",
    "guess_video_codec",
    "is_keyframe",
]

logger = logging.getLogger(__name__)

START_CODE_PREFIX = b"\x00\x00\x01"
_START_CODE_4 = b"\x00\x00\x00\x01"  # H.264/H.265 Annex B: zero_byte + start_code_prefix_one_3bytes
MIN_SYSTEM_STREAM_ID = 0xB9  # 13818-1 Table 2-18: codes B9–FF are system start codes; video ES never uses them
PROGRAM_END_CODE = 0xB9  # MPEG_program_end_code
PACK_START_CODE = 0xBA  # pack_start_code
SYSTEM_HEADER_START_CODE = 0xBB  # system_header_start_code
PROGRAM_STREAM_MAP_ID = 0xBC  # program_stream_map
MPEG2_PACK_HEADER_BYTES = 14  # pack_header up to pack_stuffing_length (13818-1 §2.5.3.3)
MPEG1_PACK_HEADER_BYTES = 12  # ISO/IEC 11172-1 §2.4.3.2 pack header
PES_PREFIX_BYTES = 6  # packet_start_code_prefix, stream_id, PES_packet_length
PSM_MIN_LENGTH = 10  # program_stream_map_length with no descriptors and no entries (flags, lengths, CRC_32)
TIMESTAMP_MASK = (1 << 33) - 1  # PTS, DTS and SCR base count a 90 kHz clock in 33 bits
MAX_BUFFER_BYTES = 4 * 1024 * 1024  # buffered input or one frame past this is dropped and the parser resyncs
MPEG1_MAX_STUFFING = 16  # 11172-1 §2.4.3.3: at most 16 stuffing bytes in a packet header
MAX_PSM_BYTES = 1024  # a real map lists a few streams; longer ones are skipped unread (CRC costs CPU)
MAX_NAL_HEADS = 64  # NAL unit headers remembered per frame for keyframe and codec detection
CRC32_MPEG_POLY = 0x04C11DB7  # CRC_32 of 13818-1 Annex A: MSB first, initial value all ones, no final XOR

_NEED_MORE = 0
_INVALID = -1


@dataclass(slots=True)
class PsDemuxStats:
    frames: int = 0  # frames returned (video access units and audio PES payloads)
    bytes_skipped: int = 0  # bytes discarded while looking for a start code, or dropped on overflow
    resyncs: int = 0  # times the parser lost the packet boundaries and searched for the next start code
    crc_errors: int = 0  # program stream maps whose CRC_32 did not match
    truncated_pes: int = 0  # PES packets cut short by the next pack/system start code
    overflows: int = 0  # times the buffer or one frame passed the cap and was dropped
    discontinuities: int = 0  # input losses announced by the caller (`discontinuity()`)
    frames_dropped: int = 0  # frames discarded because input of them was lost


def _crc32_mpeg_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ CRC32_MPEG_POLY) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc32_mpeg_table()


def crc32_mpeg(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/MPEG-2; over a whole PSM including its CRC_32 field it is 0 when the CRC is right."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def decode_timestamp(data: bytes | bytearray, offset: int) -> tuple[int, bool]:
    """The 33-bit PTS/DTS/SCR in the 5-byte `xxxx vvv1 | v*15 1 | v*15 1` layout, and whether the markers are set."""
    b0, b1, b2, b3, b4 = data[offset : offset + 5]
    value = ((b0 >> 1) & 0x07) << 30 | b1 << 22 | (b2 >> 1) << 15 | b3 << 7 | b4 >> 1
    return value, bool(b0 & b2 & b4 & 0x01)


# --- NAL unit headers (H.264 §7.3.1, H.265 §7.3.1.2) ---

def _find_system_start(buf: bytearray, start: int, end: int) -> tuple[int, int]:
    """(index of the first `00 00 01 xx` with xx ≥ B9 in buf[start:end] or -1, where a later search resumes)."""
    pos = start
    while True:
        idx = buf.find(START_CODE_PREFIX, pos, end)
        if idx < 0:
            return -1, max(pos, end - 2)
        if idx + 3 >= end:
            return -1, idx
        if buf[idx + 3] >= MIN_SYSTEM_STREAM_ID:
            return idx, idx
        pos = idx + 1


def _nal_head_offsets(buf: bytearray, start: int, end: int, codec: Codec = Codec.UNKNOWN) -> list[int]:
    """Offsets of the NAL unit headers (the bytes after each `00 00 01`) in Annex-B bytes buf[start:end].

    For H.264 or H.265 the search stops at the first VCL NAL unit (a slice): the NAL units after it add nothing
    to what the headers are read for (keyframe, access unit start), and searching the slice data costs time.
    """
    heads: list[int] = []
    pos = start
    while len(heads) < MAX_NAL_HEADS:
        idx = buf.find(START_CODE_PREFIX, pos, end)
        if idx < 0 or idx + 3 >= end:
            break
        pos = idx + 3
        heads.append(pos)
        if (codec is Codec.H264 and 1 <= buf[pos] & 0x1F <= 5) or (codec is Codec.H265 and buf[pos] >> 1 & 0x3F <= 31):
            break  # H.264 §7.4.1 Table 7-1 slices 1–5; H.265 §7.4.2.2 Table 7-1 VCL types 0–31
    return heads


@dataclass(slots=True)
class _AccessUnit:
    stream_id: int
    pts: int | None
    dts: int | None
    pack_index: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    heads: list[bytes] = field(default_factory=list)
    dropped: bool = False  # passed the size cap: the rest of it is skipped, nothing is emitted
    sliced: bool = False  # a slice (VCL NAL unit) of a known codec is among `heads`: later PES are not searched


class PsDemuxer:
    """Feed PS bytes in any chunking; take `EsFrame`s with `next_frame()` (or iterate `frames()`).

    A video frame ends where the next one begins: at a PES with a different PTS, or — for devices that send
    no PTS or the same one — at a PES after a new pack header whose first NAL unit starts an access unit.
    A caller that knows where frames end (the RTP marker bit) says so with `feed(data, frame_end=True)`: the
    frame then comes out at once. Call `discontinuity()` when input was lost, and `flush()` at the end of
    the stream to get the last frame.
    """

    def __init__(self, *, label: str = "", max_buffer: int = MAX_BUFFER_BYTES) -> None:
        self.stats = PsDemuxStats()
        self.last_scr: int | None = None
        self._label = label
        self._max_buffer = max_buffer
        self._buf = bytearray()
        self._frames: deque[EsFrame] = deque()
        self._units: dict[int, _AccessUnit] = {}
        self._psm_codecs: dict[int, Codec] = {}
        self._guessed: dict[int, Codec] = {}
        self._pack_index = 0
        self._in_sync = True
        self._searched = 0  # how far the packet at buf[0] has been searched for a start code
        self._skip_from = 1  # where the garbage search starts after the packet at buf[0] proved false
        self._final = False
        self._warned: set[str] = set()

    @property
    def codecs(self) -> dict[int, Codec]:
        """stream_id → codec as the last program stream map declared it."""
        return dict(self._psm_codecs)

    def feed(self, data: bytes | bytearray | memoryview, *, frame_end: bool = False) -> None:
        """The next bytes of the stream, cut anywhere.

        `frame_end`: the sender says a frame ends with these bytes. They are parsed to their end (a video PES
        without a length ends there too) and, if no packet is left half-received, the video frames in
        progress are released now instead of when the next frame's PES arrives. A packet still incomplete
        means the sender's frame boundary is not one: nothing is released early then.
        """
        size, step = len(data), self._max_buffer
        for offset in range(0, size, step):
            self._buf += data[offset : offset + step]
            if frame_end and offset + step >= size:
                self._parse_final()
            else:
                self._parse()
            if len(self._buf) > self._max_buffer:
                self._warn("overflow", "%d buffered bytes without a complete packet; dropped", len(self._buf))
                self._drop_buffer()
        if frame_end:
            if not size:
                self._parse_final()
            if len(self._buf) < 4:  # no packet begun and not finished (at most a few bytes of garbage)
                self._emit_all()

    def discontinuity(self) -> None:
        """Input was lost (e.g. an RTP sequence gap): drop the partial packet and every frame in progress.

        The parser then resynchronises on the next start code, checking it as after garbage.
        """
        self.stats.discontinuities += 1
        self.stats.bytes_skipped += len(self._buf)
        self._buf.clear()
        self._searched = 0
        self._skip_from = 1
        self._in_sync = False
        units, self._units = self._units, {}
        for unit in units.values():
            if not unit.dropped:
                self.stats.frames_dropped += 1
                self.stats.bytes_skipped += unit.size

    def next_frame(self) -> EsFrame | None:
        return self._frames.popleft() if self._frames else None

    def frames(self) -> Iterator[EsFrame]:
        while self._frames:
            yield self._frames.popleft()

    def flush(self) -> None:
        """End of stream: parse what is left as far as possible and release every frame in progress."""
        self._parse_final()
        if self._buf:
            self.stats.bytes_skipped += len(self._buf)
            self._buf.clear()
        self._searched = 0
        self._emit_all()

    def _parse_final(self) -> None:
        """Parse as if no more bytes followed: a packet ending exactly at the end of the buffer is taken."""
        self._final = True
        try:
            self._parse()
        finally:
            self._final = False

    # --- framing ---

    def _parse(self) -> None:
        buf = self._buf
        while len(buf) >= 4:
            if buf[0] != 0 or buf[1] != 0 or buf[2] != 1 or buf[3] < MIN_SYSTEM_STREAM_ID:
                if not self._skip_garbage(1):
                    return
                continue
            stream_id = buf[3]
            if stream_id == PACK_START_CODE:
                used = self._parse_pack_header()
            elif stream_id == PROGRAM_STREAM_MAP_ID:
                used = self._parse_psm()
            elif stream_id in VIDEO_STREAM_IDS or stream_id in AUDIO_STREAM_IDS:
                used = self._parse_pes(stream_id)
            elif stream_id == PROGRAM_END_CODE:
                used = 4
                self._emit_all()
            else:  # system header, private streams, padding, ECM/EMM, directory…: skipped
                used = self._parse_skipped()
            if used == _NEED_MORE:
                return
            self._searched = 0
            if used == _INVALID:
                skip_from, self._skip_from = self._skip_from, 1
                if not self._skip_garbage(skip_from):
                    return
                continue
            del buf[:used]
            self._in_sync = True

    def _skip_garbage(self, start: int) -> bool:
        """Drop bytes up to the next system start code at or after `start`; False if none is buffered yet."""
        if self._in_sync:
            self._in_sync = False
            self.stats.resyncs += 1
            self._warn("resync", "lost packet boundaries; searching for the next start code")
        buf = self._buf
        idx, resume = _find_system_start(buf, min(start, len(buf)), len(buf))
        drop = idx if idx >= 0 else resume
        if drop:
            del buf[:drop]
            self.stats.bytes_skipped += drop
        return idx >= 0

    def _check_extent(self, total: int) -> int:
        """`total` if the packet buf[:total] may be taken, _NEED_MORE, or _INVALID.

        Out of sync the start code may be a false one inside garbage: accept it only when no system start
        code lies inside its declared extent and one follows right after it.
        """
        buf = self._buf
        if self._in_sync:
            return total if len(buf) >= total else _NEED_MORE
        idx, self._searched = _find_system_start(buf, max(4, self._searched), min(total, len(buf)))
        if idx >= 0:
            self._skip_from = idx
            return _INVALID
        if len(buf) < total + 3:
            return total if self._final and len(buf) >= total else _NEED_MORE
        if buf[total : total + 3] == START_CODE_PREFIX:
            return total
        self._skip_from = max(1, total - 3)
        return _INVALID

    def _parse_pack_header(self) -> int:
        buf = self._buf
        if len(buf) < 5:
            return _NEED_MORE
        if buf[4] >> 6 == 0b01:  # MPEG-2 (13818-1 §2.5.3.3)
            if len(buf) < MPEG2_PACK_HEADER_BYTES:
                return _NEED_MORE
            total = MPEG2_PACK_HEADER_BYTES + (buf[13] & 0x07)
            b4, b6, b8 = buf[4], buf[6], buf[8]
            markers = bool(b4 & b6 & b8 & 0x04) and bool(buf[9] & 0x01) and buf[12] & 0x03 == 0x03
            scr = ((b4 >> 3) & 0x07) << 30 | (b4 & 0x03) << 28 | buf[5] << 20 | (b6 >> 3) << 15 \
                | (b6 & 0x03) << 13 | buf[7] << 5 | b8 >> 3
        elif buf[4] >> 4 == 0b0010:  # MPEG-1 (11172-1 §2.4.3.2)
            if len(buf) < MPEG1_PACK_HEADER_BYTES:
                return _NEED_MORE
            total = MPEG1_PACK_HEADER_BYTES
            scr, markers = decode_timestamp(buf, 4)
            markers = markers and bool(buf[9] & 0x80) and bool(buf[11] & 0x01)
        else:
            return _INVALID
        if not markers and not self._in_sync:
            return _INVALID
        used = self._check_extent(total)
        if used > 0:
            self._pack_index += 1
            self.last_scr = scr
        return used

    def _parse_skipped(self) -> int:
        buf = self._buf
        if len(buf) < PES_PREFIX_BYTES:
            return _NEED_MORE
        return self._check_extent(PES_PREFIX_BYTES + (buf[4] << 8 | buf[5]))

    def _parse_psm(self) -> int:
        buf = self._buf
        if len(buf) < PES_PREFIX_BYTES:
            return _NEED_MORE
        length = buf[4] << 8 | buf[5]
        if length < PSM_MIN_LENGTH and not self._in_sync:
            return _INVALID
        used = self._check_extent(PES_PREFIX_BYTES + length)
        if used > MAX_PSM_BYTES:
            self._warn("psm", "program stream map of %d bytes skipped", used)
        elif used > 0 and length >= PSM_MIN_LENGTH:
            self._read_psm(bytes(buf[:used]))
        return used

    def _read_psm(self, psm: bytes) -> None:
        if crc32_mpeg(psm) != 0:
            self.stats.crc_errors += 1
            self._warn("crc", "program stream map CRC_32 mismatch (used anyway)")
        crc_at = len(psm) - 4
        pos = 10 + (psm[8] << 8 | psm[9])  # after program_stream_info_length and its descriptors
        if pos + 2 > crc_at:
            self._warn("psm", "malformed program stream map ignored")
            return
        end = min(pos + 2 + (psm[pos] << 8 | psm[pos + 1]), crc_at)
        pos += 2
        codecs: dict[int, Codec] = {}
        while pos + 4 <= end:
            stream_type, stream_id = psm[pos], psm[pos + 1]
            codecs[stream_id] = STREAM_TYPE_CODECS.get(stream_type, Codec.UNKNOWN)
            pos += 4 + (psm[pos + 2] << 8 | psm[pos + 3])
        if any(self._psm_codecs.get(stream_id) is not codec for stream_id, codec in codecs.items()):
            logger.info("ps demux %s: program stream map %s", self._label,
                        {f"{stream_id:#x}": codec.value for stream_id, codec in codecs.items()})
            self._psm_codecs.update(codecs)

    def _parse_pes(self, stream_id: int) -> int:
        buf = self._buf
        if len(buf) < PES_PREFIX_BYTES:
            return _NEED_MORE
        length = buf[4] << 8 | buf[5]
        is_video = stream_id in VIDEO_STREAM_IDS
        if length == 0 and is_video:
            return self._parse_unbounded_pes(stream_id)
        total = PES_PREFIX_BYTES + length
        header = self._parse_pes_header(total)
        if isinstance(header, int):
            return header
        start, pts, dts = header
        if is_video:
            self._end_unit_before(stream_id, pts)
            # Video never holds a system start code: one before the declared end means this PES was cut short.
            # In sync, a system start code right at the declared end (or the end of the input) shows that it
            # was not, without searching the PES.
            cut = -1
            if not (self._in_sync and self._ends_at_packet_boundary(total)):
                cut, self._searched = _find_system_start(buf, max(start, self._searched), min(total, len(buf)))
            if cut >= 0:
                if not self._in_sync:
                    self._skip_from = cut
                    return _INVALID
                self.stats.truncated_pes += 1
                self._warn("truncated", "PES of stream %#x cut short by a start code", stream_id)
                self._on_video(stream_id, start, cut, pts, dts)
                return cut
        used = self._check_extent(total)
        if used > 0:
            if is_video:
                self._on_video(stream_id, start, total, pts, dts)
            else:
                self._on_audio(stream_id, bytes(buf[start:total]), pts, dts)
        return used

    def _ends_at_packet_boundary(self, total: int) -> bool:
        buf = self._buf
        size = len(buf)
        if size == total:
            return self._final
        return size > total + 3 and buf[total] == 0 and buf[total + 1] == 0 and buf[total + 2] == 1 \
            and buf[total + 3] >= MIN_SYSTEM_STREAM_ID

    def _parse_unbounded_pes(self, stream_id: int) -> int:
        """A video PES with PES_packet_length 0 runs to the next system start code (13818-1 §2.4.3.7)."""
        buf = self._buf
        if len(buf) < 9:
            return _NEED_MORE
        if buf[6] >> 6 != 0b10:
            return _INVALID
        header = self._parse_pes_header(9 + buf[8])
        if isinstance(header, int):
            return header
        start, pts, dts = header
        self._end_unit_before(stream_id, pts)
        end, self._searched = _find_system_start(buf, max(start, self._searched), len(buf))
        if end < 0:
            if not self._final:
                return _NEED_MORE
            end = len(buf)
        self._on_video(stream_id, start, end, pts, dts)
        return end

    def _parse_pes_header(self, end: int) -> tuple[int, int | None, int | None] | int:
        """(payload start, PTS, DTS) of the PES at buf[0] ending at `end`, or _NEED_MORE, or _INVALID.

        Decided as soon as the header bytes are in, so that a false start code costs no waiting.
        """
        buf = self._buf
        pts = dts = None
        markers = True
        if end <= PES_PREFIX_BYTES:
            return _INVALID
        if len(buf) <= PES_PREFIX_BYTES:
            return _NEED_MORE
        if buf[6] >> 6 == 0b10:  # MPEG-2 PES header (13818-1 §2.4.3.6)
            if end < 9:
                return _INVALID
            if len(buf) < 9:
                return _NEED_MORE
            flags, start = buf[7] >> 6, 9 + buf[8]
            if start > end or (flags >= 2 and buf[8] < 5 * (flags - 1)):
                return _INVALID
            if len(buf) < start:
                return _NEED_MORE
            if flags >= 2:
                pts, markers = decode_timestamp(buf, 9)
            if flags == 3:
                dts, dts_markers = decode_timestamp(buf, 14)
                markers = markers and dts_markers
        else:  # MPEG-1 packet header (11172-1 §2.4.3.3): stuffing, STD buffer size, then timestamps
            start = PES_PREFIX_BYTES
            while start < len(buf) and start < end and buf[start] == 0xFF and start < 6 + MPEG1_MAX_STUFFING:
                start += 1
            if start < len(buf) and start < end and buf[start] >> 6 == 0b01:
                start += 2
            if start >= end:
                return _INVALID
            if start >= len(buf):
                return _NEED_MORE
            kind = buf[start]
            size = 1 if kind == 0x0F else 5 if kind >> 4 == 0b0010 else 10 if kind >> 4 == 0b0011 else 0
            if size == 0 or start + size > end:
                return _INVALID
            if start + size > len(buf):
                return _NEED_MORE
            if size >= 5:
                pts, markers = decode_timestamp(buf, start)
            if size == 10:
                dts, dts_markers = decode_timestamp(buf, start + 5)
                markers = markers and dts_markers
            start += size
        if not markers and not self._in_sync:
            return _INVALID
        return start, pts, dts

    # --- frames ---

    def _on_audio(self, stream_id: int, payload: bytes, pts: int | None, dts: int | None) -> None:
        if not payload:
            return
        codec = self._psm_codecs.get(stream_id, Codec.UNKNOWN)
        if codec is Codec.UNKNOWN and payload[0] == 0xFF and payload[1:2] and payload[1] & 0xF0 == 0xF0:
            codec = Codec.AAC  # ADTS syncword
        self._emit(EsFrame(stream_id, codec, pts, dts, payload, keyframe=True))

    def _on_video(self, stream_id: int, start: int, end: int, pts: int | None, dts: int | None) -> None:
        buf = self._buf
        # The PES payload's first NAL unit header, when it begins with a start code (00 00 01 or 00 00 00 01).
        lead = 3 if buf.startswith(START_CODE_PREFIX, start) else 4 if buf.startswith(_START_CODE_4, start) else 0
        first = bytes(buf[start + lead : min(start + lead + 3, end)]) if lead and start + lead < end else None
        unit = self._units.get(stream_id)
        if unit is not None and self._starts_new_unit(unit, pts, first):
            self._emit_unit(unit)
            unit = None
        if unit is None:
            unit = _AccessUnit(stream_id, pts, dts, self._pack_index)
            self._units[stream_id] = unit
        unit.pack_index = self._pack_index
        if not unit.sliced and len(unit.heads) < MAX_NAL_HEADS:
            codec = self._known_codec(stream_id)
            offsets = _nal_head_offsets(buf, start, end, codec)
            unit.heads.extend(bytes(buf[offset : min(offset + 3, end)])
                              for offset in offsets[: MAX_NAL_HEADS - len(unit.heads)])
            unit.sliced = codec is not Codec.UNKNOWN and has_vcl(codec, unit.heads)
        if unit.dropped:
            self.stats.bytes_skipped += end - start
            return
        unit.chunks.append(bytes(buf[start:end]))
        unit.size += end - start
        if unit.size > self._max_buffer:
            self._warn("overflow", "frame of stream %#x passed %d bytes; dropped", stream_id, self._max_buffer)
            self.stats.overflows += 1
            self.stats.bytes_skipped += unit.size
            unit.dropped = True
            unit.chunks.clear()

    def _end_unit_before(self, stream_id: int, pts: int | None) -> None:
        """A PES with a new PTS has begun: the frame in progress is complete, release it without waiting for
        the rest of this PES (the decision `_on_video` would take once it is all in, taken earlier)."""
        if pts is None or not self._in_sync:
            return
        unit = self._units.get(stream_id)
        if unit is not None and unit.pts != pts:
            del self._units[stream_id]
            self._emit_unit(unit)

    def _starts_new_unit(self, unit: _AccessUnit, pts: int | None, first: bytes | None) -> bool:
        if pts is not None and pts != unit.pts:
            return True
        if first is None or unit.pack_index == self._pack_index:
            return False
        codec = self._video_codec(unit.stream_id, [*unit.heads, first])
        return begins_access_unit(codec, first, has_vcl(codec, unit.heads))

    def _known_codec(self, stream_id: int) -> Codec:
        """H.264 or H.265 if the stream map said so or the NAL headers told already; else UNKNOWN."""
        codec = self._psm_codecs.get(stream_id) or self._guessed.get(stream_id)
        return codec if codec is Codec.H264 or codec is Codec.H265 else Codec.UNKNOWN

    def _video_codec(self, stream_id: int, heads: list[bytes]) -> Codec:
        codec = self._psm_codecs.get(stream_id, Codec.UNKNOWN)
        if codec is Codec.UNKNOWN:
            codec = self._guessed.get(stream_id, Codec.UNKNOWN)
        if codec is Codec.UNKNOWN:
            codec = guess_video_codec(heads)
            if codec is not Codec.UNKNOWN:
                self._guessed[stream_id] = codec
                logger.info("ps demux %s: no stream type for %#x; NAL headers look like %s",
                            self._label, stream_id, codec.value)
        return codec

    def _emit_unit(self, unit: _AccessUnit) -> None:
        codec = self._video_codec(unit.stream_id, unit.heads)
        data = b"".join(unit.chunks)
        if data and not unit.dropped:
            self._emit(EsFrame(unit.stream_id, codec, unit.pts, unit.dts, data, is_keyframe(codec, unit.heads)))

    def _emit_all(self) -> None:
        units, self._units = self._units, {}
        for unit in units.values():
            self._emit_unit(unit)

    def _emit(self, frame: EsFrame) -> None:
        self.stats.frames += 1
        self._frames.append(frame)

    def _drop_buffer(self) -> None:
        self.stats.overflows += 1
        self.stats.bytes_skipped += len(self._buf)
        if self._in_sync:
            self.stats.resyncs += 1
            self._in_sync = False
        self._buf.clear()
        self._searched = 0

    def _warn(self, kind: str, message: str, *args: object) -> None:
        """Warn the first time each kind of deviation shows up on this stream; later ones go to debug."""
        level = logging.DEBUG if kind in self._warned else logging.WARNING
        self._warned.add(kind)
        logger.log(level, "ps demux %s: " + message, self._label, *args)
