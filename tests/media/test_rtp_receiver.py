"""RtpReceiver over a real UDP socket on 127.0.0.1 and its RtpStreamPipeline alone: PS, TS and raw H.264/H.265
frames out, bad and stray packets counted, losses handed to the right decoder."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable

import av
import pytest

from clearsight.media.es import Codec, EsFrame
from clearsight.media.payload import MAX_PAYLOADS_EXAMINED, TS_PACKET_SIZE, PayloadKind
from clearsight.media.rtp import RtpPacket, seq_add
from clearsight.media.rtp_es_depacketizer import DepacketizerStats
from clearsight.media.rtp_receiver import DETECTION_PACKETS, RtpReceiver, RtpStreamPipeline
from clearsight.media.ts_demux import TsDemuxStats
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import ClipLibrary
from tests.media.media_samples import EncodedVideo, packetize_h264, packetize_h265, split_annex_b
from tests.media.ts_samples import packets as ts_packets
from tests.media.ts_samples import pid_of, reference_packets, starts_unit

SSRC = 200_000_001
OTHER_SSRC = 123_456


def _clip_packets(ssrc: int) -> list[bytes]:
    frames = ClipLibrary().encode_clip(160, 96, 25, 0.6, "h264")  # type: ignore[arg-type]
    stream = PsRtpStream(ssrc, initial_sequence=65_500)
    return [p for frame in frames for p in stream.packets_for(frame, frame.pts_90k)]


async def _until(condition: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - counters have no event to wait on
            await asyncio.sleep(0.02)


async def _send(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", port))
            await asyncio.sleep(0)


async def test_ps_stream_becomes_frames_despite_misorder_and_garbage() -> None:
    frames: list[EsFrame] = []
    receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=frames.append, label="test")
    port = await receiver.start("127.0.0.1", 0)
    try:
        packets = _clip_packets(SSRC)
        rng = random.Random(28181)
        for i in range(3, len(packets) - 1, 7):  # swap neighbours now and then (not the first: it starts the buffer)
            if rng.random() < 0.5:
                packets[i], packets[i + 1] = packets[i + 1], packets[i]
        stray = RtpPacket(payload_type=96, sequence=1, timestamp=0, ssrc=OTHER_SSRC, payload=b"x").to_bytes()
        await _send(port, [b"\x00junk", *packets[:3], stray, *packets[3:]])
        assert receiver.first_packet is not None and receiver.payload_detected is not None
        await asyncio.wait_for(receiver.first_packet, 2)
        assert await asyncio.wait_for(receiver.payload_detected, 2) is PayloadKind.MPEG_PS
        await _until(lambda: len(frames) >= 10, 3)
        assert receiver.counters.bad_packets == 1
        assert receiver.counters.wrong_ssrc == 1
        pts = [f.pts for f in frames if f.pts is not None]
        assert pts == sorted(pts) and len(set(pts)) == len(pts)
        assert frames[0].keyframe and frames[0].pts == 0
    finally:
        receiver.close()


async def test_only_wrong_ssrc_is_reported_as_mismatch() -> None:
    receiver = RtpReceiver(expected_ssrc=SSRC, label="test")
    port = await receiver.start("127.0.0.1", 0)
    try:
        stray = _clip_packets(OTHER_SSRC)
        assert len(stray) > 25  # more than SSRC_MISMATCH_AFTER
        await _send(port, stray)
        assert receiver.first_packet is not None
        await asyncio.wait_for(receiver.first_packet, 2)
        await _until(lambda: receiver.counters.wrong_ssrc >= len(stray), 2)
        assert receiver.stats.ssrc_mismatch == OTHER_SSRC
        assert receiver.stats.ssrc_mismatch_message
        assert receiver.counters.frames == 0
    finally:
        receiver.close()


def _rtp(payloads: list[bytes], *, first_sequence: int = 65_500, timestamps: list[int] | None = None,
         markers: list[bool] | None = None, payload_type: int = 33) -> list[RtpPacket]:
    return [RtpPacket(payload_type=payload_type, sequence=seq_add(first_sequence, i),
                      timestamp=timestamps[i] if timestamps else i * 3600, ssrc=SSRC, payload=payload,
                      marker=bool(markers and markers[i])) for i, payload in enumerate(payloads)]


def _ts_payloads(ts: bytes, size: int = 7 * TS_PACKET_SIZE) -> list[bytes]:
    return [ts[i : i + size] for i in range(0, len(ts), size)]


def _es_packets(video: EncodedVideo, mtu: int = 600) -> list[RtpPacket]:
    packetize = packetize_h264 if video.codec == "h264" else packetize_h265
    payloads, timestamps, markers = [], [], []
    for index, unit in enumerate(video.access_units):
        pieces = packetize(unit, mtu)
        payloads += pieces
        timestamps += [index * 3600] * len(pieces)
        markers += [i == len(pieces) - 1 for i in range(len(pieces))]
    return _rtp(payloads, timestamps=timestamps, markers=markers, payload_type=98)


async def test_ts_stream_over_udp_becomes_frames(ts_bytes: bytes) -> None:
    frames: list[EsFrame] = []
    receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=frames.append, label="test")
    port = await receiver.start("127.0.0.1", 0)
    try:
        await _send(port, [p.to_bytes() for p in _rtp(_ts_payloads(ts_bytes))])
        assert receiver.payload_detected is not None
        assert await asyncio.wait_for(receiver.payload_detected, 2) is PayloadKind.MPEG_TS
        reference = reference_packets(ts_bytes)
        await _until(lambda: len(frames) >= len(reference) - 1, 3)  # the last one waits for the next
        assert [f.data for f in frames] == [r.data for r in reference[:-1]]
        assert receiver.counters.undecoded_packets == 0
    finally:
        receiver.close()


async def test_a_poll_timer_only_while_the_reorder_buffer_holds_packets() -> None:
    receiver = RtpReceiver(expected_ssrc=SSRC, label="timer")
    await receiver.start("127.0.0.1", 0)
    try:
        packets = _clip_packets(SSRC)
        for packet in packets[:20]:
            receiver.packet_received(packet)
            assert receiver._poll_handle is None  # in order: nothing can ever be due
        assert receiver.first_packet is not None and receiver.first_packet.done()
        assert receiver.payload_detected is not None and receiver.payload_detected.result() is PayloadKind.MPEG_PS
        receiver.packet_received(packets[21])  # 20 is missing: 21 waits for it, with a deadline
        assert receiver._poll_handle is not None
        await _until(lambda: receiver.pipeline.reorder.held == 0, 2)  # the timer gave up on 20
        assert receiver.pipeline.reorder.counters.lost == 1
        await asyncio.sleep(0)
        assert receiver._poll_handle is None
    finally:
        receiver.close()


# --- RtpStreamPipeline, the transport-independent core, without sockets ---------------------------


def test_pipeline_is_fed_packets_with_their_arrival_times() -> None:
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label="pipe")
    pipeline.feed(b"\x00junk", 1.0, ("198.51.100.7", 5000))
    assert pipeline.counters.bad_packets == 1 and not pipeline.rtp_seen and pipeline.last_rtp_at is None
    stray = RtpPacket(payload_type=96, sequence=1, timestamp=0, ssrc=OTHER_SSRC, payload=b"x").to_bytes()
    pipeline.feed(stray, 1.5)
    assert pipeline.rtp_seen and pipeline.counters.wrong_ssrc == 1 and pipeline.last_rtp_at is None
    packets = _clip_packets(SSRC)
    for i, packet in enumerate(packets):
        pipeline.feed(packet, 2.0 + i * 0.001)
    assert pipeline.last_rtp_at == 2.0 + (len(packets) - 1) * 0.001
    assert pipeline.payload_kind is PayloadKind.MPEG_PS
    assert pipeline.counters.datagrams == len(packets) + 2
    assert len(frames) >= 10 and frames[0].keyframe
    assert pipeline.counters.frames == len(frames)


def test_pipeline_holds_a_gap_until_polled_past_its_deadline() -> None:
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, label="gap")
    packets = _clip_packets(SSRC)
    for packet in packets[:DETECTION_PACKETS]:
        pipeline.feed(packet, 0.0)
    assert pipeline.payload_kind is PayloadKind.MPEG_PS
    pipeline.feed(packets[DETECTION_PACKETS + 1], 0.01)  # one missing before it
    assert pipeline.reorder.held == 1
    deadline = pipeline.next_deadline
    assert deadline is not None
    pipeline.poll(deadline - 0.001)
    assert pipeline.reorder.held == 1
    pipeline.poll(deadline)
    assert pipeline.reorder.held == 0 and pipeline.next_deadline is None


def test_pipeline_takes_a_new_ssrc_only_before_the_first_packet() -> None:
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, label="ssrc")
    pipeline.expect_ssrc(OTHER_SSRC)
    packet = RtpPacket(payload_type=96, sequence=1, timestamp=0, ssrc=OTHER_SSRC, payload=b"x").to_bytes()
    pipeline.feed(packet, 0.0)
    assert pipeline.counters.wrong_ssrc == 0 and pipeline.last_rtp_at == 0.0
    pipeline.expect_ssrc(SSRC)  # too late: RTP has arrived
    pipeline.feed(RtpPacket(payload_type=96, sequence=2, timestamp=0, ssrc=OTHER_SSRC, payload=b"x").to_bytes(), 0.1)
    assert pipeline.counters.wrong_ssrc == 0 and pipeline.last_rtp_at == 0.1


# --- every payload kind through the pipeline ---


def _feed(pipeline: RtpStreamPipeline, packets: list[RtpPacket], start: float = 0.0) -> float:
    now = start
    for packet in packets:
        now += 0.001
        pipeline.feed(packet.to_bytes(), now)
    return now


def _video_units(ts: bytes) -> list[tuple[int, int]]:
    """(first byte, end byte) in `ts` of each frame's video packets (PID 0x100)."""
    starts = [i * TS_PACKET_SIZE for i, p in enumerate(ts_packets(ts)) if pid_of(p) == 0x100 and starts_unit(p)]
    return list(zip(starts, [*starts[1:], len(ts)], strict=True))


def test_pipeline_demultiplexes_ts_in_aligned_payloads(ts_bytes: bytes) -> None:
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label="ts")
    _feed(pipeline, _rtp(_ts_payloads(ts_bytes)))
    reference = reference_packets(ts_bytes)
    assert pipeline.payload_kind is PayloadKind.MPEG_TS
    assert [(f.data, f.pts, f.dts, f.keyframe) for f in frames] == [
        (r.data, r.pts, r.dts, r.keyframe) for r in reference[:-1]]
    assert all(f.codec is Codec.H264 for f in frames)
    assert pipeline.counters.frames == len(frames) and pipeline.counters.undecoded_packets == 0
    stats = pipeline.decoder_stats
    assert isinstance(stats, TsDemuxStats) and stats.cc_errors == 0 and stats.discontinuities == 0


def test_pipeline_ts_cut_anywhere_loses_only_the_frame_hit_by_a_lost_packet(ts_bytes: bytes) -> None:
    size = 1000  # RTP payloads that cut TS packets in two
    payloads = _ts_payloads(ts_bytes, size)
    units = _video_units(ts_bytes)
    # A payload well inside one frame: the TS packets it touches hold no frame start.
    victim, frame = next((i, k) for i in range(DETECTION_PACKETS + 1, len(payloads))
                         for k, (start, end) in enumerate(units)
                         if start + TS_PACKET_SIZE <= (i * size) // TS_PACKET_SIZE * TS_PACKET_SIZE
                         and -(-(i + 1) * size // TS_PACKET_SIZE) * TS_PACKET_SIZE < end - TS_PACKET_SIZE)
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label="ts-loss")
    packets = _rtp(payloads)
    now = _feed(pipeline, packets[:victim])
    now = _feed(pipeline, packets[victim + 1 :], now)
    pipeline.poll(now + 1.0)  # the reorder buffer gives up on the lost one
    reference = reference_packets(ts_bytes)
    expected = [r.data for k, r in enumerate(reference[:-1]) if k != frame]
    assert [f.data for f in frames] == expected
    stats = pipeline.decoder_stats
    assert isinstance(stats, TsDemuxStats) and stats.discontinuities == 1 and stats.frames_dropped == 1
    assert pipeline.stats.lost == 1


@pytest.mark.parametrize(("codec", "kind"), [("h264", PayloadKind.H264_ES), ("h265", PayloadKind.H265_ES)])
def test_pipeline_depacketizes_raw_video(codec: str, kind: PayloadKind, h264_video: EncodedVideo,
                                         h265_video: EncodedVideo) -> None:
    video = h264_video if codec == "h264" else h265_video
    packets = _es_packets(video)
    for i in range(DETECTION_PACKETS + 2, len(packets) - 1, 9):  # misordered neighbours now and then
        packets[i], packets[i + 1] = packets[i + 1], packets[i]
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label=codec)
    _feed(pipeline, packets)
    assert pipeline.payload_kind is kind
    assert [split_annex_b(f.data) for f in frames] == [split_annex_b(u) for u in video.access_units]
    assert [f.pts for f in frames] == [i * 3600 for i in range(len(frames))]
    assert frames[0].keyframe and frames[0].codec is (Codec.H264 if codec == "h264" else Codec.H265)
    assert pipeline.counters.frames == len(frames)
    assert pipeline.reorder.counters.released == len(packets)


def test_pipeline_hands_rtp_loss_to_the_depacketizer(h264_video: EncodedVideo) -> None:
    packets = _es_packets(h264_video)
    fragment = next(i for i, p in enumerate(packets) if i > 30 and p.payload[0] & 0x1F == 28
                    and not p.payload[1] & 0xC0)  # a middle FU-A fragment
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label="loss")
    now = _feed(pipeline, packets[:fragment])
    now = _feed(pipeline, packets[fragment + 1 :], now)
    pipeline.poll(now + 1.0)
    lost_frame = packets[fragment].timestamp // 3600
    expected = [u for i, u in enumerate(h264_video.access_units) if i != lost_frame]
    assert [split_annex_b(f.data) for f in frames] == [split_annex_b(u) for u in expected]
    stats = pipeline.decoder_stats
    assert isinstance(stats, DepacketizerStats)
    assert (stats.lost_packets, stats.fragments_dropped, stats.frames_dropped) == (1, 1, 1)


def test_pipeline_leaves_an_unknown_payload_undecoded() -> None:
    rng = random.Random(3)
    payloads = [bytes([0x80 | rng.randrange(128)]) + rng.randbytes(300) for _ in range(MAX_PAYLOADS_EXAMINED + 6)]
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, label="junk")
    _feed(pipeline, _rtp(payloads))
    assert pipeline.payload_kind is PayloadKind.UNKNOWN
    assert pipeline.decoder is None and pipeline.decoder_stats is None
    assert pipeline.counters.undecoded_packets == len(payloads) and pipeline.counters.frames == 0
    assert pipeline.payload_scores is not None and pipeline.payload_scores.examined == MAX_PAYLOADS_EXAMINED


def _parameter_set(codec: str, nal: bytes) -> bool:
    return nal[0] & 0x1F in (7, 8) if codec == "h264" else (nal[0] >> 1) & 0x3F in (32, 33, 34)  # SPS/PPS; VPS/SPS/PPS


def _decoded_pictures(codec: str, frames: list[EsFrame]) -> int:
    context = av.CodecContext.create("h264" if codec == "h264" else "hevc", "r")
    pictures = 0
    for frame in frames:
        try:
            pictures += len(context.decode(av.Packet(frame.data)))
        except av.error.InvalidDataError:
            continue  # a slice without the parameter sets it refers to
    return pictures + len(context.decode(None))


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_pipeline_puts_the_sdp_parameter_sets_in_front_of_keyframes_sent_without(
        codec: str, h264_video: EncodedVideo, h265_video: EncodedVideo) -> None:
    video = h264_video if codec == "h264" else h265_video
    nals = [split_annex_b(unit) for unit in video.access_units]
    parameter_sets = [nal for nal in nals[0] if _parameter_set(codec, nal)]
    assert parameter_sets, "the sample's first keyframe carries its parameter sets"
    in_band_stripped = EncodedVideo(video.codec, [
        b"".join(b"\x00\x00\x00\x01" + nal for nal in unit if not _parameter_set(codec, nal)) for unit in nals])

    without: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=without.append, label=f"{codec}-without")
    _feed(pipeline, _es_packets(in_band_stripped))
    assert without and _decoded_pictures(codec, without) == 0  # the stream could not start

    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append, label=f"{codec}-sprop")
    pipeline.remember_parameter_sets([b"\x00\x00garbage", *parameter_sets])  # what the SDP answer said
    _feed(pipeline, _es_packets(in_band_stripped))
    assert pipeline.payload_kind is (PayloadKind.H264_ES if codec == "h264" else PayloadKind.H265_ES)
    keyframes = [f for f in frames if f.keyframe]
    assert keyframes and all(split_annex_b(f.data)[:len(parameter_sets)] == parameter_sets for f in keyframes)
    assert _decoded_pictures(codec, frames) == len(video.access_units)
    stats = pipeline.decoder_stats
    assert isinstance(stats, DepacketizerStats) and stats.parameter_sets_inserted == len(keyframes)
