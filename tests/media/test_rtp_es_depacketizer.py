"""H.264 (RFC 6184) and H.265 (RFC 7798) depacketizers: real encoded video packetized by the independent packetizers
of `media_samples` (single NAL units, STAP-A / AP, FU-A / FU), then loss, reordering damage and odd senders."""

from __future__ import annotations

import struct

import av
import pytest

from clearsight.media.es import Codec, EsFrame
from clearsight.media.rtp import RtpPacket
from clearsight.media.rtp_es_depacketizer import RtpEsDepacketizer
from clearsight.media.rtp_h264 import H264Depacketizer
from clearsight.media.rtp_h265 import H265Depacketizer
from tests.media.media_samples import EncodedVideo, packetize_h264, packetize_h265, split_annex_b

MTU = 300  # small: every frame is fragmented
FRAME_TICKS = 3600  # 25 fps at 90 kHz
START = 4_294_960_000  # near the 32-bit wrap: the fourth frame's timestamp wraps


def rtp_packets(video: EncodedVideo, *, first_sequence: int = 65_530, marker: bool = True,
                start: int = START) -> list[list[RtpPacket]]:
    """The RTP packets of each access unit."""
    packetize = packetize_h264 if video.codec == "h264" else packetize_h265
    sequence = first_sequence
    out = []
    for index, unit in enumerate(video.access_units):
        payloads = packetize(unit, MTU)
        timestamp = (start + index * FRAME_TICKS) % (1 << 32)
        frame = []
        for position, payload in enumerate(payloads):
            frame.append(RtpPacket(payload_type=98, sequence=sequence, timestamp=timestamp, ssrc=1,
                                   payload=payload, marker=marker and position == len(payloads) - 1))
            sequence = (sequence + 1) % 65536
        out.append(frame)
    return out


def depacketizer_for(video: EncodedVideo) -> RtpEsDepacketizer:
    return H264Depacketizer(label="test") if video.codec == "h264" else H265Depacketizer(label="test")


def run(depacketizer: RtpEsDepacketizer, packets: list[RtpPacket], *, flush: bool = True) -> list[EsFrame]:
    for packet in packets:
        depacketizer.push(packet)
    if flush:
        depacketizer.flush()
    return list(depacketizer.frames())


def nal_units(data: bytes) -> list[bytes]:
    return split_annex_b(data)


def decode(codec: Codec, frames: list[EsFrame]) -> list[av.VideoFrame]:
    context = av.CodecContext.create("h264" if codec is Codec.H264 else "hevc", "r")
    pictures: list[av.VideoFrame] = []
    for frame in frames:
        pictures += [p for p in context.decode(av.Packet(frame.data)) if isinstance(p, av.VideoFrame)]
    pictures += [p for p in context.decode(None) if isinstance(p, av.VideoFrame)]
    return pictures


@pytest.fixture(params=["h264", "h265"])
def video(request: pytest.FixtureRequest, h264_video: EncodedVideo, h265_video: EncodedVideo) -> EncodedVideo:
    return h264_video if request.param == "h264" else h265_video


def expected_codec(video: EncodedVideo) -> Codec:
    return Codec.H264 if video.codec == "h264" else Codec.H265


# --- whole streams ---


def test_every_access_unit_comes_out_whole_and_decodes(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    kinds = {p.payload[0] & 0x1F if video.codec == "h264" else (p.payload[0] >> 1) & 0x3F
             for frame in per_frame for p in frame}
    assert kinds >= ({24, 28} if video.codec == "h264" else {48, 49})  # aggregation and fragmentation occur
    depacketizer = depacketizer_for(video)
    frames = run(depacketizer, [p for frame in per_frame for p in frame], flush=False)
    assert len(frames) == len(video.access_units)  # the marker bit ends each one: nothing waits for flush
    for frame, unit in zip(frames, video.access_units, strict=True):
        assert nal_units(frame.data) == nal_units(unit)
        assert frame.data.startswith(b"\x00\x00\x00\x01")
        assert frame.codec is expected_codec(video) and frame.stream_id == 0xE0 and frame.is_video
    assert [f.keyframe for f in frames] == [i % 5 == 0 for i in range(len(frames))]
    pictures = decode(expected_codec(video), frames)
    assert len(pictures) == len(frames) and (pictures[0].width, pictures[0].height) == (160, 120)
    stats = depacketizer.stats
    assert (stats.frames, stats.frames_dropped, stats.lost_packets, stats.fragments_dropped) == (len(frames), 0, 0, 0)


def test_timestamps_become_pts_across_the_32_bit_wrap(video: EncodedVideo) -> None:
    frames = run(depacketizer_for(video), [p for frame in rtp_packets(video) for p in frame])
    assert [f.pts for f in frames] == [START + i * FRAME_TICKS for i in range(len(frames))]
    assert frames[3].pts is not None and frames[3].pts > 1 << 32  # extended, not wrapped to a small number
    assert all(f.dts is None for f in frames)


def test_without_marker_bits_the_timestamp_change_ends_a_unit(video: EncodedVideo) -> None:
    depacketizer = depacketizer_for(video)
    frames = run(depacketizer, [p for frame in rtp_packets(video, marker=False) for p in frame], flush=False)
    assert len(frames) == len(video.access_units) - 1  # the last one waits for the next timestamp
    depacketizer.flush()
    frames += list(depacketizer.frames())
    assert [nal_units(f.data) for f in frames] == [nal_units(u) for u in video.access_units]


# --- loss ---


def fragments_of(video: EncodedVideo, frame: list[RtpPacket]) -> list[int]:
    """Positions of the FU packets in one frame's packets."""
    fu = 28 if video.codec == "h264" else 49
    return [i for i, p in enumerate(frame) if (p.payload[0] & 0x1F if video.codec == "h264"
                                                else (p.payload[0] >> 1) & 0x3F) == fu]


def test_loss_in_the_middle_of_a_fragmented_nal_drops_that_frame_only(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    victim = 2
    fus = fragments_of(video, per_frame[victim])
    assert len(fus) >= 3
    lost = per_frame[victim][fus[1]]  # neither the first nor the last fragment
    depacketizer = depacketizer_for(video)
    frames = run(depacketizer, [p for frame in per_frame for p in frame if p is not lost])
    expected = video.access_units[:victim] + video.access_units[victim + 1 :]
    assert [nal_units(f.data) for f in frames] == [nal_units(u) for u in expected]
    stats = depacketizer.stats
    assert (stats.lost_packets, stats.fragments_dropped, stats.frames_dropped) == (1, 1, 1)


def test_lost_first_fragment_rest_are_counted_once(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    victim = 3
    fus = fragments_of(video, per_frame[victim])
    lost = per_frame[victim][fus[0]]
    depacketizer = depacketizer_for(video)
    frames = run(depacketizer, [p for frame in per_frame for p in frame if p is not lost])
    assert len(frames) == len(video.access_units) - 1
    assert depacketizer.stats.fragments_dropped == 1 and depacketizer.stats.frames_dropped == 1


def test_a_lost_marker_packet_drops_its_frame_and_the_next_starts_clean(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    lost = per_frame[1][-1]
    frames = run(depacketizer_for(video), [p for frame in per_frame for p in frame if p is not lost])
    expected = video.access_units[:1] + video.access_units[2:]
    assert [nal_units(f.data) for f in frames] == [nal_units(u) for u in expected]


def test_a_whole_lost_frame_costs_only_that_frame(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    packets = [p for i, frame in enumerate(per_frame) for p in frame if i != 7]
    frames = run(depacketizer_for(video), packets)
    assert len(frames) == len(video.access_units) - 1


def test_lost_parameter_sets_are_put_back_from_the_last_keyframe(video: EncodedVideo) -> None:
    per_frame = rtp_packets(video)
    aggregate = 24 if video.codec == "h264" else 48
    key = per_frame[5]
    assert (key[0].payload[0] & 0x1F if video.codec == "h264" else (key[0].payload[0] >> 1) & 0x3F) == aggregate
    lost = key[0]  # the STAP-A / AP with the parameter sets of the second keyframe
    depacketizer = depacketizer_for(video)
    frames = run(depacketizer, [p for frame in per_frame for p in frame if p is not lost])
    assert len(frames) == len(video.access_units)
    assert nal_units(frames[5].data) == nal_units(video.access_units[5])  # the same sets, from frame 0
    assert frames[5].keyframe and depacketizer.stats.parameter_sets_inserted == 1


def test_frame_with_a_lost_leading_slice_is_dropped() -> None:
    """A slice whose first_mb_in_slice is not 0 cannot start a picture: the start was lost."""
    depacketizer = H264Depacketizer()
    first_slice = b"\x41\x9a\x02\x03"  # P slice, first_mb_in_slice = 0 (ue "1")
    later_slice = b"\x41\x20\x02\x03"  # P slice, first_mb_in_slice = 1 (ue "010")
    depacketizer.push(RtpPacket(payload_type=98, sequence=10, timestamp=0, ssrc=1, payload=first_slice))
    depacketizer.push(RtpPacket(payload_type=98, sequence=11, timestamp=0, ssrc=1, payload=later_slice,
                                marker=True))
    depacketizer.push(RtpPacket(payload_type=98, sequence=14, timestamp=3600, ssrc=1, payload=later_slice,
                                marker=True))  # 12 and 13 (its first slice) lost
    depacketizer.push(RtpPacket(payload_type=98, sequence=15, timestamp=7200, ssrc=1, payload=first_slice,
                                marker=True))
    frames = list(depacketizer.frames())
    assert [f.pts for f in frames] == [0, 7200]
    assert frames[0].data == b"\x00\x00\x00\x01" + first_slice + b"\x00\x00\x00\x01" + later_slice
    assert depacketizer.stats.frames_dropped == 1 and depacketizer.stats.lost_packets == 2


# --- senders that do things their own way ---


def test_parameter_sets_sent_alone_are_carried_into_the_keyframe(h264_video: EncodedVideo) -> None:
    nals = nal_units(h264_video.access_units[0])
    params = [n for n in nals if n[0] & 0x1F in (7, 8)]
    rest = [n for n in nals if n[0] & 0x1F not in (7, 8)]
    depacketizer = H264Depacketizer()
    sequence = 0
    for timestamp, group in ((0, params), (3600, rest)):  # parameter sets with their own timestamp and marker
        for position, nal in enumerate(group):
            payloads = packetize_h264(b"\x00\x00\x01" + nal, MTU)
            for index, payload in enumerate(payloads):
                last = position == len(group) - 1 and index == len(payloads) - 1
                depacketizer.push(RtpPacket(payload_type=98, sequence=sequence, timestamp=timestamp, ssrc=1,
                                            payload=payload, marker=last))
                sequence += 1
    frames = list(depacketizer.frames())
    assert len(frames) == 1 and frames[0].keyframe and frames[0].pts == 3600
    assert nal_units(frames[0].data) == nals


def test_parameter_sets_from_the_sdp(h264_video: EncodedVideo) -> None:
    """A sender that never sends SPS/PPS in band: sprop-parameter-sets fill them in front of each IDR."""
    nals = nal_units(h264_video.access_units[0])
    params = [n for n in nals if n[0] & 0x1F in (7, 8)]
    depacketizer = H264Depacketizer()
    depacketizer.remember_parameter_sets(params)
    idr = [n for n in nals if n[0] & 0x1F == 5]
    packets = [RtpPacket(payload_type=98, sequence=i, timestamp=0, ssrc=1, payload=p, marker=i == 0)
               for i, p in enumerate(packetize_h264(b"\x00\x00\x01" + idr[0], 5000))]
    frames = run(depacketizer, packets)
    assert nal_units(frames[0].data) == [*params, idr[0]]
    assert depacketizer.stats.parameter_sets_inserted == 1
    assert decode(Codec.H264, frames)


def test_fu_with_start_and_end_bits_is_taken_as_a_whole_nal() -> None:
    depacketizer = H264Depacketizer()
    nal = b"\x65\x88\x84\x00\x33"
    fu = bytes([0x60 | 28, 0xC0 | 5]) + nal[1:]
    depacketizer.push(RtpPacket(payload_type=98, sequence=1, timestamp=0, ssrc=1, payload=fu, marker=True))
    assert [f.data for f in depacketizer.frames()] == [b"\x00\x00\x00\x01" + nal]


def test_h265_fu_rebuilds_the_two_byte_header() -> None:
    depacketizer = H265Depacketizer()
    nal = bytes([19 << 1, 0x01]) + b"\xaf\x11\x22\x33\x44"  # IDR_W_RADL, layer 0, TID 0, first slice
    header = bytes([49 << 1, 0x01])
    pieces = [header + bytes([0x80 | 19]) + nal[2:4], header + bytes([19]) + nal[4:6],
              header + bytes([0x40 | 19]) + nal[6:]]
    for sequence, payload in enumerate(pieces):
        depacketizer.push(RtpPacket(payload_type=99, sequence=sequence, timestamp=90, ssrc=1, payload=payload,
                                    marker=sequence == 2))
    frames = list(depacketizer.frames())
    assert [(f.data, f.keyframe, f.codec) for f in frames] == [(b"\x00\x00\x00\x01" + nal, True, Codec.H265)]


@pytest.mark.parametrize(("depacketizer", "payload", "counter"), [
    (H264Depacketizer(), bytes([24]) + struct.pack("!H", 40) + b"\x67\x42", "malformed"),  # STAP-A sizes overrun
    (H264Depacketizer(), bytes([25, 0, 1]) + struct.pack("!H", 2) + b"\x67\x42", "unsupported"),  # STAP-B
    (H264Depacketizer(), bytes([28]), "malformed"),  # FU-A without an FU header
    (H264Depacketizer(), bytes([30, 1, 2]), "malformed"),  # reserved type
    (H265Depacketizer(), bytes([50 << 1, 1, 0, 0]), "unsupported"),  # PACI
    (H265Depacketizer(), bytes([48 << 1, 1]) + struct.pack("!H", 9) + b"\x40\x01", "malformed"),  # AP overrun
])
def test_broken_packets_drop_their_frame(depacketizer: RtpEsDepacketizer, payload: bytes, counter: str) -> None:
    good = b"\x41\x9a\x02" if isinstance(depacketizer, H264Depacketizer) else bytes([1 << 1, 1, 0x80, 0x11])
    depacketizer.push(RtpPacket(payload_type=98, sequence=1, timestamp=0, ssrc=1, payload=good))
    depacketizer.push(RtpPacket(payload_type=98, sequence=2, timestamp=0, ssrc=1, payload=payload, marker=True))
    depacketizer.push(RtpPacket(payload_type=98, sequence=3, timestamp=3600, ssrc=1, payload=good, marker=True))
    assert [f.pts for f in depacketizer.frames()] == [3600]
    assert getattr(depacketizer.stats, counter) == 1 and depacketizer.stats.frames_dropped == 1


def test_an_endless_fragment_is_bounded() -> None:
    depacketizer = H264Depacketizer(max_frame=10_000)
    depacketizer.push(RtpPacket(payload_type=98, sequence=0, timestamp=0, ssrc=1,
                                payload=bytes([0x7C, 0x85]) + bytes(1000)))
    for sequence in range(1, 40):
        depacketizer.push(RtpPacket(payload_type=98, sequence=sequence, timestamp=0, ssrc=1,
                                    payload=bytes([0x7C, 0x05]) + bytes(1000)))
    depacketizer.push(RtpPacket(payload_type=98, sequence=40, timestamp=0, ssrc=1,
                                payload=bytes([0x7C, 0x45]) + bytes(10), marker=True))
    assert list(depacketizer.frames()) == []
    assert depacketizer.stats.overflows == 1 and depacketizer.stats.frames_dropped == 1
