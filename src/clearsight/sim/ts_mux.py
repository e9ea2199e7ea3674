"""A small MPEG-2 transport stream writer (ISO/IEC 13818-1 §2.4) for simulated devices that send TS, sans-I/O.

`TsMuxer.mux` turns one video access unit into whole 188-byte packets: PAT and PMT before every keyframe (so a
receiver can join there), then one PES (PES_packet_length 0, as video in TS usually has) whose first packet
carries the PCR and, on keyframes, random_access_indicator. Continuity counters run per PID. One program,
one H.264 or H.265 stream; the PIDs are FFmpeg's defaults.
"""

from __future__ import annotations

import struct

from clearsight.media.es import CODEC_STREAM_TYPES, Codec
from clearsight.media.ps_demux import crc32_mpeg
from clearsight.media.ps_mux import UnsupportedCodec, encode_timestamp

TS_PACKET_SIZE = 188  # 13818-1 §2.4.3.2
TS_HEADER_BYTES = 4  # sync_byte, flags + PID, scrambling/adaptation/continuity
SYNC_BYTE = 0x47  # 13818-1 §2.4.3.3
PAT_PID = 0x0000  # 13818-1 Table 2-3
PMT_PID = 0x1000  # FFmpeg's default program map PID
VIDEO_PID = 0x0100  # FFmpeg's default first elementary PID
PROGRAM_NUMBER = 1
TRANSPORT_STREAM_ID = 1
VIDEO_STREAM_ID = 0xE0  # 13818-1 Table 2-22: video stream number 0
PCR_LEAD = 9_000  # 90 kHz ticks the PCR runs ahead of decoding (100 ms): PCR ≤ DTS, as the T-STD wants
TIMESTAMP_MASK = (1 << 33) - 1  # PTS, DTS and PCR base count 33 bits
PCR_FLAG = 0x10  # adaptation field flags (13818-1 §2.4.3.4)
RANDOM_ACCESS_FLAG = 0x40
PTS_ONLY, PTS_WITH_DTS, DTS_ONLY = 0x2, 0x3, 0x1  # '0010', '0011', '0001' timestamp prefixes
VIDEO_CODECS = frozenset({Codec.H264, Codec.H265})


def psi_section(table_id: int, table_id_extension: int, body: bytes) -> bytes:
    """A long-form PSI section, version 0, current, one section, with its CRC_32 (13818-1 §2.4.4)."""
    length = 5 + len(body) + 4  # after section_length: extension, version, numbers, body, CRC_32
    head = bytes([table_id, 0xB0 | (length >> 8), length & 0xFF]) + struct.pack("!H", table_id_extension)
    head += bytes([0xC1, 0x00, 0x00])  # reserved, version 0, current_next_indicator; section 0 of 0
    return head + body + struct.pack("!I", crc32_mpeg(head + body))


def program_association_table() -> bytes:
    return psi_section(0x00, TRANSPORT_STREAM_ID, struct.pack("!HH", PROGRAM_NUMBER, 0xE000 | PMT_PID))


def program_map_table(stream_type: int) -> bytes:
    body = struct.pack("!HH", 0xE000 | VIDEO_PID, 0xF000)  # PCR_PID, no program descriptors
    body += bytes([stream_type]) + struct.pack("!HH", 0xE000 | VIDEO_PID, 0xF000)  # the one stream, no descriptors
    return psi_section(0x02, PROGRAM_NUMBER, body)


def pcr_bytes(base: int) -> bytes:
    """program_clock_reference: 33-bit base, 6 reserved bits, 9-bit extension 0."""
    base &= TIMESTAMP_MASK
    return struct.pack("!IH", base >> 1, ((base & 1) << 15) | 0x7E00)


class TsMuxer:
    """Access units in, TS packets out (a multiple of 188 bytes per call)."""

    def __init__(self, codec: Codec = Codec.H264) -> None:
        if codec not in VIDEO_CODECS:
            raise UnsupportedCodec(codec)
        self.codec = codec
        self._pat = program_association_table()
        self._pmt = program_map_table(CODEC_STREAM_TYPES[codec])
        self._counters: dict[int, int] = {}
        self._tables_sent = False

    def mux(self, frame_data: bytes, pts: int, keyframe: bool, dts: int | None = None) -> bytes:
        """One access unit (Annex-B) with its 90 kHz PTS (and DTS when it differs)."""
        out = bytearray()
        if keyframe or not self._tables_sent:
            out += self._packets(PAT_PID, b"\x00" + self._pat)  # pointer_field 0
            out += self._packets(PMT_PID, b"\x00" + self._pmt)
            self._tables_sent = True
        if dts is not None and dts != pts:
            flags, stamps = 0xC0, encode_timestamp(PTS_WITH_DTS, pts) + encode_timestamp(DTS_ONLY, dts)
        else:
            flags, stamps = 0x80, encode_timestamp(PTS_ONLY, pts)
        header = bytes([0x84, flags, len(stamps)]) + stamps  # '10', data_alignment_indicator
        pes = b"\x00\x00\x01" + bytes([VIDEO_STREAM_ID]) + b"\x00\x00" + header + frame_data
        first_flags = PCR_FLAG | (RANDOM_ACCESS_FLAG if keyframe else 0)
        pcr = max(0, (pts if dts is None else dts) - PCR_LEAD)
        out += self._packets(VIDEO_PID, pes, adaptation=bytes([first_flags]) + pcr_bytes(pcr))
        return bytes(out)

    def _packets(self, pid: int, payload: bytes, *, adaptation: bytes | None = None) -> bytes:
        """`payload` over as many packets as it needs; `adaptation` (flags and fields) goes in the first one.

        The first packet sets payload_unit_start_indicator; an adaptation field of stuffing fills the last.
        """
        out = bytearray()
        offset = 0
        first = True
        while first or offset < len(payload):
            fields = adaptation if first and adaptation is not None else None
            room = TS_PACKET_SIZE - TS_HEADER_BYTES - (1 + len(fields) if fields is not None else 0)
            chunk = payload[offset : offset + room]
            offset += len(chunk)
            out += self._packet(pid, chunk, start=first, fields=fields)
            first = False
        return bytes(out)

    def _packet(self, pid: int, chunk: bytes, *, start: bool, fields: bytes | None) -> bytes:
        counter = self._counters.get(pid, 0)
        self._counters[pid] = (counter + 1) & 0x0F
        spare = TS_PACKET_SIZE - TS_HEADER_BYTES - len(chunk)
        if fields is None and spare == 0:
            control, adaptation = 0x10, b""  # payload only
        else:
            body = fields if fields is not None else (b"\x00" if spare > 1 else b"")  # no flags: stuffing only
            af_length = spare - 1
            adaptation = bytes([af_length]) + body + b"\xff" * (af_length - len(body))
            control = 0x30  # adaptation field and payload
        head = bytes([SYNC_BYTE, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, control | counter])
        return head + adaptation + chunk
