"""Payload detection by content: PS, TS, RFC 6184 H.264, RFC 7798 H.265, and starts mid-stream."""

from __future__ import annotations

import random
import struct

import pytest

from clearsight.media.payload import (
    MAX_PAYLOADS_EXAMINED,
    PayloadKind,
    detect_payload,
    is_h264_rtp_payload,
    is_h265_rtp_payload,
    is_ps_payload,
    is_ts_payload,
    score_payloads,
)
from tests.media.media_samples import (
    EncodedVideo,
    mux_ps,
    pack_header,
    packetize_h264,
    packetize_h265,
    pes_packets,
    program_stream_map,
    split,
    system_header,
)


def h264_payloads(video: EncodedVideo) -> list[bytes]:
    return [p for unit in video.access_units for p in packetize_h264(unit)]


def h265_payloads(video: EncodedVideo) -> list[bytes]:
    return [p for unit in video.access_units for p in packetize_h265(unit)]


def ps_payloads(video: EncodedVideo) -> list[bytes]:
    """GB/T 28181 style: every frame's PS starts a new RTP payload."""
    return [p for frame in mux_ps(video) for p in split(frame)]


class TestRealStreams:
    def test_h264_rtp(self, h264_video: EncodedVideo) -> None:
        payloads = h264_payloads(h264_video)
        assert {p[0] & 0x1F for p in payloads} >= {24, 28, 1}  # STAP-A, FU-A and whole slices all occur
        assert detect_payload(payloads) is PayloadKind.H264_ES

    def test_h265_rtp(self, h265_video: EncodedVideo) -> None:
        payloads = h265_payloads(h265_video)
        assert {(p[0] >> 1) & 0x3F for p in payloads} >= {48, 49}
        assert detect_payload(payloads) is PayloadKind.H265_ES

    def test_ps_with_h264(self, h264_video: EncodedVideo) -> None:
        assert detect_payload(ps_payloads(h264_video)) is PayloadKind.MPEG_PS

    def test_ps_with_h265(self, h265_video: EncodedVideo) -> None:
        assert detect_payload(ps_payloads(h265_video)) is PayloadKind.MPEG_PS

    def test_ps_cut_anywhere(self, h264_video: EncodedVideo) -> None:
        stream = b"".join(mux_ps(h264_video))
        assert detect_payload(split(stream[333:], 1400)) is PayloadKind.MPEG_PS

    def test_ts_aligned(self, ts_bytes: bytes) -> None:
        assert detect_payload(split(ts_bytes, 7 * 188)) is PayloadKind.MPEG_TS

    def test_ts_cut_anywhere(self, ts_bytes: bytes) -> None:
        payloads = split(ts_bytes[100:], 1000)
        assert not is_ts_payload(payloads[0][:0] + b"\x47" * 5)
        assert detect_payload(payloads) is PayloadKind.MPEG_TS


class TestMidStream:
    """The first payloads seen are from the middle of a frame."""

    def test_h264_from_a_fragment(self, h264_video: EncodedVideo) -> None:
        payloads = h264_payloads(h264_video)
        middle = next(i for i, p in enumerate(payloads) if p[0] & 0x1F == 28 and not p[1] & 0x80)
        assert detect_payload(payloads[middle : middle + 12]) is PayloadKind.H264_ES

    def test_h265_from_a_fragment(self, h265_video: EncodedVideo) -> None:
        payloads = h265_payloads(h265_video)
        middle = next(i for i, p in enumerate(payloads) if (p[0] >> 1) & 0x3F == 49 and not p[2] & 0x80)
        assert detect_payload(payloads[middle : middle + 12]) is PayloadKind.H265_ES

    @pytest.mark.parametrize("skip", [1, 2, 3, 4])
    def test_ps_from_inside_a_keyframe(self, h264_video: EncodedVideo, skip: int) -> None:
        payloads = ps_payloads(h264_video)
        assert not is_ps_payload(payloads[skip])
        window = payloads[skip : skip + 16]
        assert detect_payload(window) is PayloadKind.MPEG_PS
        scores = score_payloads(window)
        assert scores.mpeg_ps < scores.examined  # most payloads carry no PS header at all

    def test_ps_without_pack_headers_still_shows_pes(self, h264_video: EncodedVideo) -> None:
        # Only PES packets (no pack/system header/PSM), as a few encoders send.
        stream = b"".join(pes_packets(0xE0, unit, i * 3600) for i, unit in enumerate(h264_video.access_units))
        assert b"\x00\x00\x01\xba" not in stream
        assert detect_payload(split(stream[50:], 1400)) is PayloadKind.MPEG_PS

    def test_only_continuation_payloads_is_unknown(self, h264_video: EncodedVideo) -> None:
        payloads = [p for p in ps_payloads(h264_video) if not is_ps_payload(p)][:4]
        assert detect_payload(payloads) is PayloadKind.UNKNOWN


class TestPsStructures:
    def test_pack_header(self) -> None:
        assert is_ps_payload(pack_header(123456789))
        assert is_ps_payload(pack_header(0)[:6])  # truncated at the payload end: what is there is fine

    def test_mpeg1_pack_header(self) -> None:
        mpeg1 = b"\x00\x00\x01\xba" + bytes([0x21, 0x00, 0x01, 0x00, 0x01, 0x80, 0x00, 0x01])
        assert is_ps_payload(mpeg1)

    def test_pack_header_with_broken_marker_bits(self) -> None:
        header = bytearray(pack_header(0))
        header[6] &= ~0x04
        assert not is_ps_payload(bytes(header))
        header = bytearray(pack_header(0))
        header[4] = 0x00
        assert not is_ps_payload(bytes(header))

    def test_system_header_and_stream_map(self) -> None:
        assert is_ps_payload(system_header())
        assert is_ps_payload(program_stream_map(0x1B))
        broken_map = bytearray(program_stream_map(0x1B))
        broken_map[7] = 0x00
        assert not is_ps_payload(bytes(broken_map))

    def test_pes_header(self) -> None:
        pes = pes_packets(0xE0, b"\x00\x00\x00\x01\x65" + bytes(50), 90000)
        assert is_ps_payload(pes)
        assert is_ps_payload(pes_packets(0xC0, bytes(20), 0))
        not_mpeg2 = bytearray(pes)
        not_mpeg2[6] = 0x0F
        assert not is_ps_payload(bytes(not_mpeg2))
        bad_pts = bytearray(pes)
        bad_pts[9] = 0x10  # PTS prefix must be 0010
        assert not is_ps_payload(bytes(bad_pts))
        forbidden_flags = bytearray(pes)
        forbidden_flags[7] = 0x40  # PTS_DTS_flags '01'
        assert not is_ps_payload(bytes(forbidden_flags))

    def test_end_code_and_padding(self) -> None:
        assert is_ps_payload(b"\x12\x00\x00\x01\xb9")
        assert is_ps_payload(b"\x00\x00\x01\xbe\x00\x04\xff\xff\xff\xff")

    def test_annex_b_start_codes_are_not_ps(self) -> None:
        assert not is_ps_payload(b"\x00\x00\x00\x01\x67\x64\x00\x1f\x00\x00\x01\x68\xee\x3c\x80")
        assert not is_ps_payload(b"\x00\x00\x01")


class TestH264Packets:
    @pytest.mark.parametrize(
        "payload",
        [
            bytes([0x65]) + bytes(20),  # IDR slice, nri 3
            bytes([0x41]) + bytes(20),  # non-IDR slice
            bytes([0x01]) + bytes(20),  # non-reference slice
            bytes([0x06, 0x05, 0x10]),  # SEI, nri 0
            bytes([0x67, 66, 0xC0, 0x1E]),  # SPS baseline
            bytes([0x68, 0xCE, 0x3C]),  # PPS
            bytes([0x09, 0x10]),  # AUD
            bytes([0x7C, 0x85]) + bytes(10),  # FU-A start of IDR
            bytes([0x5C, 0x41]) + bytes(10),  # FU-A end of slice
            bytes([0x18, 0x00, 0x04, 0x67, 77, 0x00, 0x1E, 0x00, 0x02, 0x68, 0xCE]),  # STAP-A SPS + PPS
        ],
    )
    def test_valid(self, payload: bytes) -> None:
        assert is_h264_rtp_payload(payload)

    @pytest.mark.parametrize(
        "payload",
        [
            bytes([0xE5]) + bytes(20),  # forbidden bit
            bytes([0x05]) + bytes(20),  # IDR with nri 0
            bytes([0x66, 0x05]),  # SEI with nri 3
            bytes([0x67, 42, 0x00, 0x1E]),  # SPS with an unknown profile
            bytes([0x67, 66, 0x03, 0x1E]),  # SPS with reserved bits set
            bytes([0x02]) + bytes(20),  # data partition A: not sent by cameras
            bytes([0x00]) + bytes(20),  # type 0
            bytes([0x79]) + bytes(20),  # STAP-B
            bytes([0x65]),  # header only
            bytes([0x7C, 0xC5]) + bytes(10),  # FU-A with start and end
            bytes([0x7C, 0xA5]) + bytes(10),  # FU-A reserved bit
            bytes([0x7C, 0x87]) + bytes(10),  # FU-A of an SPS
            bytes([0x7C, 0x85]),  # FU-A without data
            bytes([0x18, 0x00, 0x05, 0x67, 77, 0x00, 0x1E]),  # STAP-A size past the end
            bytes([0x18, 0x00, 0x02, 0x68, 0xCE, 0x00]),  # STAP-A trailing byte
            bytes([0x18]),  # STAP-A empty
            bytes([0x18, 0x00, 0x00]),  # STAP-A zero-size unit
            bytes([0x18, 0x00, 0x02, 0x05, 0x00]),  # STAP-A with an invalid unit
        ],
    )
    def test_invalid(self, payload: bytes) -> None:
        assert not is_h264_rtp_payload(payload)


class TestH265Packets:
    @pytest.mark.parametrize(
        "payload",
        [
            bytes([0x40, 0x01, 0x0C]),  # VPS
            bytes([0x26, 0x01, 0xAF]),  # IDR_W_RADL
            bytes([0x02, 0x01, 0xD0]),  # TRAIL_R
            bytes([0x02, 0x02, 0xD0]),  # TRAIL_R, TemporalId 1
            bytes([0x4E, 0x01, 0x05]),  # prefix SEI
            bytes([0x62, 0x01, 0x93, 0xAF]),  # FU start of IDR_W_RADL
            bytes([0x62, 0x01, 0x41, 0xAF]),  # FU end of TRAIL_R
            bytes([0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0C, 0x00, 0x03, 0x44, 0x01, 0xC1]),  # AP VPS + PPS
        ],
    )
    def test_valid(self, payload: bytes) -> None:
        assert is_h265_rtp_payload(payload)

    @pytest.mark.parametrize(
        "payload",
        [
            bytes([0xC0, 0x01, 0x0C]),  # forbidden bit
            bytes([0x40, 0x09, 0x0C]),  # nuh_layer_id 1
            bytes([0x40, 0x00, 0x0C]),  # TemporalId+1 of 0
            bytes([0x26, 0x02, 0xAF]),  # IDR with TemporalId 1
            bytes([0x16, 0x01, 0x00]),  # reserved type 11
            bytes([0x54, 0x01, 0x00]),  # reserved type 42
            bytes([0x64, 0x01, 0x00]),  # PACI
            bytes([0x26, 0x01]),  # too short
            bytes([0x62, 0x01, 0xD3, 0xAF]),  # FU start and end
            bytes([0x62, 0x01, 0x80 | 32, 0xAF]),  # FU of a VPS
            bytes([0x62, 0x01, 0x93]),  # FU without data
            bytes([0x60, 0x01, 0x00, 0x04, 0x40, 0x01, 0x0C]),  # AP size past the end
            bytes([0x60, 0x01, 0x00, 0x03, 0x40, 0x09, 0x0C]),  # AP with an invalid unit
        ],
    )
    def test_invalid(self, payload: bytes) -> None:
        assert not is_h265_rtp_payload(payload)


class TestDecision:
    def test_nothing_is_unknown(self) -> None:
        assert detect_payload([]) is PayloadKind.UNKNOWN
        assert detect_payload([b"", b""]) is PayloadKind.UNKNOWN

    def test_random_bytes_are_unknown(self) -> None:
        rng = random.Random(28181)
        payloads = [rng.randbytes(rng.randrange(100, 1400)) for _ in range(32)]
        assert detect_payload(payloads) is PayloadKind.UNKNOWN

    def test_scores_say_why(self, h264_video: EncodedVideo) -> None:
        scores = score_payloads(h264_payloads(h264_video)[:10])
        assert scores.examined == 10 and scores.h264 == 10 and scores.mpeg_ps == 0
        assert scores.kind is PayloadKind.H264_ES

    def test_mostly_valid_es_still_wins(self, h264_video: EncodedVideo) -> None:
        payloads = [*h264_payloads(h264_video)[:9], b"\x00\x00\x01\xba" + bytes(20)]
        assert detect_payload(payloads) is PayloadKind.H264_ES

    def test_ts_takes_precedence_over_the_pes_inside(self, ts_bytes: bytes) -> None:
        scores = score_payloads(split(ts_bytes, 7 * 188))
        assert scores.mpeg_ps > 0  # PES headers are visible inside TS packets ...
        assert scores.kind is PayloadKind.MPEG_TS  # ... but the 188-byte structure decides

    def test_memoryviews_are_accepted(self, h264_video: EncodedVideo) -> None:
        payloads = [memoryview(p) for p in h264_payloads(h264_video)]
        assert detect_payload(payloads) is PayloadKind.H264_ES

    def test_examines_a_bounded_number(self) -> None:
        payloads = [bytes([0x41, 0x9A])] * MAX_PAYLOADS_EXAMINED + [b"\x00\x00\x01\xba" + bytes(20)] * 100
        assert score_payloads(payloads).examined == MAX_PAYLOADS_EXAMINED
        assert detect_payload(payloads) is PayloadKind.H264_ES

    def test_single_ps_packet(self) -> None:
        payload = pack_header(0) + system_header() + program_stream_map(0x1B)
        payload += pes_packets(0xE0, struct.pack("!I", 1) + b"\x65" + bytes(30), 0)
        assert detect_payload([payload]) is PayloadKind.MPEG_PS
