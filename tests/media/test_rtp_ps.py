"""PS over RTP a frame at a time: frames out at the marker bit, senders without (or with wrong) markers, PES cut
at any byte, missing PTS, and a loss dropping whole frames, never emitting one with a hole."""

from __future__ import annotations

import pytest

from clearsight.media.es import EsFrame
from clearsight.media.ps_demux import PsDemuxer
from clearsight.media.ps_mux import encode_timestamp, pes_packet, program_stream_map
from clearsight.media.rtp import RtpPacket, seq_add
from clearsight.media.rtp_ps import MARKERS_TRUSTED_AFTER, MAX_PENDING_PAYLOADS, PsRtpDecoder
from tests.media.media_samples import EncodedVideo, mux_ps, pack_header, split

Frame = tuple[bytes, int | None, bool]
FIRST_SEQUENCE = 65_530  # the numbering wraps within every test
FILLER = bytes(range(0x80, 0x100)) * 4  # no zero bytes: cannot form a start code
H264_KEY = b"".join(b"\x00\x00\x00\x01" + bytes.fromhex(head) + FILLER[:size]
                    for head, size in (("6742c00b", 12), ("68ce", 4), ("6588", 300)))  # SPS, PPS, IDR slice
H264_P = b"\x00\x00\x00\x01" + bytes.fromhex("419a") + FILLER[:120]
H264_PSM = program_stream_map([(0x1B, 0xE0)])


def _reference(ps_frames: list[bytes]) -> list[Frame]:
    """What the demuxer makes of the whole stream at once."""
    demuxer = PsDemuxer()
    demuxer.feed(b"".join(ps_frames))
    demuxer.flush()
    return [(f.data, f.pts, f.keyframe) for f in demuxer.frames()]


def _packets(ps_frames: list[bytes], *, size: int = 500, markers: bool = True,
             timestamps: list[int] | None = None) -> list[RtpPacket]:
    packets: list[RtpPacket] = []
    for index, ps in enumerate(ps_frames):
        payloads = split(ps, size)
        timestamp = timestamps[index] if timestamps else index * 3600
        for position, payload in enumerate(payloads):
            packets.append(RtpPacket(payload_type=96, sequence=seq_add(FIRST_SEQUENCE, len(packets)),
                                     timestamp=timestamp, ssrc=1, payload=payload,
                                     marker=markers and position == len(payloads) - 1))
    return packets


def _decode(packets: list[RtpPacket], decoder: PsRtpDecoder | None = None) -> tuple[list[Frame], PsRtpDecoder]:
    decoder = decoder or PsRtpDecoder("test")
    frames: list[EsFrame] = []
    for packet in packets:
        decoder.push(packet)
        while (frame := decoder.next_frame()) is not None:
            frames.append(frame)
    return [(f.data, f.pts, f.keyframe) for f in frames], decoder


def _frame_packets(packets: list[RtpPacket]) -> list[list[int]]:
    """Indexes of each frame's packets, by timestamp."""
    frames: dict[int, list[int]] = {}
    for index, packet in enumerate(packets):
        frames.setdefault(packet.timestamp, []).append(index)
    return list(frames.values())


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_each_frame_comes_out_at_its_marker_once_markers_are_trusted(codec: str, h264_video: EncodedVideo,
                                                                     h265_video: EncodedVideo) -> None:
    ps_frames = mux_ps(h264_video if codec == "h264" else h265_video)
    packets = _packets(ps_frames)
    reference = _reference(ps_frames)
    decoder = PsRtpDecoder("test")
    out: list[Frame] = []
    for index, frame_packets in enumerate(_frame_packets(packets)):
        got, _ = _decode([packets[i] for i in frame_packets], decoder)
        out += got
        if index >= MARKERS_TRUSTED_AFTER:
            assert decoder.markers_trusted
            assert out == reference[: index + 1]  # this frame, at its own marker: no wait for the next one
    assert out == reference
    assert decoder.stats.frames_dropped == 0 and decoder.stats.resyncs == 0


@pytest.mark.parametrize("markers", ["none", "every packet"])
def test_without_usable_markers_frames_end_where_the_next_one_begins(markers: str, h264_video: EncodedVideo) -> None:
    ps_frames = mux_ps(h264_video)
    packets = _packets(ps_frames, markers=markers != "none")
    if markers == "every packet":
        packets = [RtpPacket(payload_type=96, sequence=p.sequence, timestamp=p.timestamp, ssrc=1, payload=p.payload,
                             marker=True) for p in packets]
    frames, decoder = _decode(packets)
    reference = _reference(ps_frames)
    assert frames == reference[:-1]  # the last frame waits for a next one that never comes
    assert not decoder.markers_trusted


def test_a_pes_cut_at_any_byte_across_packets(h264_video: EncodedVideo) -> None:
    ps_frames = mux_ps(h264_video)[:4]
    reference = _reference(ps_frames)
    for cut in range(1, 40):  # every byte of the pack header and the PES header, and into the PES payload
        packets: list[RtpPacket] = []
        for index, ps in enumerate(ps_frames):
            pieces = [ps[:cut], ps[cut:]]
            for position, piece in enumerate(pieces):
                packets.append(RtpPacket(payload_type=96, sequence=len(packets), timestamp=index * 3600, ssrc=1,
                                         payload=piece, marker=position == 1))
        frames, decoder = _decode(packets)
        assert frames == reference, cut
        assert decoder.stats.resyncs == 0


def test_frames_without_a_pts_come_out_at_their_marker() -> None:
    ps_frames = [pack_header(0) + H264_PSM + pes_packet(0xE0, H264_KEY)]
    ps_frames += [pack_header(i * 3600) + pes_packet(0xE0, H264_P) for i in range(1, 6)]
    packets = _packets(ps_frames, size=100)
    decoder = PsRtpDecoder("test")
    frames: list[Frame] = []
    for frame_packets in _frame_packets(packets):
        frames += _decode([packets[i] for i in frame_packets], decoder)[0]
    assert [(data, pts) for data, pts, _ in frames] == [(H264_KEY, None)] + [(H264_P, None)] * 5
    assert decoder.markers_trusted


def test_an_unbounded_video_pes_ends_at_the_marker() -> None:
    def unbounded(payload: bytes, pts: int) -> bytes:  # PES_packet_length 0 (13818-1 §2.4.3.7)
        return b"\x00\x00\x01\xe0\x00\x00\x84\x80\x05" + encode_timestamp(0b0010, pts) + payload

    ps_frames = [pack_header(0) + H264_PSM + unbounded(H264_KEY, 0)]
    ps_frames += [pack_header(i * 3600) + unbounded(H264_P, i * 3600) for i in range(1, 6)]
    packets = _packets(ps_frames, size=100)
    decoder = PsRtpDecoder("test")
    frames: list[Frame] = []
    for frame_packets in _frame_packets(packets):
        frames += _decode([packets[i] for i in frame_packets], decoder)[0]
    assert [(data, pts) for data, pts, _ in frames] == [(H264_KEY, 0)] + [(H264_P, i * 3600) for i in range(1, 6)]


def _without(packets: list[RtpPacket], lost: set[int]) -> list[RtpPacket]:
    return [p for i, p in enumerate(packets) if i not in lost]


@pytest.mark.parametrize("where", ["middle", "first", "marker", "whole frame", "two frames' boundary"])
def test_a_loss_drops_only_the_frames_it_hits(where: str, h264_video: EncodedVideo) -> None:
    ps_frames = mux_ps(h264_video)
    packets = _packets(ps_frames, size=300)
    by_frame = _frame_packets(packets)
    victim = 6  # a P frame of several packets, after markers are trusted
    assert len(by_frame[victim]) >= 3
    lost = {
        "middle": {by_frame[victim][1]},
        "first": {by_frame[victim][0]},
        "marker": {by_frame[victim][-1]},
        "whole frame": set(by_frame[victim]),
        "two frames' boundary": {by_frame[victim][-1], by_frame[victim + 1][0]},
    }[where]
    hit = {victim, victim + 1} if where == "two frames' boundary" else {victim}
    frames, decoder = _decode(_without(packets, lost))
    reference = _reference(ps_frames)
    assert frames == [f for i, f in enumerate(reference) if i not in hit]
    assert decoder.stats.discontinuities == 1
    # Frames that arrived in part are dropped here; one lost whole never arrived to be dropped.
    assert decoder.stats.frames_dropped == (0 if where == "whole frame" else len(hit))


def test_a_loss_before_markers_are_trusted_drops_the_frame_it_hits(h264_video: EncodedVideo) -> None:
    ps_frames = mux_ps(h264_video)
    packets = _packets(ps_frames, size=300, markers=False)
    by_frame = _frame_packets(packets)
    frames, decoder = _decode(_without(packets, {by_frame[3][1]}))
    reference = _reference(ps_frames)
    assert frames == [f for i, f in enumerate(reference[:-1]) if i != 3]
    assert decoder.stats.frames_dropped == 1


def test_a_frame_whose_timestamp_never_changes_is_fed_before_its_end() -> None:
    ps = pack_header(0) + H264_PSM + pes_packet(0xE0, H264_KEY, 0) + b"".join(
        pack_header(i * 3600) + pes_packet(0xE0, H264_P, i * 3600) for i in range(1, 2 * MAX_PENDING_PAYLOADS // 10))
    packets = [RtpPacket(payload_type=96, sequence=i & 0xFFFF, timestamp=0, ssrc=1, payload=payload)
               for i, payload in enumerate(split(ps, 20))]
    frames, _ = _decode(packets)
    assert len(frames) > 100 and frames[0][0] == H264_KEY
