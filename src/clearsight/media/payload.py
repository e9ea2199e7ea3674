"""Tell what an RTP stream carries from the contents of its first payloads.

GB/T 28181 asks for MPEG-2 PS (payload type 96), but devices also send MPEG-TS or elementary H.264/H.265
whatever the payload type says, so the platform looks at the bytes. The first payloads seen are often
from the middle of a frame, so no single payload decides: each payload is tested against every format,
and the share of payloads that pass decides.

Rules, per payload:
- MPEG-TS: whole 188-byte packets each starting with sync byte 0x47 (RFC 2250 §2), or, for a stream cut
  anywhere, 0x47 at three offsets 188 apart.
- MPEG-PS: a start code 00 00 01 followed by a program-stream id — pack header BA, system header BB,
  stream map BC, private/padding BD–BF, audio C0–DF, video E0–EF, end code B9 — whose next bytes have
  the fixed bits of that structure (MPEG-1 or MPEG-2 pack marker bits, the '10' of an MPEG-2 PES header
  and its PTS marker bits, the marker bits of a system header or stream map). H.264/H.265 Annex B start
  codes inside PES data are never followed by a byte ≥ 0x80, and emulation prevention keeps 00 00 01 out
  of NAL data, so such a start code is strong evidence. Only payloads where a PES or pack begins have
  one; a PS stream's other payloads are plain coded video.
- H.264 (RFC 6184, packetization modes 0 and 1): the payload is a single NAL unit of a type cameras send
  (1, 5–12) with `forbidden_zero_bit` 0 and `nal_ref_idc` as H.264 §7.4.1 requires (non-zero for IDR,
  SPS and PPS; zero for SEI, AUD, end of sequence/stream and filler), an SPS with a known profile_idc;
  or a STAP-A (24) whose sizes add up exactly to the payload, each unit valid; or an FU-A (28) with the
  reserved bit 0, not both start and end, fragmenting a slice (1, 5) or an SEI (6).
- H.265 (RFC 7798): a 2-byte NAL header with F 0, nuh_layer_id 0, TemporalId+1 non-zero (and TemporalId
  0 for IRAP pictures and parameter sets), a type of 0–9, 16–21 or 32–40; or an aggregation packet (48)
  with sizes adding up exactly; or a fragmentation unit (49) of a VCL type or SEI, not both start and end.

Decision, over the payloads given (at most MAX_PAYLOADS_EXAMINED, empty ones ignored):
1. MPEG-TS if at least half the payloads are TS.
2. H.264 or H.265 if at least ES_MIN_SHARE of the payloads are valid for it (the better of the two) and
   that share is above the share of payloads with PS evidence. A true elementary stream is valid on
   every payload; bytes from the middle of a frame pass these tests by chance rarely (about one in ten
   for H.264, much less for H.265), so several payloads decide firmly.
3. MPEG-PS if any payload has PS evidence.
4. Otherwise UNKNOWN.
Give it a dozen or more payloads for a firm answer; one payload is judged by itself.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_PAYLOADS_EXAMINED = 64  # payloads looked at; more add nothing but time
ES_MIN_SHARE = 0.8  # share of payloads that must be valid RTP H.264/H.265 to call the stream that
TS_MIN_SHARE = 0.5  # share of payloads that must be MPEG-TS
TS_PACKET_SIZE = 188  # ISO/IEC 13818-1 §2.4.3.2
TS_SYNC_BYTE = 0x47  # ISO/IEC 13818-1 §2.4.3.3
TS_UNALIGNED_HITS = 3  # sync bytes 188 apart needed to call an unaligned payload TS

START_CODE = b"\x00\x00\x01"  # ISO/IEC 13818-1 §2.5.3: packet_start_code_prefix
PACK_START = 0xBA  # pack header
SYSTEM_HEADER = 0xBB
PROGRAM_STREAM_MAP = 0xBC
PROGRAM_END = 0xB9  # MPEG_program_end_code
PES_IDS_WITHOUT_HEADER = frozenset({0xBC, 0xBE, 0xBF})  # stream map, padding, private 2: no PES header fields

H264_STAP_A = 24  # RFC 6184 §5.7.1
H264_FU_A = 28  # RFC 6184 §5.8
H264_SINGLE_TYPES = frozenset(range(1, 13)) - {2, 3, 4}  # slice, IDR, SEI, SPS, PPS, AUD, end seq/stream, filler
H264_NRI_NONZERO = frozenset({5, 7, 8})  # H.264 §7.4.1: IDR, SPS and PPS are reference data
H264_NRI_ZERO = frozenset({6, 9, 10, 11, 12})  # H.264 §7.4.1: SEI, AUD, end of sequence/stream, filler
H264_SPS = 7
H264_FU_TYPES = frozenset({1, 5, 6})  # what gets fragmented: slices, and now and then a large SEI
H264_PROFILES = frozenset({66, 77, 88, 100, 110, 118, 122, 128, 134, 135, 138, 139, 144, 244, 44, 83, 86})

H265_AP = 48  # RFC 7798 §4.4.2
H265_FU = 49  # RFC 7798 §4.4.3
H265_VCL_TYPES = frozenset(range(0, 10)) | frozenset(range(16, 22))  # H.265 Table 7-1, reserved types left out
H265_SINGLE_TYPES = H265_VCL_TYPES | frozenset(range(32, 41))  # + VPS, SPS, PPS, AUD, EOS, EOB, FD, SEI
H265_FU_TYPES = H265_VCL_TYPES | {39, 40}  # what gets fragmented: slices, and large SEI (x265 writes one)
H265_TEMPORAL_ID_ZERO = frozenset(range(16, 22)) | {32, 33, 36, 37}  # H.265 §7.4.2.2: IRAP, VPS, SPS, EOS, EOB


class PayloadKind(enum.Enum):
    MPEG_PS = "mpeg-ps"
    MPEG_TS = "mpeg-ts"
    H264_ES = "h264"
    H265_ES = "h265"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PayloadScores:
    """How many of the payloads examined passed each format's test (for diagnosis messages)."""

    examined: int
    mpeg_ps: int
    mpeg_ts: int
    h264: int
    h265: int

    @property
    def kind(self) -> PayloadKind:
        """The decision of the module docstring's rules."""
        n = self.examined
        if not n:
            return PayloadKind.UNKNOWN
        if self.mpeg_ts >= TS_MIN_SHARE * n:
            return PayloadKind.MPEG_TS
        es_kind, es_count = (PayloadKind.H265_ES, self.h265) if self.h265 >= self.h264 else (
            PayloadKind.H264_ES, self.h264)
        if es_count >= ES_MIN_SHARE * n and es_count > self.mpeg_ps:
            return es_kind
        if self.mpeg_ps:
            return PayloadKind.MPEG_PS
        return PayloadKind.UNKNOWN


Payload = bytes | bytearray | memoryview


def score_payloads(payloads: Sequence[Payload]) -> PayloadScores:
    """Test each payload (up to MAX_PAYLOADS_EXAMINED non-empty ones) against every format."""
    examined = ps = ts = h264 = h265 = 0
    for raw in payloads:
        if examined == MAX_PAYLOADS_EXAMINED:
            break
        if not raw:
            continue
        data = raw if isinstance(raw, bytes) else bytes(raw)
        examined += 1
        ps += is_ps_payload(data)
        ts += is_ts_payload(data)
        h264 += is_h264_rtp_payload(data)
        h265 += is_h265_rtp_payload(data)
    return PayloadScores(examined=examined, mpeg_ps=ps, mpeg_ts=ts, h264=h264, h265=h265)


def detect_payload(payloads: Sequence[Payload]) -> PayloadKind:
    """What the stream carries, judged from its first payloads (see the module docstring)."""
    return score_payloads(payloads).kind


# -- MPEG-TS ---------------------------------------------------------------------------------------------


def is_ts_payload(data: bytes) -> bool:
    size = len(data)
    aligned = size >= TS_PACKET_SIZE and size % TS_PACKET_SIZE == 0
    if aligned and all(data[i] == TS_SYNC_BYTE for i in range(0, size, TS_PACKET_SIZE)):
        return True
    span = TS_PACKET_SIZE * (TS_UNALIGNED_HITS - 1)
    start = data.find(TS_SYNC_BYTE, 0, TS_PACKET_SIZE)
    while 0 <= start < size - span:
        if all(data[start + k * TS_PACKET_SIZE] == TS_SYNC_BYTE for k in range(1, TS_UNALIGNED_HITS)):
            return True
        start = data.find(TS_SYNC_BYTE, start + 1, TS_PACKET_SIZE)
    return False


# -- MPEG-PS ---------------------------------------------------------------------------------------------


def is_ps_payload(data: bytes) -> bool:
    """True if a program-stream structure starts anywhere in the payload."""
    pos = data.find(START_CODE)
    while pos >= 0:
        if pos + 3 < len(data) and _ps_structure_at(data, pos):
            return True
        pos = data.find(START_CODE, pos + 1)
    return False


def _ps_structure_at(data: bytes, pos: int) -> bool:
    """Whether the start code at `pos` opens a plausible PS structure; bytes past the payload end pass."""
    stream_id = data[pos + 3]
    if stream_id < PROGRAM_END:
        return False
    body = data[pos + 4 : pos + 20]
    if stream_id == PROGRAM_END:
        return True
    if stream_id == PACK_START:
        return _pack_header_ok(body)
    if stream_id == SYSTEM_HEADER:
        # header_length (2 bytes), then marker_bit + rate_bound; a header has at least 6 bytes.
        return len(body) < 3 or (((body[0] << 8) | body[1]) >= 6 and bool(body[2] & 0x80))
    if stream_id == PROGRAM_STREAM_MAP:
        # length, current_next_indicator/version, reserved + marker_bit.
        return len(body) < 4 or (((body[0] << 8) | body[1]) >= 10 and bool(body[3] & 0x01))
    if stream_id in PES_IDS_WITHOUT_HEADER:
        return True
    return _pes_header_ok(body)


def _pack_header_ok(body: bytes) -> bool:
    if not body:
        return True
    first = body[0]
    if first & 0xF1 == 0x21:
        # MPEG-1 pack: '0010' SCR[32..30] marker, then marker bits every 15 bits of SCR.
        checks = ((2, 0x01), (4, 0x01), (5, 0x80), (7, 0x01))
    elif first & 0xC4 == 0x44:
        # MPEG-2 pack: '01' SCR[32..30] marker ... (ISO/IEC 13818-1 Table 2-33).
        checks = ((2, 0x04), (4, 0x04), (5, 0x01), (8, 0x03))
    else:
        return False
    return all(body[i] & mask == mask for i, mask in checks if i < len(body))


def _pes_header_ok(body: bytes) -> bool:
    # PES_packet_length (2), then '10' + flags, PTS_DTS_flags byte, header_data_length, PTS.
    if len(body) < 3:
        return True
    flags1 = body[2]
    if flags1 & 0xC0 != 0x80:
        return False
    if len(body) < 6:
        return True
    pts_dts = body[3] >> 6
    if pts_dts == 1:
        return False  # ISO/IEC 13818-1 §2.4.3.7: '01' is forbidden
    header_length = body[4]
    if pts_dts and header_length < (5 if pts_dts == 2 else 10):
        return False
    if pts_dts and len(body) > 9:
        pts = body[5:10]
        prefix_ok = pts[0] >> 4 == (0x2 if pts_dts == 2 else 0x3)
        return prefix_ok and bool(pts[0] & 0x01) and bool(pts[2] & 0x01) and bool(pts[4] & 0x01)
    return True


# -- H.264 (RFC 6184) ------------------------------------------------------------------------------------


def is_h264_rtp_payload(data: bytes) -> bool:
    header = data[0]
    if header & 0x80:
        return False
    nal_type = header & 0x1F
    if nal_type == H264_STAP_A:
        return _h264_stap_a_ok(data)
    if nal_type == H264_FU_A:
        if len(data) < 3:
            return False
        fu = data[1]
        start, end, reserved = fu & 0x80, fu & 0x40, fu & 0x20
        inner = fu & 0x1F
        return not reserved and not (start and end) and inner in H264_FU_TYPES and _h264_nri_ok(
            header & 0x60, inner)
    return _h264_nal_ok(data, 0, len(data))


def _h264_nal_ok(data: bytes, start: int, end: int) -> bool:
    if end - start < 2:
        return False
    header = data[start]
    nal_type = header & 0x1F
    if header & 0x80 or nal_type not in H264_SINGLE_TYPES or not _h264_nri_ok(header & 0x60, nal_type):
        return False
    if nal_type == H264_SPS:
        # profile_idc, then constraint flags whose low two bits are reserved_zero_2bits.
        return end - start >= 4 and data[start + 1] in H264_PROFILES and not data[start + 2] & 0x03
    return True


def _h264_nri_ok(nri: int, nal_type: int) -> bool:
    if nal_type in H264_NRI_NONZERO:
        return nri != 0
    if nal_type in H264_NRI_ZERO:
        return nri == 0
    return True


def _h264_stap_a_ok(data: bytes) -> bool:
    return _aggregate_ok(data, 1, _h264_nal_ok)


# -- H.265 (RFC 7798) ------------------------------------------------------------------------------------


def is_h265_rtp_payload(data: bytes) -> bool:
    if len(data) < 3 or not _h265_header_ok(data, 0):
        return False
    nal_type = (data[0] >> 1) & 0x3F
    if nal_type == H265_AP:
        return _aggregate_ok(data, 2, _h265_nal_ok)
    if nal_type == H265_FU:
        fu = data[2]
        inner = fu & 0x3F
        return len(data) >= 4 and not (fu & 0x80 and fu & 0x40) and inner in H265_FU_TYPES and (
            inner not in H265_TEMPORAL_ID_ZERO or data[1] & 0x07 == 1)
    return nal_type in H265_SINGLE_TYPES


def _h265_header_ok(data: bytes, start: int) -> bool:
    first, second = data[start], data[start + 1]
    nal_type = (first >> 1) & 0x3F
    layer_id = ((first & 0x01) << 5) | (second >> 3)
    tid_plus1 = second & 0x07
    if first & 0x80 or layer_id or not tid_plus1:
        return False
    return nal_type not in H265_TEMPORAL_ID_ZERO or tid_plus1 == 1


def _h265_nal_ok(data: bytes, start: int, end: int) -> bool:
    return end - start >= 3 and _h265_header_ok(data, start) and (data[start] >> 1) & 0x3F in H265_SINGLE_TYPES


# -- aggregation packets (STAP-A, AP) --------------------------------------------------------------------


def _aggregate_ok(data: bytes, offset: int, unit_ok: Callable[[bytes, int, int], bool]) -> bool:
    """Units of a 16-bit size then the NAL unit, at least one, ending exactly at the payload end."""
    size = len(data)
    units = 0
    while offset < size:
        if offset + 2 > size:
            return False
        unit_size = (data[offset] << 8) | data[offset + 1]
        start = offset + 2
        offset = start + unit_size
        if not unit_size or offset > size or not unit_ok(data, start, offset):
            return False
        units += 1
    return units > 0
