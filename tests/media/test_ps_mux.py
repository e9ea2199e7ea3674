"""PS muxer: every header byte for byte, mux→demux round trips of real H.264/H.265, FFmpeg accepts the output."""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass
from fractions import Fraction

import av
import pytest

from clearsight.media.ps_demux import Codec, EsFrame, PsDemuxer, crc32_mpeg
from clearsight.media.ps_mux import (
    MAX_PES_PAYLOAD,
    PsMuxer,
    UnsupportedCodec,
    encode_timestamp,
    pack_header,
    packetize_ps_for_rtp,
    pes_packet,
    program_stream_map,
    system_header,
)

WIDTH, HEIGHT, FRAMES = 160, 120, 24
TICKS_PER_FRAME = 3600  # 90 kHz at 25 frames/s
PTS_OFFSET = 90_000  # keeps B-frame DTS (negative at the encoder) positive


def bits(layout: str) -> bytes:
    """Bytes from a string of 0/1 (spaces ignored): the header layouts of 13818-1 written out by hand."""
    digits = layout.replace(" ", "")
    assert len(digits) % 8 == 0, len(digits)
    return int(digits, 2).to_bytes(len(digits) // 8, "big")


def field(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def crc32_bitwise(data: bytes) -> int:
    """CRC-32/MPEG-2 one bit at a time, independent of the table-driven one under test."""
    crc = 0xFFFFFFFF
    for byte in data:
        for i in range(7, -1, -1):
            top = ((crc >> 31) & 1) ^ ((byte >> i) & 1)
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= 0x04C11DB7
    return crc


@dataclass(frozen=True)
class EncodedFrame:
    data: bytes
    pts: int
    dts: int
    keyframe: bool


def encode(codec_name: str, options: dict[str, str]) -> list[EncodedFrame]:
    context = av.CodecContext.create(codec_name, "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    context.time_base = Fraction(1, 25)
    context.framerate = Fraction(25)
    context.thread_count = 1
    context.options = options
    rng = random.Random(7)
    packets = []
    for index in range(FRAMES):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane in frame.planes:  # a moving gradient with a little noise: small but not trivial frames
            plane.update(bytes((index * 5 + i + rng.randrange(8)) & 0xFF for i in range(plane.buffer_size)))
        frame.pts = index
        packets += context.encode(frame)
    packets += context.encode(None)
    frames = []
    for packet in packets:
        assert packet.pts is not None and packet.dts is not None
        frames.append(EncodedFrame(bytes(packet), PTS_OFFSET + packet.pts * TICKS_PER_FRAME,
                                   PTS_OFFSET + packet.dts * TICKS_PER_FRAME, packet.is_keyframe))
    return frames


@pytest.fixture(scope="session")
def h264_frames() -> list[EncodedFrame]:
    return encode("libx264", {"preset": "ultrafast", "x264-params": "bframes=2:keyint=10:threads=1"})


@pytest.fixture(scope="session")
def h265_frames() -> list[EncodedFrame]:
    return encode("libx265", {"preset": "ultrafast",
                              "x265-params": "log-level=error:pools=none:frame-threads=1:keyint=10"})


@pytest.fixture(params=["h264", "h265"])
def coded(request: pytest.FixtureRequest, h264_frames: list[EncodedFrame],
          h265_frames: list[EncodedFrame]) -> tuple[Codec, list[EncodedFrame]]:
    if request.param == "h264":
        return Codec.H264, h264_frames
    return Codec.H265, h265_frames


def mux_all(codec: Codec, frames: list[EncodedFrame], max_pes_payload: int = MAX_PES_PAYLOAD) -> bytes:
    muxer = PsMuxer(codec, max_pes_payload=max_pes_payload)
    return b"".join(muxer.mux(f.data, f.pts, f.keyframe, f.dts) for f in frames)


def demux_chunks(chunks: list[bytes]) -> tuple[list[EsFrame], PsDemuxer]:
    demuxer = PsDemuxer(label="test")
    out: list[EsFrame] = []
    for chunk in chunks:
        demuxer.feed(chunk)
        out.extend(demuxer.frames())
    demuxer.flush()
    out.extend(demuxer.frames())
    return out, demuxer


# --- headers, byte for byte ---

@pytest.mark.parametrize(("value", "expected"), [
    (0, "21 00 01 00 01"),
    (90_000, "21 00 05 BF 21"),
    (1 << 32, "29 00 01 00 01"),
    ((1 << 33) - 1, "2F FF FF FF FF"),
])
def test_pts_constants(value: int, expected: str) -> None:
    assert encode_timestamp(0b0010, value) == bytes.fromhex(expected)


@pytest.mark.parametrize("value", [0, 1, 90_000, 0x1_2345_6789, (1 << 33) - 1, 0x0_8000_4000])
@pytest.mark.parametrize("prefix", [0b0010, 0b0011, 0b0001])
def test_timestamp_bit_layout(prefix: int, value: int) -> None:
    v = field(value, 33)
    # prefix, PTS[32..30], marker, PTS[29..15], marker, PTS[14..0], marker
    assert encode_timestamp(prefix, value) == bits(f"{field(prefix, 4)} {v[0:3]} 1 {v[3:18]} 1 {v[18:33]} 1")


def test_timestamp_wraps_at_33_bits() -> None:
    assert encode_timestamp(0b0010, (1 << 33) + 5) == encode_timestamp(0b0010, 5)


def test_pack_header_at_zero() -> None:
    assert pack_header(0, 10_000) == bytes.fromhex("000001BA 44 00 04 00 04 01 00 9C 43 F8")


@pytest.mark.parametrize("scr", [0, 3600, 0x1_2345_6789, (1 << 33) - 1])
@pytest.mark.parametrize("mux_rate", [1, 10_000, (1 << 22) - 1])
def test_pack_header_layout(scr: int, mux_rate: int) -> None:
    s = field(scr, 33)
    expected = bits(
        "00000000 00000000 00000001 10111010"
        f"01 {s[0:3]} 1 {s[3:18]} 1 {s[18:33]} 1 {field(0, 9)} 1"  # SCR base, SCR extension 0
        f"{field(mux_rate, 22)} 11 11111 000"
    )
    assert pack_header(scr, mux_rate) == expected


def test_pack_header_rejects_bad_mux_rate() -> None:
    with pytest.raises(ValueError, match="mux_rate"):
        pack_header(0, 0)
    with pytest.raises(ValueError, match="mux_rate"):
        PsMuxer(mux_rate=1 << 22)


def test_system_header_video_only() -> None:
    expected = bits(
        "00000000 00000000 00000001 10111011"
        f"{field(9, 16)}"  # header_length: 6 + 3 per stream
        f"1 {field(10_000, 22)} 1"  # marker, rate_bound, marker
        "000000 0 0"  # audio_bound 0, fixed_flag, CSPS_flag
        "1 1 1 00001"  # audio lock, video lock, marker, video_bound 1
        "0 1111111"  # packet_rate_restriction_flag, reserved
        f"11100000 11 1 {field(400, 13)}"  # E0, '11', buffer scale 1, 400 KiB
    )
    assert system_header([0xE0], 10_000) == expected


def test_system_header_with_audio() -> None:
    header = system_header([0xE0, 0xC0], 10_000)
    assert header[4:6] == (12).to_bytes(2, "big")
    assert header[9] == 0b000001_0_0  # audio_bound 1
    assert header[-6:] == bits(f"11100000 11 1 {field(400, 13)} 11000000 11 0 {field(32, 13)}")


def test_crc32_mpeg_check_value() -> None:
    assert crc32_mpeg(b"123456789") == 0x0376E6E7  # the catalogued check value of CRC-32/MPEG-2
    assert crc32_bitwise(b"123456789") == 0x0376E6E7


def test_program_stream_map_bytes() -> None:
    body = bytes.fromhex(
        "000001BC 0012"  # program_stream_map_length 18 = 6 + 2 entries * 4 + CRC
        "E0 FF"  # current_next_indicator 1, reserved '11', version 0; reserved, marker
        "0000"  # program_stream_info_length
        "0008"  # elementary_stream_map_length
        "1B E0 0000"  # H.264 on E0, no descriptors
        "90 C0 0000"  # G.711 A-law on C0
    )
    expected = body + crc32_bitwise(body).to_bytes(4, "big")
    psm = program_stream_map([(0x1B, 0xE0), (0x90, 0xC0)])
    assert psm == expected
    assert crc32_mpeg(psm) == 0  # the CRC over the whole section including CRC_32 is zero


def test_program_stream_map_version() -> None:
    assert program_stream_map([(0x24, 0xE0)], version=5)[6] == 0b1_11_00101


def test_pes_with_pts() -> None:
    payload = b"\x00\x00\x00\x01\x65\x88"
    expected = bits(
        "00000000 00000000 00000001 11100000"
        f"{field(3 + 5 + len(payload), 16)}"  # PES_packet_length
        "10 00 0 1 0 0"  # '10', scrambling 00, priority, data_alignment_indicator, copyright, original
        "10 000000"  # PTS_DTS_flags '10', no ESCR/ES rate/trick/copy info/CRC/extension
        f"{field(5, 8)}"  # PES_header_data_length
        f"0010 000 1 {field(0, 15)} 1 {field(3600, 15)} 1"
    ) + payload
    assert pes_packet(0xE0, payload, 3600, aligned=True) == expected


def test_pes_with_pts_and_dts() -> None:
    payload = b"\xAA" * 10
    p, d = field(7200, 33), field(3600, 33)
    expected = bits(
        "00000000 00000000 00000001 11100000"
        f"{field(3 + 10 + len(payload), 16)}"
        "10 00 0 0 0 0 11 000000"
        f"{field(10, 8)}"
        f"0011 {p[0:3]} 1 {p[3:18]} 1 {p[18:]} 1"
        f"0001 {d[0:3]} 1 {d[3:18]} 1 {d[18:]} 1"
    ) + payload
    assert pes_packet(0xE0, payload, 7200, 3600) == expected


def test_pes_without_timestamps_and_equal_dts() -> None:
    assert pes_packet(0xC0, b"xy") == bytes.fromhex("000001C0 0005 80 00 00") + b"xy"
    assert pes_packet(0xE0, b"xy", 3600, 3600) == pes_packet(0xE0, b"xy", 3600)  # DTS = PTS is not coded
    with pytest.raises(ValueError, match="PTS"):
        pes_packet(0xE0, b"xy", None, 3600)
    with pytest.raises(ValueError, match="fit"):
        pes_packet(0xE0, bytes(MAX_PES_PAYLOAD + 1), 0, 1)


# --- the muxer ---

def test_keyframe_layout() -> None:
    muxer = PsMuxer(Codec.H264)
    frame = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x00\x01\x65\x88\x84"
    out = muxer.mux(frame, 3600, keyframe=True)
    expected = (pack_header(3600) + system_header([0xE0]) + program_stream_map([(0x1B, 0xE0)])
                + pes_packet(0xE0, frame, 3600, aligned=True))
    assert out == expected


def test_non_keyframe_layout_and_scr_from_dts() -> None:
    muxer = PsMuxer(Codec.H265)
    frame = b"\x00\x00\x00\x01\x02\x01\xd0"
    assert muxer.mux(frame, 7200, keyframe=False, dts=3600) == \
        pack_header(3600) + pes_packet(0xE0, frame, 7200, 3600, aligned=True)


def test_h265_and_audio_stream_map() -> None:
    muxer = PsMuxer(Codec.H265, audio_codec=Codec.G711U)
    out = muxer.mux(b"\x00\x00\x01\x26\x01", 0, keyframe=True)
    assert program_stream_map([(0x24, 0xE0), (0x91, 0xC0)]) in out
    assert system_header([0xE0, 0xC0]) in out
    assert muxer.mux_audio(b"\xff" * 160, 1800) == pack_header(1800) + pes_packet(0xC0, b"\xff" * 160, 1800,
                                                                                   aligned=True)


def test_unsupported_codecs() -> None:
    with pytest.raises(UnsupportedCodec):
        PsMuxer(Codec.AAC)
    with pytest.raises(UnsupportedCodec):
        PsMuxer(Codec.H264, audio_codec=Codec.H265)
    with pytest.raises(ValueError, match="audio"):
        PsMuxer(Codec.H264).mux_audio(b"x", 0)
    with pytest.raises(ValueError, match="max_pes_payload"):
        PsMuxer(Codec.H264, max_pes_payload=MAX_PES_PAYLOAD + 1)


def test_large_frame_splits_over_several_pes() -> None:
    frame = b"\x00\x00\x00\x01\x65" + bytes(random.Random(1).randrange(1, 256) for _ in range(200_000))
    out = PsMuxer(Codec.H264).mux(frame, 9000, keyframe=True, dts=5400)
    pes_starts = [m.start() for m in re.finditer(b"\x00\x00\x01\xe0", out)]
    assert len(pes_starts) == 4  # ceil(200005 / 65522)
    lengths = [int.from_bytes(out[i + 4:i + 6], "big") for i in pes_starts]
    assert all(length <= 0xFFFF for length in lengths)
    assert [out[i + 7] >> 6 for i in pes_starts] == [0b11, 0, 0, 0]  # only the first carries PTS (and DTS)
    assert [out[i + 6] & 0x04 for i in pes_starts] == [0x04, 0, 0, 0]  # data_alignment only on the first
    frames, demuxer = demux_chunks([out])
    assert [(f.pts, f.dts, f.keyframe) for f in frames] == [(9000, 5400, True)]
    assert frames[0].data == frame
    assert demuxer.stats.truncated_pes == 0


def test_packetize_for_rtp() -> None:
    data = bytes(range(256)) * 20
    chunks = packetize_ps_for_rtp(data, 1400)
    assert [len(c) for c in chunks] == [1400, 1400, 1400, 920]
    assert b"".join(chunks) == data
    assert packetize_ps_for_rtp(b"abc") == [b"abc"]
    assert packetize_ps_for_rtp(b"") == []
    with pytest.raises(ValueError, match="max_payload"):
        packetize_ps_for_rtp(data, 0)


# --- round trips with real encoders ---

def expected_frames(frames: list[EncodedFrame]) -> list[tuple[int, int | None, bytes, bool]]:
    return [(f.pts, None if f.dts == f.pts else f.dts, f.data, f.keyframe) for f in frames]


def got_frames(frames: list[EsFrame]) -> list[tuple[int | None, int | None, bytes, bool]]:
    return [(f.pts, f.dts, f.data, f.keyframe) for f in frames]


def test_encoders_give_annex_b_with_b_frames(coded: tuple[Codec, list[EncodedFrame]]) -> None:
    _, frames = coded
    assert len(frames) == FRAMES
    assert all(f.data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")) for f in frames)
    assert any(f.dts != f.pts for f in frames)  # reordered frames exercise DTS
    assert sum(f.keyframe for f in frames) >= 2


def test_round_trip_whole(coded: tuple[Codec, list[EncodedFrame]]) -> None:
    codec, frames = coded
    out, demuxer = demux_chunks([mux_all(codec, frames)])
    assert got_frames(out) == expected_frames(frames)
    assert {f.codec for f in out} == {codec}
    assert demuxer.codecs == {0xE0: codec}
    assert (demuxer.stats.frames, demuxer.stats.bytes_skipped, demuxer.stats.resyncs) == (len(frames), 0, 0)
    assert demuxer.stats.crc_errors == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_random_chunks(coded: tuple[Codec, list[EncodedFrame]], seed: int) -> None:
    codec, frames = coded
    stream = mux_all(codec, frames)
    rng = random.Random(seed)
    chunks, pos = [], 0
    while pos < len(stream):
        size = rng.choice([1, 2, 3, 5, 13, 188, 1400, 4000])
        chunks.append(stream[pos:pos + size])
        pos += size
    out, _ = demux_chunks(chunks)
    assert got_frames(out) == expected_frames(frames)


def test_round_trip_byte_by_byte(coded: tuple[Codec, list[EncodedFrame]]) -> None:
    codec, frames = coded
    stream = mux_all(codec, frames)
    out, demuxer = demux_chunks([stream[i:i + 1] for i in range(len(stream))])
    assert got_frames(out) == expected_frames(frames)
    assert demuxer.stats.bytes_skipped == 0


def test_round_trip_rtp_payloads_small_pes(coded: tuple[Codec, list[EncodedFrame]]) -> None:
    codec, frames = coded
    muxer = PsMuxer(codec, max_pes_payload=700)  # every frame over several PES, only the first with PTS
    chunks = [chunk for f in frames for chunk in packetize_ps_for_rtp(muxer.mux(f.data, f.pts, f.keyframe, f.dts))]
    out, _ = demux_chunks(chunks)
    assert got_frames(out) == expected_frames(frames)


def test_round_trip_without_psm_guesses_codec(coded: tuple[Codec, list[EncodedFrame]]) -> None:
    codec, frames = coded
    psm = program_stream_map([(0x1B if codec is Codec.H264 else 0x24, 0xE0)])
    stream = mux_all(codec, frames)
    assert psm in stream
    out, demuxer = demux_chunks([stream.replace(psm, b"")])
    assert got_frames(out) == expected_frames(frames)
    assert {f.codec for f in out} == {codec}
    assert demuxer.codecs == {}


def test_round_trip_with_audio() -> None:
    muxer = PsMuxer(Codec.H264, audio_codec=Codec.G711A)
    video = [b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88", b"\x00\x00\x00\x01\x41\x9a"]
    stream = muxer.mux(video[0], 0, True) + muxer.mux_audio(b"\xd5" * 320, 0) + muxer.mux(video[1], 3600, False) \
        + muxer.mux_audio(b"\x55" * 320, 3600)
    out, _ = demux_chunks([stream])
    summary = sorted((f.stream_id, f.codec, f.pts, f.keyframe, f.data) for f in out)
    assert summary == [
        (0xC0, Codec.G711A, 0, True, b"\xd5" * 320),
        (0xC0, Codec.G711A, 3600, True, b"\x55" * 320),
        (0xE0, Codec.H264, 0, True, video[0]),
        (0xE0, Codec.H264, 3600, False, video[1]),
    ]


# --- FFmpeg accepts what we produce ---

@dataclass(frozen=True)
class FfmpegView:
    """What FFmpeg's `mpeg` demuxer and the decoders made of a stream."""

    codecs: dict[str, list[str]]  # stream type → codec names
    packets: list[tuple[str, int | None, int | None]]  # stream type, pts, dts of each non-empty packet
    decoded_video: int


def ffmpeg_view(stream: bytes) -> FfmpegView:
    packets: list[tuple[str, int | None, int | None]] = []
    decoded = 0
    with av.open(io.BytesIO(stream), mode="r", format="mpeg") as container:
        codecs = {kind: [s.codec_context.name for s in container.streams if s.type == kind]
                  for kind in ("video", "audio")}
        for packet in container.demux():
            if packet.size == 0:
                continue
            packets.append((packet.stream.type, packet.pts, packet.dts))
            if packet.stream.type == "video":
                decoded += len(packet.decode())
        decoded += len(container.streams.video[0].codec_context.decode(None))  # frames held back for reordering
    return FfmpegView(codecs, packets, decoded)


@pytest.mark.parametrize("max_pes_payload", [MAX_PES_PAYLOAD, 500])
def test_ffmpeg_decodes_our_stream(coded: tuple[Codec, list[EncodedFrame]], max_pes_payload: int) -> None:
    codec, frames = coded
    view = ffmpeg_view(mux_all(codec, frames, max_pes_payload=max_pes_payload))
    assert view.codecs == {"video": ["h264" if codec is Codec.H264 else "hevc"], "audio": []}
    assert all(pts is not None and dts is not None for _, pts, dts in view.packets)  # no timestamp-less packets
    assert sorted(pts or 0 for _, pts, _ in view.packets) == sorted(f.pts for f in frames)
    assert view.decoded_video == len(frames)


def test_ffmpeg_reads_g711_audio(h264_frames: list[EncodedFrame]) -> None:
    muxer = PsMuxer(Codec.H264, audio_codec=Codec.G711A)
    stream = b"".join(muxer.mux(f.data, f.pts, f.keyframe, f.dts) + muxer.mux_audio(b"\xd5" * 320, f.dts)
                      for f in h264_frames)
    view = ffmpeg_view(stream)
    assert view.codecs == {"video": ["h264"], "audio": ["pcm_alaw"]}
    assert view.decoded_video == len(h264_frames)
    assert sorted(pts or 0 for kind, pts, _ in view.packets if kind == "audio") == sorted(f.dts for f in h264_frames)
    assert all(pts is not None for _, pts, _ in view.packets)
