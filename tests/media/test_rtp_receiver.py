"""RtpReceiver over a real UDP socket on 127.0.0.1 and its RtpStreamPipeline alone: PS frames out, bad and stray
packets counted."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable

from clearsight.media.es import EsFrame
from clearsight.media.payload import TS_PACKET_SIZE, TS_SYNC_BYTE, PayloadKind
from clearsight.media.rtp import RtpPacket
from clearsight.media.rtp_receiver import DETECTION_PACKETS, RtpReceiver, RtpStreamPipeline
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import ClipLibrary

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


async def test_ts_payload_is_detected_and_not_demultiplexed() -> None:
    receiver = RtpReceiver(expected_ssrc=SSRC, label="test")
    port = await receiver.start("127.0.0.1", 0)
    try:
        ts = (bytes([TS_SYNC_BYTE]) + bytes(TS_PACKET_SIZE - 1)) * 7
        datagrams = [RtpPacket(payload_type=33, sequence=i, timestamp=i, ssrc=SSRC, payload=ts).to_bytes()
                     for i in range(12)]
        await _send(port, datagrams)
        assert receiver.payload_detected is not None
        assert await asyncio.wait_for(receiver.payload_detected, 2) is PayloadKind.MPEG_TS
        assert receiver.counters.frames == 0
        await _until(lambda: receiver.counters.undecoded_packets >= 12, 2)
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
