"""PS demuxer: framing in any chunking, frame assembly, and every deviation devices are known for."""

from __future__ import annotations

import logging
import random
import time

import pytest

from clearsight.media.ps_demux import (
    Codec,
    EsFrame,
    PsDemuxer,
    decode_timestamp,
    guess_video_codec,
    is_keyframe,
)
from clearsight.media.ps_mux import encode_timestamp, pack_header, pes_packet, program_stream_map, system_header

FILLER = bytes(range(0x80, 0x100)) * 8  # no zero bytes: cannot form a start code


def nal(header: str, size: int = 40) -> bytes:
    return b"\x00\x00\x00\x01" + bytes.fromhex(header) + FILLER[:size]


H264_SPS, H264_PPS = nal("6742c00b", 12), nal("68ce", 4)
H264_SEI = nal("0605", 20)
H264_IDR, H264_P, H264_P2 = nal("6588", 300), nal("419a", 120), nal("419b", 90)
H264_P_SECOND_SLICE = nal("4106", 60)  # first_mb_in_slice != 0: continues the picture
H265_VPS, H265_SPS, H265_PPS = nal("40010c", 20), nal("420101", 30), nal("4401c1", 6)
H265_IDR, H265_TRAIL, H265_CRA, H265_BLA = nal("2601af", 300), nal("0201d0", 90), nal("2a01af"), nal("2001af")
H264_KEY = H264_SPS + H264_PPS + H264_IDR
H265_KEY = H265_VPS + H265_SPS + H265_PPS + H265_IDR
H264_PSM = program_stream_map([(0x1B, 0xE0)])
SLOW_SECONDS = 20.0  # a linear parser takes well under a second; a quadratic one takes hours


def pes(payload: bytes, pts: int | None = None, dts: int | None = None, stream_id: int = 0xE0) -> bytes:
    return pes_packet(stream_id, payload, pts, dts, aligned=pts is not None)


def keyframe_pack(payload: bytes, pts: int | None, psm: bytes = H264_PSM) -> bytes:
    return pack_header(pts or 0) + system_header([0xE0]) + psm + pes(payload, pts)


def demux(data: bytes, *, chunk: int | None = None, flush: bool = True, **options: int) -> tuple[list[EsFrame],
                                                                                                   PsDemuxer]:
    demuxer = PsDemuxer(label="34020000001320000001", **options)
    step = chunk or max(len(data), 1)
    frames: list[EsFrame] = []
    for i in range(0, len(data), step):
        demuxer.feed(data[i:i + step])
        frames.extend(demuxer.frames())
    if flush:
        demuxer.flush()
        frames.extend(demuxer.frames())
    return frames, demuxer


def summary(frames: list[EsFrame]) -> list[tuple[int | None, bytes, bool]]:
    return [(f.pts, f.data, f.keyframe) for f in frames]


def h264_gop() -> bytes:
    return (keyframe_pack(H264_KEY, 0) + pack_header(3600) + pes(H264_P, 3600)
            + pack_header(7200) + pes(H264_P2, 7200))


H264_GOP_FRAMES = [(0, H264_KEY, True), (3600, H264_P, False), (7200, H264_P2, False)]


# --- basics ---

def test_empty_and_next_frame() -> None:
    demuxer = PsDemuxer()
    assert demuxer.next_frame() is None
    demuxer.feed(b"")
    demuxer.feed(h264_gop())
    first = demuxer.next_frame()
    assert first is not None and first.data == H264_KEY and first.is_video
    assert first.codec is Codec.H264 and first.stream_id == 0xE0
    demuxer.feed(pack_header(10800))  # a pack header alone does not end the frame in progress
    assert demuxer.next_frame() is not None  # the second frame, which the third one's PES ended
    assert demuxer.next_frame() is None
    demuxer.flush()
    last = demuxer.next_frame()
    assert last is not None and last.pts == 7200
    assert demuxer.stats.frames == 3


@pytest.mark.parametrize("chunk", [None, 1, 2, 7, 100])
def test_gop_in_any_chunking(chunk: int | None) -> None:
    frames, demuxer = demux(h264_gop(), chunk=chunk)
    assert summary(frames) == H264_GOP_FRAMES
    assert demuxer.codecs == {0xE0: Codec.H264}
    assert (demuxer.stats.bytes_skipped, demuxer.stats.resyncs, demuxer.stats.crc_errors) == (0, 0, 0)
    assert demuxer.last_scr == 7200


def test_timestamps_pts_and_dts() -> None:
    stream = keyframe_pack(H264_KEY, 7200) + pack_header(3600) + pes(H264_P, 14400, 10800)
    frames, _ = demux(stream)
    assert [(f.pts, f.dts) for f in frames] == [(7200, None), (14400, 10800)]


def test_decode_timestamp_and_markers() -> None:
    assert decode_timestamp(encode_timestamp(0b0010, 0x1_2345_6789), 0) == (0x1_2345_6789, True)
    assert decode_timestamp(bytes.fromhex("2000000000"), 0) == (0, False)


# --- frame assembly ---

def test_frame_split_over_pes_only_first_with_pts() -> None:
    frame = H264_KEY + nal("6588", 2000)
    parts = [frame[:700], frame[700:1500], frame[1500:]]
    stream = (pack_header(0) + system_header([0xE0]) + H264_PSM + pes(parts[0], 0) + pes(parts[1]) + pes(parts[2])
              + pack_header(3600) + pes(H264_P, 3600))
    frames, _ = demux(stream, chunk=13)
    assert summary(frames) == [(0, frame, True), (3600, H264_P, False)]


def test_a_frame_end_told_by_the_caller_releases_the_frame_at_once() -> None:
    demuxer = PsDemuxer()
    frame = H264_KEY + nal("6588", 2000)
    parts = (pack_header(0) + H264_PSM + pes(frame[:700], 0) + pes(frame[700:]),
             pack_header(3600) + pes(H264_P, 3600), pack_header(7200) + pes(H264_P2, 7200))
    for data, expected in zip(parts, [(0, frame, True), (3600, H264_P, False), (7200, H264_P2, False)], strict=True):
        demuxer.feed(data[:30])
        demuxer.feed(data[30:], frame_end=True)
        assert summary(list(demuxer.frames())) == [expected]
    assert demuxer.stats.bytes_skipped == 0


def test_a_frame_end_inside_a_packet_releases_nothing() -> None:
    demuxer = PsDemuxer()
    data = keyframe_pack(H264_KEY, 0)
    demuxer.feed(data[:-5], frame_end=True)  # a sender whose boundary is not a frame's: the PES is not all in
    assert demuxer.next_frame() is None
    demuxer.feed(data[-5:], frame_end=True)
    assert summary(list(demuxer.frames())) == [(0, H264_KEY, True)]


def test_a_new_pts_ends_the_frame_as_soon_as_its_pes_header_is_in() -> None:
    demuxer = PsDemuxer()
    demuxer.feed(keyframe_pack(H264_KEY, 0))
    assert demuxer.next_frame() is None
    following = pack_header(3600) + pes(H264_P, 3600)
    demuxer.feed(following[: 14 + 14 + 4])  # pack header, PES header with its PTS, a few bytes of the picture
    assert summary(list(demuxer.frames())) == [(0, H264_KEY, True)]
    demuxer.feed(following[32:] + pack_header(7200))
    demuxer.flush()
    assert summary(list(demuxer.frames())) == [(3600, H264_P, False)]


def test_a_discontinuity_drops_the_frame_in_progress_and_resyncs() -> None:
    demuxer = PsDemuxer()
    demuxer.feed(keyframe_pack(H264_KEY, 0), frame_end=True)
    frame = H264_P + nal("0188", 2000)
    damaged = pack_header(3600) + pes(frame[:500], 3600) + pes(frame[500:])
    demuxer.feed(damaged[:700])  # the first PES, and part of the second; then input is lost
    demuxer.discontinuity()
    demuxer.feed(damaged[900:])  # the rest of the damaged frame: no start code to take up
    demuxer.feed(pack_header(7200) + pes(H264_P2, 7200), frame_end=True)
    assert summary(list(demuxer.frames())) == [(0, H264_KEY, True), (7200, H264_P2, False)]
    stats = demuxer.stats
    assert (stats.discontinuities, stats.frames_dropped, stats.resyncs) == (1, 1, 0)
    # Everything of the damaged frame that arrived but its pack header and its first PES header (14 bytes each).
    assert stats.bytes_skipped == len(damaged) - 200 - 14 - 14


def test_parameter_sets_and_picture_in_separate_packs_with_one_pts() -> None:
    stream = (pack_header(0) + H264_PSM + pes(H264_SPS + H264_PPS, 0) + pack_header(0) + pes(H264_IDR, 0)
              + pack_header(3600) + pes(H264_P, 3600))
    frames, _ = demux(stream)
    assert summary(frames) == [(0, H264_KEY, True), (3600, H264_P, False)]


def test_device_with_constant_pts_split_by_access_unit_start() -> None:
    stream = keyframe_pack(H264_KEY, 0) + pack_header(0) + pes(H264_P, 0) + pack_header(0) + pes(H264_P2, 0)
    frames, _ = demux(stream)
    assert summary(frames) == [(0, H264_KEY, True), (0, H264_P, False), (0, H264_P2, False)]


def test_second_slice_in_its_own_pack_stays_in_the_picture() -> None:
    stream = keyframe_pack(H264_KEY, 0) + pack_header(3600) + pes(H264_P, 3600) + pack_header(3600) \
        + pes(H264_P_SECOND_SLICE) + pack_header(7200) + pes(H264_P2, 7200)
    frames, _ = demux(stream)
    assert summary(frames) == [(0, H264_KEY, True), (3600, H264_P + H264_P_SECOND_SLICE, False),
                               (7200, H264_P2, False)]


def test_missing_pts_gives_none() -> None:
    stream = keyframe_pack(H264_KEY, None) + pack_header(3600) + pes(H264_P) + pack_header(7200) + pes(H264_P2)
    frames, _ = demux(stream, chunk=5)
    assert summary(frames) == [(None, H264_KEY, True), (None, H264_P, False), (None, H264_P2, False)]


def test_pts_missing_on_some_frames_only() -> None:
    stream = keyframe_pack(H264_KEY, 0) + pack_header(3600) + pes(H264_P) + pack_header(7200) + pes(H264_P2, 7200)
    frames, _ = demux(stream)
    assert summary(frames) == [(0, H264_KEY, True), (None, H264_P, False), (7200, H264_P2, False)]


def test_pack_per_pes_continuation_without_pts() -> None:
    first, rest = H264_P[:50], H264_P[50:]  # the device cuts the frame mid-NAL, a pack header before each PES
    stream = keyframe_pack(H264_KEY, 0) + pack_header(3600) + pes(first, 3600) + pack_header(3600) + pes(rest) \
        + pack_header(7200) + pes(H264_P2, 7200)
    frames, _ = demux(stream)
    assert summary(frames) == [(0, H264_KEY, True), (3600, H264_P, False), (7200, H264_P2, False)]


def test_program_end_code_releases_frames() -> None:
    stream = h264_gop() + b"\x00\x00\x01\xb9"
    frames, demuxer = demux(stream, flush=False)
    assert summary(frames) == H264_GOP_FRAMES
    assert demuxer.stats.bytes_skipped == 0


def test_two_video_streams_are_assembled_apart() -> None:
    stream = (pack_header(0) + pes(H264_KEY, 0, stream_id=0xE0) + pes(H264_KEY, 0, stream_id=0xE1)
              + pack_header(3600) + pes(H264_P, 3600, stream_id=0xE0) + pes(H264_P2, 3600, stream_id=0xE1))
    frames, _ = demux(stream)
    assert sorted((f.stream_id, f.pts, f.data) for f in frames) == [
        (0xE0, 0, H264_KEY), (0xE0, 3600, H264_P), (0xE1, 0, H264_KEY), (0xE1, 3600, H264_P2)]


def test_h264_delimiter_and_sei_start_frames_without_pts() -> None:
    aud, sei = nal("0910", 1), nal("0605", 8)
    stream = keyframe_pack(H264_KEY, None) + pack_header(0) + pes(aud + H264_P) + pack_header(0) + pes(sei + H264_P2)
    frames, _ = demux(stream)
    assert summary(frames) == [(None, H264_KEY, True), (None, aud + H264_P, False), (None, sei + H264_P2, False)]


def test_h265_without_pts_split_by_access_unit() -> None:
    second_segment = nal("020150", 30)  # first_slice_segment_in_pic_flag 0
    sei, aud = nal("4e0105", 10), nal("460150", 1)
    stream = (pack_header(0) + program_stream_map([(0x24, 0xE0)]) + pes(H265_VPS + H265_SPS + H265_PPS)
              + pack_header(0) + pes(H265_IDR) + pack_header(0) + pes(H265_TRAIL) + pack_header(0)
              + pes(second_segment) + pack_header(0) + pes(sei + H265_TRAIL) + pack_header(0) + pes(aud + H265_TRAIL))
    frames, _ = demux(stream, chunk=9)
    assert summary(frames) == [(None, H265_KEY, True), (None, H265_TRAIL + second_segment, False),
                               (None, sei + H265_TRAIL, False), (None, aud + H265_TRAIL, False)]
    assert {f.codec for f in frames} == {Codec.H265}


def test_other_video_codec_frames_per_pack() -> None:
    vop = b"\x00\x00\x01\xb6" + FILLER[:30]  # MPEG-4 visual object plane
    stream = pack_header(0) + program_stream_map([(0x10, 0xE0)]) + pes(vop) + pack_header(0) + pes(vop)
    frames, _ = demux(stream)
    assert [(f.codec, f.keyframe, f.data) for f in frames] == [(Codec.MPEG4, False, vop)] * 2


# --- keyframes and codecs ---

@pytest.mark.parametrize(("codec", "data", "key"), [
    (Codec.H264, H264_KEY, True),
    (Codec.H264, H264_IDR, True),
    (Codec.H264, H264_SPS, True),
    (Codec.H264, H264_SEI + H264_P, False),
    (Codec.H265, H265_KEY, True),
    (Codec.H265, H265_CRA, True),
    (Codec.H265, H265_BLA, True),
    (Codec.H265, H265_VPS, True),
    (Codec.H265, H265_TRAIL, False),
    (Codec.AAC, H264_KEY, False),
])
def test_keyframe_flag(codec: Codec, data: bytes, key: bool) -> None:
    heads = [data[i + 3:i + 6] for i in range(len(data) - 3) if data[i:i + 3] == b"\x00\x00\x01"]
    assert is_keyframe(codec, heads) is key


def test_guess_video_codec_from_nal_headers() -> None:
    assert guess_video_codec([b"\x67\x42\xc0", b"\x68\xce", b"\x06\x05", b"\x65\x88"]) is Codec.H264
    assert guess_video_codec([b"\x41\x9a"]) is Codec.H264
    assert guess_video_codec([b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1", b"\x26\x01\xaf"]) is Codec.H265
    assert guess_video_codec([b"\x02\x01\xd0"]) is Codec.H265
    assert guess_video_codec([]) is Codec.UNKNOWN
    assert guess_video_codec([b"\xff\xff"]) is Codec.UNKNOWN


@pytest.mark.parametrize(("key", "later", "codec"), [
    (H264_SEI + H264_KEY, H264_P, Codec.H264),
    (H265_KEY, H265_TRAIL, Codec.H265),
])
def test_no_psm_codec_guessed(key: bytes, later: bytes, codec: Codec) -> None:
    stream = pack_header(0) + system_header([0xE0]) + pes(key, 0) + pack_header(3600) + pes(later, 3600)
    frames, demuxer = demux(stream, chunk=3)
    assert [(f.codec, f.keyframe, f.data) for f in frames] == [(codec, True, key), (codec, False, later)]
    assert demuxer.codecs == {}


def test_psm_declares_codecs() -> None:
    psm = program_stream_map([(0x24, 0xE0), (0x0F, 0xC0), (0x90, 0xC1), (0x91, 0xC2), (0x10, 0xE1), (0x80, 0xE2)])
    frames, demuxer = demux(pack_header(0) + psm + pes(H265_KEY, 0))
    assert demuxer.codecs == {0xE0: Codec.H265, 0xC0: Codec.AAC, 0xC1: Codec.G711A, 0xC2: Codec.G711U,
                              0xE1: Codec.MPEG4, 0xE2: Codec.UNKNOWN}
    assert [(f.codec, f.keyframe) for f in frames] == [(Codec.H265, True)]


def test_psm_with_descriptors_parsed() -> None:
    body = bytes.fromhex("E0FF 0003 0A0102 000A 1BE0 0002 AABB 90C0 0000")  # info and ES descriptors
    psm = b"\x00\x00\x01\xbc" + (len(body) + 4).to_bytes(2, "big") + body + b"\x00\x00\x00\x00"
    _, demuxer = demux(pack_header(0) + psm + pes(H264_KEY, 0))
    assert demuxer.codecs == {0xE0: Codec.H264, 0xC0: Codec.G711A}


def test_unknown_stream_type_falls_back_to_guess() -> None:
    frames, _ = demux(keyframe_pack(H264_KEY, 0, program_stream_map([(0x80, 0xE0)])))
    assert [f.codec for f in frames] == [Codec.H264]


def test_psm_crc_mismatch_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    bad = H264_PSM[:-1] + bytes([H264_PSM[-1] ^ 0xFF])
    stream = keyframe_pack(H264_KEY, 0, bad) + keyframe_pack(H264_KEY, 3600, bad)
    with caplog.at_level(logging.DEBUG, logger="clearsight.media.ps_demux"):
        frames, demuxer = demux(stream)
    assert [(f.codec, f.pts) for f in frames] == [(Codec.H264, 0), (Codec.H264, 3600)]
    assert demuxer.stats.crc_errors == 2
    assert demuxer.codecs == {0xE0: Codec.H264}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "CRC" in warnings[0].getMessage()
    assert "34020000001320000001" in warnings[0].getMessage()


def test_malformed_psm_ignored() -> None:
    psm = b"\x00\x00\x01\xbc\x00\x0a\xe0\xff\x00\x40\x00\x00\x00\x00\x00\x00"  # info length runs past the end
    frames, demuxer = demux(pack_header(0) + psm + pes(H264_KEY, 0))
    assert demuxer.codecs == {} and [f.codec for f in frames] == [Codec.H264]


# --- audio ---

def test_audio_frames() -> None:
    psm = program_stream_map([(0x1B, 0xE0), (0x90, 0xC0)])
    stream = (keyframe_pack(H264_KEY, 0, psm) + pes(b"\xd5" * 160, 0, stream_id=0xC0)
              + pack_header(1800) + pes(b"\x55" * 160, 1800, stream_id=0xC0) + pes(b"", 1800, stream_id=0xC0))
    frames, _ = demux(stream, chunk=11)
    assert [(f.stream_id, f.codec, f.pts, f.keyframe, f.is_video) for f in frames] == [
        (0xC0, Codec.G711A, 0, True, False), (0xC0, Codec.G711A, 1800, True, False),
        (0xE0, Codec.H264, 0, True, True)]


def test_audio_without_psm() -> None:
    adts = bytes.fromhex("FFF15080 02 1F FC") + b"\x21" * 9
    stream = pack_header(0) + pes(adts, 0, stream_id=0xC0) + pes(b"\xd5" * 8, 90, stream_id=0xC1)
    frames, _ = demux(stream)
    assert [(f.codec, f.data) for f in frames] == [(Codec.AAC, adts), (Codec.UNKNOWN, b"\xd5" * 8)]


# --- other packets and header variants ---

def test_system_header_private_and_padding_streams_skipped() -> None:
    other = b"".join(b"\x00\x00\x01" + bytes([sid]) + b"\x00\x04" + b"\x00\x00\x01\xba"
                     for sid in (0xBD, 0xBE, 0xBF, 0xF0, 0xFF))
    stream = pack_header(0) + system_header([0xE0, 0xC0]) + other + H264_PSM + pes(H264_KEY, 0) + other \
        + pack_header(3600) + pes(H264_P, 3600)
    frames, demuxer = demux(stream, chunk=3)
    assert summary(frames) == H264_GOP_FRAMES[:2]
    assert demuxer.stats.bytes_skipped == 0 and demuxer.stats.resyncs == 0


def test_pack_stuffing_and_pes_header_stuffing() -> None:
    stuffed_pack = pack_header(0)[:13] + bytes([0xF8 | 3]) + b"\xff\xff\xff"
    pts = encode_timestamp(0b0010, 900)
    stuffed_pes = b"\x00\x00\x01\xe0" + (3 + 9 + len(H264_KEY)).to_bytes(2, "big") + b"\x84\x80\x09" + pts \
        + b"\xff" * 4 + H264_KEY
    frames, demuxer = demux(stuffed_pack + stuffed_pes + stuffed_pack + pes(H264_P, 4500), chunk=2)
    assert summary(frames) == [(900, H264_KEY, True), (4500, H264_P, False)]
    assert demuxer.stats.bytes_skipped == 0


def test_mpeg1_pack_and_packet_headers() -> None:
    scr = 0x1_0000_1234
    mpeg1_pack = b"\x00\x00\x01\xba" + encode_timestamp(0b0010, scr) + bytes.fromhex("80 4E 21")  # mux rate 10000
    # MPEG-1 packet header: two stuffing bytes, STD buffer scale/size, then PTS+DTS.
    header = b"\xff\xff" + bytes.fromhex("6020") + encode_timestamp(0b0011, 7200) + encode_timestamp(0b0001, 3600)
    packet = b"\x00\x00\x01\xe0" + (len(header) + len(H264_KEY)).to_bytes(2, "big") + header + H264_KEY
    plain = b"\x0f" + H264_P  # no timestamps
    packet2 = b"\x00\x00\x01\xe0" + len(plain).to_bytes(2, "big") + plain
    frames, demuxer = demux(mpeg1_pack + packet + mpeg1_pack + packet2, chunk=4)
    assert [(f.pts, f.dts, f.data) for f in frames] == [(7200, 3600, H264_KEY), (None, None, H264_P)]
    assert demuxer.last_scr == scr
    assert demuxer.stats.bytes_skipped == 0


def test_unbounded_video_pes() -> None:
    unbounded = b"\x00\x00\x01\xe0\x00\x00\x84\x80\x05" + encode_timestamp(0b0010, 0) + H264_KEY
    stream = pack_header(0) + H264_PSM + unbounded + pack_header(3600) + pes(H264_P, 3600)
    for chunk in (None, 1, 5):
        frames, demuxer = demux(stream, chunk=chunk)
        assert summary(frames) == H264_GOP_FRAMES[:2]
        assert demuxer.stats.bytes_skipped == 0
    frames, _ = demux(pack_header(0) + unbounded, chunk=3)  # ended by the end of the stream
    assert summary(frames) == [(0, H264_KEY, True)]


# --- damage ---

def test_garbage_between_packs_resyncs_and_counts() -> None:
    garbage = [b"\xaa" * 100, b"\x00\x00\x01\x05junk\x00\x00", b"\x00\x00\x01\xe0\x00\x10" + b"\x55" * 40]
    stream = (keyframe_pack(H264_KEY, 0) + garbage[0] + pack_header(3600) + pes(H264_P, 3600) + garbage[1]
              + pack_header(7200) + pes(H264_P2, 7200) + garbage[2] + pack_header(10800) + pes(H264_P, 10800))
    for chunk in (None, 1, 3, 64):
        frames, demuxer = demux(stream, chunk=chunk)
        assert summary(frames) == [*H264_GOP_FRAMES, (10800, H264_P, False)]
        assert demuxer.stats.resyncs == 3
        assert demuxer.stats.bytes_skipped == sum(map(len, garbage))


def test_joining_mid_stream() -> None:
    stream = h264_gop()
    cut = stream.index(pack_header(3600)) - 17
    frames, demuxer = demux(stream[cut:], chunk=7)
    assert summary(frames) == H264_GOP_FRAMES[1:]
    assert demuxer.stats.resyncs == 1 and demuxer.stats.bytes_skipped == 17


def test_truncated_pes_cut_at_next_pack() -> None:
    lost = pes(H264_P, 3600)[:-60]  # the device (or the network) lost the end of this PES
    stream = keyframe_pack(H264_KEY, 0) + pack_header(3600) + lost + pack_header(7200) + pes(H264_P2, 7200) \
        + pack_header(10800) + pes(H264_P, 10800)
    for chunk in (None, 1):
        frames, demuxer = demux(stream, chunk=chunk)
        assert summary(frames) == [(0, H264_KEY, True), (3600, H264_P[:-60], False), (7200, H264_P2, False),
                                   (10800, H264_P, False)]
        assert demuxer.stats.truncated_pes == 1
        assert demuxer.stats.resyncs == 0


def test_truncated_at_end_of_stream_counted_as_skipped() -> None:
    stream = h264_gop() + pack_header(10800) + pes(H264_P, 10800)[:50]
    frames, demuxer = demux(stream)
    assert summary(frames) == H264_GOP_FRAMES
    assert demuxer.stats.bytes_skipped == 50


def test_fake_start_code_in_garbage_rejected() -> None:
    # A plausible PES header in garbage, not followed by a start code where its length says it ends.
    fake = b"\x00\x00\x01\xe0\x00\x0e\x84\x80\x05" + encode_timestamp(0b0010, 99) + b"\x00\x00\x00\x01\x65\x11"
    stream = keyframe_pack(H264_KEY, 0) + b"\x77" + fake + b"\x88" * 10 + pack_header(3600) + pes(H264_P, 3600)
    frames, demuxer = demux(stream, chunk=2)
    assert summary(frames) == H264_GOP_FRAMES[:2]
    assert demuxer.stats.bytes_skipped == 1 + len(fake) + 10


def test_corrupt_marker_bits_rejected_only_out_of_sync() -> None:
    bad_pack = bytearray(pack_header(3600))
    bad_pack[9] &= 0xFE  # clear a marker bit
    in_sync = keyframe_pack(H264_KEY, 0) + bytes(bad_pack) + pes(H264_P, 3600)
    frames, demuxer = demux(in_sync)
    assert summary(frames) == H264_GOP_FRAMES[:2] and demuxer.stats.resyncs == 0
    out_of_sync = keyframe_pack(H264_KEY, 0) + b"\x99" + bytes(bad_pack) + pes(H264_P, 3600) \
        + pack_header(7200) + pes(H264_P2, 7200)
    frames, demuxer = demux(out_of_sync)
    assert summary(frames) == H264_GOP_FRAMES  # resynced on the PES after the rejected pack header
    assert demuxer.stats.resyncs == 1 and demuxer.stats.bytes_skipped == 1 + len(bad_pack)


@pytest.mark.parametrize(("bad", "skipped"), [
    (b"\x00\x00\x01\xc0\x00\x00", 6),  # audio PES without a length
    (b"\x00\x00\x01\xe0\x00\x02\x80\x80", 8),  # MPEG-2 header longer than the packet
    (b"\x00\x00\x01\xe0\x00\x05\x80\x80\x09\x21\x00", 11),  # PES_header_data_length past the end
    (b"\x00\x00\x01\xe0\x00\x05\x80\x80\x02\x21\x00", 11),  # PTS flagged, header too short for it
    (b"\x00\x00\x01\xe0\x00\x03\xff\xff\xff", 9),  # MPEG-1 header all stuffing
    (b"\x00\x00\x01\xe0\x00\x03\x55\x55\x55", 9),  # MPEG-1 header with an unknown field
    (b"\x00\x00\x01\xe0\x00\x00\x0f", 7),  # unbounded PES needs an MPEG-2 header
    (b"\x00\x00\x01\xba\xc0\x00", 6),  # pack header neither MPEG-1 nor MPEG-2
    (b"\x99\x00\x00\x01\xbc\x00\x02\xe0\xff", 9),  # out of sync: a map too short to be one
    (b"\x99\x00\x00\x01\xbd\x00\x40", 7),  # out of sync: a start code inside its declared length
    (b"\x99\x00\x00\x01\xe0\x00\x40\x80\x00\x00", 10),  # out of sync: same, for video
    (b"\x99" + pes(H264_P2, 3600)[:13] + b"\x20" + pes(H264_P2, 3600)[14:], 1 + len(pes(H264_P2, 3600))),  # bad marker
])
def test_invalid_headers_skipped(bad: bytes, skipped: int) -> None:
    stream = keyframe_pack(H264_KEY, 0) + bad + pack_header(3600) + pes(H264_P, 3600)
    for chunk in (None, 1):
        frames, demuxer = demux(stream, chunk=chunk)
        assert summary(frames) == H264_GOP_FRAMES[:2]
        assert (demuxer.stats.resyncs, demuxer.stats.bytes_skipped) == (1, skipped)


def test_oversized_program_stream_map_skipped() -> None:
    body = bytes.fromhex("E0FF 0000 07D0") + bytes.fromhex("1BE00000") * 500
    psm = b"\x00\x00\x01\xbc" + (len(body) + 4).to_bytes(2, "big") + body + b"\x00" * 4
    frames, demuxer = demux(pack_header(0) + psm + pes(H264_KEY, 0))
    assert demuxer.codecs == {} and demuxer.stats.crc_errors == 0
    assert [f.codec for f in frames] == [Codec.H264]


def test_buffer_cap_drops_and_resyncs(caplog: pytest.LogCaptureFixture) -> None:
    endless = b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + nal("41", 200) * 100  # unbounded PES, no end in sight
    stream = pack_header(0) + endless + keyframe_pack(H264_KEY, 3600)
    with caplog.at_level(logging.WARNING, logger="clearsight.media.ps_demux"):
        frames, demuxer = demux(stream, chunk=1000, max_buffer=8000)
    assert demuxer.stats.overflows >= 1
    assert demuxer.stats.resyncs >= 1
    assert frames[-1].data == H264_KEY and frames[-1].pts == 3600
    assert any("dropped" in r.getMessage() for r in caplog.records)


def test_frame_cap_drops_the_frame() -> None:
    parts = [pes(nal("6588", 900), 0)] + [pes(FILLER[:900]) for _ in range(12)]
    stream = pack_header(0) + b"".join(parts) + pack_header(3600) + pes(H264_P, 3600)
    frames, demuxer = demux(stream, max_buffer=8000)
    assert summary(frames) == [(3600, H264_P, False)]
    assert demuxer.stats.overflows == 1


# --- hostile input stays linear ---

def feed_timed(data: bytes, chunk: int) -> tuple[float, PsDemuxer]:
    demuxer = PsDemuxer()
    start = time.perf_counter()
    for i in range(0, len(data), chunk):
        demuxer.feed(data[i:i + chunk])
        list(demuxer.frames())
    demuxer.flush()
    list(demuxer.frames())
    return time.perf_counter() - start, demuxer


def test_one_megabyte_of_random_bytes() -> None:
    data = random.Random(28181).randbytes(1 << 20)
    elapsed, demuxer = feed_timed(data, 1400)
    assert elapsed < SLOW_SECONDS
    assert demuxer.stats.bytes_skipped > (1 << 20) * 0.9


@pytest.mark.parametrize("pattern", [
    b"\x00\x00\x01\xe0\xff\xff",  # PES headers claiming 64 KiB, each a false start
    b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01\x00\x9c\x43\xf8\x00",  # valid-looking packs, never followed up
    b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00\x00\x00",  # unbounded PES headers
    b"\x00\x00\x01\xbc\xff\xf0",  # huge program stream maps
    b"\x00\x00",  # an endless almost-start-code
])
def test_hostile_patterns_stay_linear(pattern: bytes) -> None:
    data = pattern * ((1 << 20) // len(pattern))
    elapsed, _ = feed_timed(data, 1400)
    assert elapsed < SLOW_SECONDS


def test_hostile_byte_by_byte() -> None:
    data = b"\x00\x00\x01\xe0\xff\xff" * 20_000 + h264_gop()
    elapsed, demuxer = feed_timed(data, 1)
    assert elapsed < SLOW_SECONDS
    assert demuxer.stats.frames >= 2  # the good stream after the noise still comes through
