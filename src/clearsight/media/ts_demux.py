"""Demultiplex an MPEG-2 Transport Stream (ISO/IEC 13818-1 §2.4) into elementary-stream frames, sans-I/O.

Some GB/T 28181 devices send MPEG-TS over RTP instead of PS. RTP payloads usually hold seven 188-byte packets
but may cut the stream anywhere, so `TsDemuxer.feed` takes arbitrary chunks and `next_frame` returns the same
`EsFrame`s as `PsDemuxer`: video access units (Annex-B, keyframe flag) and audio PES payloads.

- Packet alignment: a sync byte 0x47 confirmed by SYNC_CONFIRMATIONS more, 188 bytes apart, before the first
  packet and after garbage; each byte is tried as a sync position at most once (linear time, bounded buffer).
- PAT → PMT → elementary PIDs and their stream_type (13818-1 Table 2-34, GB/T 28181 adds 0x90 G.711). Without
  PAT/PMT, a PID whose packets start PES packets of a video or audio stream_id is taken anyway and its video
  codec guessed from NAL unit headers, as `PsDemuxer` does without a stream map.
- PES reassembly by payload_unit_start_indicator (or PES_packet_length when it is given), PTS and DTS. A video
  frame ends where the next begins: at a PES with another PTS (decided as soon as that PES's header is in, so
  a frame leaves one frame time after it arrived), or at a PES whose first NAL unit starts an access unit.
- continuity_counter (§2.4.3.3): a gap (not announced by discontinuity_indicator) means packets were lost; the
  PES in progress is discarded and the frame it belongs to is dropped, never delivered incomplete. A repeated
  counter is a duplicate packet and is skipped. `discontinuity()` tells the demuxer that input was lost
  (an RTP sequence gap): the partial packet is dropped and every frame in progress too.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from clearsight.media.es import (
    AUDIO_STREAM_IDS,
    STREAM_TYPE_CODECS,
    VIDEO_STREAM_IDS,
    Codec,
    EsFrame,
    begins_access_unit,
    guess_video_codec,
    has_vcl,
    is_keyframe,
)
from clearsight.media.ps_demux import crc32_mpeg, decode_timestamp

__all__ = ["TS_PACKET_SIZE", "TsDemuxStats", "TsDemuxer"]

logger = logging.getLogger(__name__)

TS_PACKET_SIZE = 188  # 13818-1 §2.4.3.2
TS_SYNC_BYTE = 0x47  # 13818-1 §2.4.3.3 sync_byte
SYNC_CONFIRMATIONS = 2  # further sync bytes 188 apart needed to take a position as packet aligned
PAT_PID = 0x0000  # 13818-1 Table 2-3: program association table
NULL_PID = 0x1FFF  # 13818-1 Table 2-3: null packets
FIRST_ES_PID = 0x0020  # 0x0000–0x001F: PSI and DVB/ATSC SI tables; never an elementary stream
PAT_TABLE_ID = 0x00  # 13818-1 Table 2-31: program_association_section
PMT_TABLE_ID = 0x02  # 13818-1 Table 2-31: TS_program_map_section
MAX_SECTION_BYTES = 1024  # 13818-1 §2.4.4.3/§2.4.4.8: section_length ≤ 1021 (+ 3 header bytes)
MAX_AF_WITH_PAYLOAD = 182  # 13818-1 §2.4.3.5: adaptation_field_length 0–182 with payload, 183 without
PES_PREFIX_BYTES = 6  # packet_start_code_prefix, stream_id, PES_packet_length
PES_HEADER_BYTES = 9  # + '10' flags byte, PTS_DTS_flags byte, PES_header_data_length
PES_IDS_WITHOUT_HEADER = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})  # 13818-1 §2.4.3.7
MAX_FRAME_BYTES = 4 * 1024 * 1024  # a PES or a frame past this is dropped
MAX_NAL_HEADS = 64  # NAL unit headers remembered per frame for keyframe and codec detection
START_CODE = b"\x00\x00\x01"
VIDEO_CODECS = frozenset({Codec.H264, Codec.H265, Codec.MPEG4})
AUDIO_CODECS = frozenset({Codec.AAC, Codec.G711A, Codec.G711U})


@dataclass(slots=True)
class TsDemuxStats:
    packets: int = 0  # 188-byte packets parsed
    frames: int = 0  # frames returned (video access units and audio PES payloads)
    frames_dropped: int = 0  # frames discarded because packets of them were lost or unusable
    cc_errors: int = 0  # continuity_counter gaps: packets lost
    duplicates: int = 0  # packets repeated with the same continuity_counter, skipped
    transport_errors: int = 0  # packets with transport_error_indicator set, skipped
    scrambled: int = 0  # packets with scrambled payload, skipped
    invalid_packets: int = 0  # reserved adaptation_field_control or an impossible adaptation field length
    crc_errors: int = 0  # PAT/PMT sections whose CRC_32 did not match; ignored
    bytes_skipped: int = 0  # garbage between packets, and payload with no PES start to attach to
    other_packets: int = 0  # packets of PIDs not read: SI tables (SDT, NIT…), data streams, unknown PIDs
    resyncs: int = 0  # times packet alignment was lost and searched for again
    discontinuities: int = 0  # input losses announced by the caller
    overflows: int = 0  # PES packets or frames past the size cap


@dataclass(slots=True)
class _Unit:
    """A video access unit being assembled from one or more PES packets."""

    pts: int | None
    dts: int | None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    heads: list[bytes] = field(default_factory=list)
    damaged: bool = False


@dataclass(slots=True)
class _Elementary:
    """One elementary-stream PID: what it carries and the PES (and, for video, the frame) in progress."""

    pid: int
    stream_type: int | None  # from the PMT; None when the PID was found without one
    codec: Codec
    frame_stream_id: int | None = None  # EsFrame.stream_id: 0xE0… for video, 0xC0… for audio, once known
    pes: bytearray | None = None  # the PES packet in progress, from its start code
    pes_total: int = 0  # its declared size (PES_packet_length + 6), 0 when unbounded
    header: tuple[int, int | None, int | None] | None = None  # (payload offset, PTS, DTS) once parsed
    joins_unit: bool = False  # the PES in progress may belong to the unit in progress (decided when it ends)
    unit: _Unit | None = None
    guessed: bool = False  # codec guessed from NAL unit headers

    @property
    def is_video(self) -> bool:
        return self.frame_stream_id is not None and self.frame_stream_id in VIDEO_STREAM_IDS


class TsDemuxer:
    """Feed TS bytes in any chunking; take `EsFrame`s with `next_frame()` (or iterate `frames()`).

    Call `flush()` at the end of the stream to get the last frame, `discontinuity()` when input was lost.
    """

    def __init__(self, *, label: str = "", max_frame: int = MAX_FRAME_BYTES) -> None:
        self.stats = TsDemuxStats()
        self._label = label
        self._max_frame = max_frame
        self._buf = bytearray()
        self._aligned = False
        self._final = False
        self._frames: deque[EsFrame] = deque()
        self._cc: dict[int, int] = {}
        self._sections: dict[int, bytearray] = {}  # PSI PID → section in progress
        self._pmt_pids: dict[int, int] = {}  # PMT PID → program_number
        self._program_pids: dict[int, set[int]] = {}  # program_number → elementary PIDs its PMT listed
        self._streams: dict[int, _Elementary] = {}
        self._next_video_id = VIDEO_STREAM_IDS.start
        self._next_audio_id = AUDIO_STREAM_IDS.start
        self._warned: set[str] = set()

    @property
    def codecs(self) -> dict[int, Codec]:
        """PID → codec, as the PMT declared it or the NAL unit headers suggested."""
        return {pid: es.codec for pid, es in self._streams.items()}

    @property
    def stream_types(self) -> dict[int, int | None]:
        """PID → stream_type from the PMT (None for PIDs found without one)."""
        return {pid: es.stream_type for pid, es in self._streams.items()}

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data
        self._parse()

    def next_frame(self) -> EsFrame | None:
        return self._frames.popleft() if self._frames else None

    def frames(self) -> Iterator[EsFrame]:
        while self._frames:
            yield self._frames.popleft()

    def discontinuity(self) -> None:
        """Input was lost (e.g. an RTP sequence gap): drop the partial packet and every frame in progress."""
        self.stats.discontinuities += 1
        self.stats.bytes_skipped += len(self._buf)
        self._buf.clear()
        self._aligned = False
        self._cc.clear()
        self._sections.clear()
        for es in self._streams.values():
            self._lose(es)

    def flush(self) -> None:
        """End of stream: parse what is left and release every frame in progress."""
        self._final = True
        try:
            self._parse()
        finally:
            self._final = False
        self.stats.bytes_skipped += len(self._buf)
        self._buf.clear()
        for es in self._streams.values():
            if es.pes is not None and es.header is not None:
                self._finish_pes(es)
            es.pes = None
            if es.unit is not None:
                self._emit_unit(es, es.unit)
                es.unit = None

    # --- packet alignment ---

    def _parse(self) -> None:
        buf = self._buf
        size = len(buf)
        pos = 0
        while True:
            if self._aligned:
                if size - pos < TS_PACKET_SIZE:
                    break
                if buf[pos] == TS_SYNC_BYTE:
                    self._packet(buf, pos)
                    pos += TS_PACKET_SIZE
                    continue
                self._aligned = False
                self.stats.resyncs += 1
                self._warn("resync", "lost packet alignment; searching for sync bytes")
            found, confirmed = self._find_sync(buf, pos, size)
            self.stats.bytes_skipped += found - pos
            pos = found
            if not confirmed:
                break  # keep buf[found:] for the next feed
            self._aligned = True
        del buf[:pos]

    def _find_sync(self, buf: bytearray, start: int, size: int) -> tuple[int, bool]:
        """(position, True): the first position ≥ start with confirmed sync bytes; (position, False): none yet,
        and everything before position can go (it is the candidate awaiting more bytes, or `size`)."""
        candidate = buf.find(TS_SYNC_BYTE, start, size)
        while candidate >= 0:
            for k in range(1, SYNC_CONFIRMATIONS + 1):
                at = candidate + k * TS_PACKET_SIZE
                if at >= size:
                    # End of stream: what there is agrees. Otherwise wait for more bytes.
                    return candidate, self._final and size - candidate >= TS_PACKET_SIZE
                if buf[at] != TS_SYNC_BYTE:
                    break
            else:
                return candidate, True
            candidate = buf.find(TS_SYNC_BYTE, candidate + 1, size)
        return size, False

    # --- one packet (13818-1 §2.4.3.2) ---

    def _packet(self, buf: bytearray, pos: int) -> None:
        self.stats.packets += 1
        b1, b3 = buf[pos + 1], buf[pos + 3]
        pid = (b1 & 0x1F) << 8 | buf[pos + 2]
        if b1 & 0x80:  # transport_error_indicator: the packet is corrupt (its PID too, perhaps)
            self.stats.transport_errors += 1
            return
        if pid == NULL_PID:
            return
        control, counter = (b3 >> 4) & 0x03, b3 & 0x0F
        if control == 0:  # reserved adaptation_field_control
            self.stats.invalid_packets += 1
            return
        start, end = pos + 4, pos + TS_PACKET_SIZE
        discontinuity = False
        if control & 0x02:
            af_length = buf[start]
            if af_length > (MAX_AF_WITH_PAYLOAD if control == 0x03 else MAX_AF_WITH_PAYLOAD + 1):
                self.stats.invalid_packets += 1
                return
            discontinuity = af_length > 0 and bool(buf[start + 1] & 0x80)  # discontinuity_indicator
            start += 1 + af_length
        if not control & 0x01:
            return  # adaptation field only: the counter does not advance
        last = self._cc.get(pid)
        if last is not None and not discontinuity:
            if counter == last:
                self.stats.duplicates += 1
                return
            if counter != (last + 1) & 0x0F:
                self.stats.cc_errors += 1
                self._warn("cc", "continuity_counter gap on PID %#x (%d → %d): packets lost", pid, last, counter)
                self._on_loss(pid)
        self._cc[pid] = counter
        if b3 >> 6:  # transport_scrambling_control: no key here, the payload is as good as lost
            self.stats.scrambled += 1
            self._warn("scrambled", "scrambled packets on PID %#x skipped", pid)
            self._on_loss(pid)
            return
        if start >= end:
            return
        unit_start = bool(b1 & 0x40)
        if pid == PAT_PID or pid in self._pmt_pids:
            self._on_section_bytes(pid, buf[start:end], unit_start)
            return
        es = self._streams.get(pid)
        if es is None:
            if not unit_start or pid < FIRST_ES_PID or not self._looks_like_av_pes(buf, start, end):
                self.stats.other_packets += 1
                return
            es = self._add_stream(pid, None)
        self._on_pes_bytes(es, buf, start, end, unit_start)

    def _on_loss(self, pid: int) -> None:
        self._sections.pop(pid, None)
        es = self._streams.get(pid)
        if es is not None:
            self._lose(es)

    def _lose(self, es: _Elementary) -> None:
        """Packets of `es` were lost: its PES in progress is gone and the frame in progress is incomplete."""
        if es.pes is not None:
            es.pes = None
            if not es.is_video:
                self.stats.frames_dropped += 1
        if es.unit is not None:
            es.unit.damaged = True

    @staticmethod
    def _looks_like_av_pes(buf: bytearray, start: int, end: int) -> bool:
        return end - start >= 4 and buf[start : start + 3] == START_CODE and (
            buf[start + 3] in VIDEO_STREAM_IDS or buf[start + 3] in AUDIO_STREAM_IDS)

    # --- PSI: PAT and PMT (13818-1 §2.4.4) ---

    def _on_section_bytes(self, pid: int, payload: bytearray, unit_start: bool) -> None:
        if unit_start:
            pointer = payload[0]
            if 1 + pointer > len(payload):
                self._sections.pop(pid, None)
                return
            pending = self._sections.pop(pid, None)
            if pending is not None:
                pending += payload[1 : 1 + pointer]
                self._take_section(pid, pending)
            rest = payload[1 + pointer :]
            while rest and rest[0] != 0xFF:  # 0xFF: stuffing after the last section
                rest = self._take_section(pid, rest)
        elif pid in self._sections:
            pending = self._sections.pop(pid)
            pending += payload
            self._take_section(pid, pending)

    def _take_section(self, pid: int, section: bytearray) -> bytearray:
        """Process `section` if it is complete, else keep it pending; returns the bytes after it."""
        if len(section) < 3:
            self._sections[pid] = section
            return bytearray()
        total = 3 + ((section[1] & 0x0F) << 8 | section[2])
        if total > MAX_SECTION_BYTES:
            self._warn("section", "section of %d bytes on PID %#x ignored", total, pid)
            return bytearray()
        if len(section) < total:
            self._sections[pid] = section
            return bytearray()
        self._on_section(pid, bytes(section[:total]))
        return section[total:]

    def _on_section(self, pid: int, section: bytes) -> None:
        if len(section) < 12 or not section[1] & 0x80 or not section[5] & 0x01:
            return  # too short for the long form, not section_syntax_indicator, or not yet current
        if crc32_mpeg(section) != 0:
            self.stats.crc_errors += 1
            self._warn("crc", "CRC_32 mismatch in a table on PID %#x; ignored", pid)
            return
        table_id = section[0]
        if pid == PAT_PID and table_id == PAT_TABLE_ID:
            self._read_pat(section)
        elif pid in self._pmt_pids and table_id == PMT_TABLE_ID:
            self._read_pmt(section)

    def _read_pat(self, section: bytes) -> None:
        pmt_pids: dict[int, int] = {}
        for pos in range(8, len(section) - 4 - 3, 4):
            program = section[pos] << 8 | section[pos + 1]
            pid = (section[pos + 2] & 0x1F) << 8 | section[pos + 3]
            if program != 0:  # program 0 names the network information PID
                pmt_pids[pid] = program
        if section[6] == 0 and pmt_pids != self._pmt_pids:  # section_number 0 carries the whole table here
            logger.info("ts demux %s: programs %s", self._label,
                        {program: f"PMT on {pid:#x}" for pid, program in pmt_pids.items()})
            self._pmt_pids = pmt_pids

    def _read_pmt(self, section: bytes) -> None:
        program = section[3] << 8 | section[4]
        pos = 12 + ((section[10] & 0x0F) << 8 | section[11])  # after program_info_length and its descriptors
        end = len(section) - 4
        listed: dict[int, int] = {}
        while pos + 5 <= end:
            stream_type = section[pos]
            pid = (section[pos + 1] & 0x1F) << 8 | section[pos + 2]
            listed[pid] = stream_type
            pos += 5 + ((section[pos + 3] & 0x0F) << 8 | section[pos + 4])
        for pid in self._program_pids.get(program, set()) - listed.keys():
            self._streams.pop(pid, None)
        self._program_pids[program] = set(listed)
        changed = False
        for pid, stream_type in listed.items():
            es = self._streams.get(pid)
            codec = STREAM_TYPE_CODECS.get(stream_type, Codec.UNKNOWN)
            if es is None:
                self._add_stream(pid, stream_type)
                changed = True
            elif es.stream_type != stream_type:
                es.stream_type, es.codec, es.guessed = stream_type, codec, False
                changed = True
        if changed:
            logger.info("ts demux %s: program %d streams %s", self._label, program,
                        {f"{pid:#x}": f"{t:#04x} {STREAM_TYPE_CODECS.get(t, Codec.UNKNOWN).value}"
                         for pid, t in listed.items()})

    def _add_stream(self, pid: int, stream_type: int | None) -> _Elementary:
        codec = STREAM_TYPE_CODECS.get(stream_type, Codec.UNKNOWN) if stream_type is not None else Codec.UNKNOWN
        es = _Elementary(pid, stream_type, codec)
        if codec in VIDEO_CODECS or codec in AUDIO_CODECS:
            self._assign_stream_id(es, video=codec in VIDEO_CODECS)
        if stream_type is None:
            self._warn("no-pmt", "PID %#x carries PES packets but no PMT lists it; taken anyway", pid)
        self._streams[pid] = es
        return es

    def _assign_stream_id(self, es: _Elementary, *, video: bool) -> None:
        if video and self._next_video_id < VIDEO_STREAM_IDS.stop:
            es.frame_stream_id, self._next_video_id = self._next_video_id, self._next_video_id + 1
        elif not video and self._next_audio_id < AUDIO_STREAM_IDS.stop:
            es.frame_stream_id, self._next_audio_id = self._next_audio_id, self._next_audio_id + 1

    # --- PES (13818-1 §2.4.3.6) ---

    def _on_pes_bytes(self, es: _Elementary, buf: bytearray, start: int, end: int, unit_start: bool) -> None:
        if unit_start:
            if es.pes is not None:
                if es.header is not None:
                    self._finish_pes(es)  # an unbounded (or short) PES ends where the next one starts
                es.pes = None
            es.pes, es.header = bytearray(buf[start:end]), None
        elif es.pes is None:
            self.stats.bytes_skipped += end - start  # no PES start seen since joining or since a loss
            return
        else:
            es.pes += buf[start:end]
        if es.header is None and not self._read_pes_header(es):
            return
        if len(es.pes) > self._max_frame:
            self.stats.overflows += 1
            self._warn("overflow", "PES on PID %#x passed %d bytes; dropped", es.pid, self._max_frame)
            self._lose(es)
        elif es.pes_total and len(es.pes) >= es.pes_total:
            self._finish_pes(es)
            es.pes = None

    def _read_pes_header(self, es: _Elementary) -> bool:
        """Parse the PES header once its bytes are in; False while waiting or when the PES is unusable."""
        pes = es.pes
        assert pes is not None
        if len(pes) < PES_PREFIX_BYTES:
            return False
        stream_id, length = pes[3], pes[4] << 8 | pes[5]
        if pes[:3] != START_CODE or stream_id in PES_IDS_WITHOUT_HEADER:
            self._drop_pes(es, "PES on PID %#x without a usable start code or header; skipped")
            return False
        if len(pes) < PES_HEADER_BYTES:
            return False
        flags, start = pes[7] >> 6, PES_HEADER_BYTES + pes[8]
        if pes[6] >> 6 != 0b10 or flags == 1 or (length and start > PES_PREFIX_BYTES + length):
            self._drop_pes(es, "malformed PES header on PID %#x; skipped")
            return False
        if len(pes) < start:
            return False
        pts = decode_timestamp(pes, 9)[0] if flags >= 2 and pes[8] >= 5 else None
        dts = decode_timestamp(pes, 14)[0] if flags == 3 and pes[8] >= 10 else None
        es.header, es.pes_total = (start, pts, dts), PES_PREFIX_BYTES + length if length else 0
        if es.frame_stream_id is None and (stream_id in VIDEO_STREAM_IDS or stream_id in AUDIO_STREAM_IDS):
            self._assign_stream_id(es, video=stream_id in VIDEO_STREAM_IDS)
        if es.is_video:
            unit = es.unit
            if unit is not None and pts is not None and pts != unit.pts:
                self._emit_unit(es, unit)  # another picture: the one in progress is complete
                es.unit = unit = None
            es.joins_unit = unit is not None
            if unit is None:
                es.unit = _Unit(pts, dts)
        return True

    def _drop_pes(self, es: _Elementary, message: str) -> None:
        self._warn("pes", message, es.pid)
        self.stats.bytes_skipped += len(es.pes or b"")
        es.pes = None

    def _finish_pes(self, es: _Elementary) -> None:
        pes, header = es.pes, es.header
        assert pes is not None and header is not None
        start, pts, dts = header
        end = es.pes_total or len(pes)
        if es.frame_stream_id is None or start >= end:
            return
        data = bytes(pes[start:end])
        if not es.is_video:
            self._emit_audio(es, data, pts, dts)
            return
        heads = _nal_heads(data)
        unit = es.unit
        assert unit is not None
        if es.joins_unit:
            codec = self._video_codec(es, [*unit.heads, *heads[:1]])
            first = heads[0] if heads and data.startswith((START_CODE, b"\x00" + START_CODE)) else None
            if first is not None and begins_access_unit(codec, first, has_vcl(codec, unit.heads)):
                self._emit_unit(es, unit)
                es.unit = unit = _Unit(pts, dts)
        unit.heads.extend(heads[: MAX_NAL_HEADS - len(unit.heads)])
        unit.size += len(data)
        if unit.damaged:
            return
        if unit.size > self._max_frame:
            self.stats.overflows += 1
            self._warn("overflow", "frame on PID %#x passed %d bytes; dropped", es.pid, self._max_frame)
            unit.damaged = True
            unit.chunks.clear()
            return
        unit.chunks.append(data)

    # --- frames ---

    def _emit_audio(self, es: _Elementary, data: bytes, pts: int | None, dts: int | None) -> None:
        codec = es.codec
        if codec is Codec.UNKNOWN and data[0] == 0xFF and len(data) > 1 and data[1] & 0xF0 == 0xF0:
            codec = Codec.AAC  # ADTS syncword
        assert es.frame_stream_id is not None
        self._emit(EsFrame(es.frame_stream_id, codec, pts, dts, data, keyframe=True))

    def _emit_unit(self, es: _Elementary, unit: _Unit) -> None:
        if unit.damaged:
            self.stats.frames_dropped += 1
            return
        if not unit.chunks or es.frame_stream_id is None:
            return
        codec = self._video_codec(es, unit.heads)
        data = b"".join(unit.chunks)
        self._emit(EsFrame(es.frame_stream_id, codec, unit.pts, unit.dts, data, is_keyframe(codec, unit.heads)))

    def _video_codec(self, es: _Elementary, heads: list[bytes]) -> Codec:
        if es.codec is Codec.UNKNOWN and heads:
            guess = guess_video_codec(heads)
            if guess is not Codec.UNKNOWN:
                es.codec, es.guessed = guess, True
                logger.info("ts demux %s: no stream type for PID %#x; NAL headers look like %s", self._label,
                            es.pid, guess.value)
        return es.codec

    def _emit(self, frame: EsFrame) -> None:
        self.stats.frames += 1
        self._frames.append(frame)

    def _warn(self, kind: str, message: str, *args: object) -> None:
        """Warn the first time each kind of deviation shows up on this stream; later ones go to debug."""
        level = logging.DEBUG if kind in self._warned else logging.WARNING
        self._warned.add(kind)
        logger.log(level, "ts demux %s: " + message, self._label, *args)


def _nal_heads(data: bytes) -> list[bytes]:
    """The first bytes of each NAL unit (after each `00 00 01`) in Annex-B bytes, up to MAX_NAL_HEADS."""
    heads: list[bytes] = []
    pos = data.find(START_CODE)
    while pos >= 0 and len(heads) < MAX_NAL_HEADS and pos + 3 < len(data):
        heads.append(data[pos + 3 : pos + 6])
        pos = data.find(START_CODE, pos + 3)
    return heads
