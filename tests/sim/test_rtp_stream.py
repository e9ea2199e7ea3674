"""RTP/PS packets of a simulated stream: depacketized and demuxed they give back the frames, with clean RTP."""

from __future__ import annotations

import io
import itertools
import struct

import av
import pytest

from clearsight.media.es import Codec, EsFrame
from clearsight.media.ps_demux import PsDemuxer
from clearsight.media.rtp import RtpPacket, parse_rtp
from clearsight.sim.rtp_stream import ClipWithoutKeyframe, PsRtpStream, ReplaySource
from clearsight.sim.video import ClipLibrary, EncodedFrame

WIDTH, HEIGHT, FPS, SECONDS = 320, 180, 25, 2
TICKS_PER_FRAME = 3600  # 90 kHz at 25 frames/s
SSRC = 100_000_001  # y=0100000001 in the SDP: a live view (first digit 0)
LIBRARY = ClipLibrary(channel_name="RTP TEST")


@pytest.fixture(scope="module", params=["h264", "h265"])
def clip(request: pytest.FixtureRequest) -> tuple[Codec, list[EncodedFrame]]:
    codec = Codec(request.param)
    return codec, LIBRARY.encode_clip(WIDTH, HEIGHT, FPS, SECONDS, codec)


@pytest.fixture(scope="module")
def h264_clip() -> list[EncodedFrame]:
    return LIBRARY.encode_clip(WIDTH, HEIGHT, FPS, SECONDS, Codec.H264)


def send(stream: PsRtpStream, frames: list[tuple[EncodedFrame, int]]) -> list[list[RtpPacket]]:
    """Packets per frame, parsed back."""
    return [[parse_rtp(p) for p in stream.packets_for(frame, pts)] for frame, pts in frames]


def demux(packets: list[RtpPacket]) -> list[EsFrame]:
    demuxer = PsDemuxer(label="sim-test")
    frames: list[EsFrame] = []
    for packet in packets:
        demuxer.feed(bytes(packet.payload))
        frames.extend(demuxer.frames())
    demuxer.flush()
    return frames + list(demuxer.frames())


def test_round_trip_gives_back_frames_and_pts(clip: tuple[Codec, list[EncodedFrame]]) -> None:
    codec, frames = clip
    stream = PsRtpStream(SSRC, codec=codec, initial_sequence=100)
    stamped = [(frame, 90_000 + i * TICKS_PER_FRAME) for i, frame in enumerate(frames)]
    per_frame = send(stream, stamped)
    packets = [p for group in per_frame for p in group]
    assert {(p.version, p.payload_type, p.ssrc, p.padding, p.extension, p.csrcs) for p in packets} == {
        (2, 96, SSRC, False, False, ())}
    for (_, pts), group in zip(stamped, per_frame, strict=True):
        assert {p.timestamp for p in group} == {pts}
    out = demux(packets)
    assert [(f.data, f.pts, f.keyframe, f.codec) for f in out] == [
        (frame.data, pts, frame.keyframe, codec) for frame, pts in stamped]
    assert stream.packet_count == len(packets)
    assert stream.octet_count == sum(p.payload_size for p in packets)


def test_marker_bit_on_the_last_packet_of_each_frame_only(h264_clip: list[EncodedFrame]) -> None:
    stream = PsRtpStream(SSRC, max_payload=500)
    per_frame = send(stream, [(f, f.pts_90k) for f in h264_clip])
    assert any(len(group) > 1 for group in per_frame)
    for group in per_frame:
        assert [p.marker for p in group] == [False] * (len(group) - 1) + [True]
        assert all(p.payload_size <= 500 for p in group)


def test_keyframes_carry_pack_system_header_and_psm(h264_clip: list[EncodedFrame]) -> None:
    stream = PsRtpStream(SSRC)
    for frame in h264_clip[:3]:
        first = parse_rtp(stream.packets_for(frame, frame.pts_90k)[0]).payload
        heads = bytes(first[0:4]), bytes(first[14:18])
        if frame.keyframe:
            assert heads == (b"\x00\x00\x01\xba", b"\x00\x00\x01\xbb")
            assert b"\x00\x00\x01\xbc" in bytes(first)
        else:
            assert heads == (b"\x00\x00\x01\xba", b"\x00\x00\x01\xe0")


def test_sequence_numbers_continue_across_frames_and_wrap(h264_clip: list[EncodedFrame]) -> None:
    stream = PsRtpStream(SSRC, initial_sequence=65_530, max_payload=300)
    sequences = [p.sequence for group in send(stream, [(f, f.pts_90k) for f in h264_clip[:4]]) for p in group]
    assert len(sequences) > 10
    assert sequences == [(65_530 + i) % 65_536 for i in range(len(sequences))]
    assert stream.next_sequence == (65_530 + len(sequences)) % 65_536


def test_rtp_timestamp_wraps_at_32_bits_and_follows_the_clock(h264_clip: list[EncodedFrame]) -> None:
    frame = h264_clip[1]
    assert parse_rtp(PsRtpStream(SSRC).packets_for(frame, (1 << 32) + 5)[0]).timestamp == 5
    assert parse_rtp(PsRtpStream(SSRC, clock=45_000).packets_for(frame, 9_000)[0]).timestamp == 4_500


def test_random_initial_sequence_is_in_range() -> None:
    assert 0 <= PsRtpStream(SSRC).next_sequence < 65_536


@pytest.mark.parametrize(("ssrc", "payload_type", "clock", "max_payload", "initial_sequence"), [
    (-1, 96, 90_000, 1400, 0), (1 << 32, 96, 90_000, 1400, 0), (SSRC, 128, 90_000, 1400, 0),
    (SSRC, 96, 0, 1400, 0), (SSRC, 96, 90_000, 0, 0), (SSRC, 96, 90_000, 1400, 65_536),
])
def test_bad_parameters_are_refused(ssrc: int, payload_type: int, clock: int, max_payload: int,
                                    initial_sequence: int) -> None:
    with pytest.raises(ValueError):
        PsRtpStream(ssrc, payload_type, clock, max_payload, initial_sequence=initial_sequence)


def test_replay_timestamps_keep_increasing_across_loops(h264_clip: list[EncodedFrame]) -> None:
    source = ReplaySource(h264_clip, FPS, start_pts=1_000)
    replayed = [next(source) for _ in range(2 * len(h264_clip) + 3)]
    pts = [p for _, p in replayed]
    assert pts == [1_000 + i * TICKS_PER_FRAME for i in range(len(replayed))]
    assert [f for f, _ in replayed] == h264_clip * 2 + h264_clip[:3]
    assert replayed[0][0].keyframe and replayed[len(h264_clip)][0].keyframe
    assert source.loops == 2 and source.frame_count == len(replayed)


def test_replay_starts_on_a_keyframe_and_never_drifts() -> None:
    key, delta = EncodedFrame(b"K", True, 0), EncodedFrame(b"D", False, 0)
    source = ReplaySource([delta, delta, key, delta], fps=30)
    replayed = [next(source) for _ in range(7)]
    assert [f.data for f, _ in replayed] == [b"K", b"D", b"K", b"D", b"K", b"D", b"K"]
    assert [p for _, p in replayed] == [0, 3000, 6000, 9000, 12000, 15000, 18000]
    odd = ReplaySource([key], fps=7)
    stamps = [p for _, p in (next(odd) for _ in range(8))]
    assert stamps[-1] == 90_000 and all(b > a for a, b in itertools.pairwise(stamps))
    with pytest.raises(ClipWithoutKeyframe):
        ReplaySource([delta, delta], fps=25)


def test_replayed_stream_demuxes_and_decodes_across_the_loop(h264_clip: list[EncodedFrame]) -> None:
    stream = PsRtpStream(SSRC, initial_sequence=0)
    source = ReplaySource(h264_clip, FPS)
    replayed = [next(source) for _ in range(len(h264_clip) + FPS)]  # one loop and one more GOP
    raw = [p for frame, pts in replayed for p in stream.packets_for(frame, pts)]
    out = demux([parse_rtp(p) for p in raw])
    assert [f.pts for f in out] == [pts for _, pts in replayed]
    ps = b"".join(p[12:] for p in raw)
    assert struct.unpack_from("!I", ps)[0] == 0x000001BA
    with av.open(io.BytesIO(ps), mode="r", format="mpeg") as container:
        pictures = [(pic.width, pic.height) for pic in container.decode(video=0)]
    assert pictures == [(WIDTH, HEIGHT)] * len(replayed)
