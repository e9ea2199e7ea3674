"""Live view of devices that send MPEG-TS or raw H.264 RTP instead of PS: the real platform and simulator in one
process, INVITE to decoded pictures; and a payload of no known kind failing at step ``payload``."""

from __future__ import annotations

import itertools
import random

import av
import pytest

from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.gb28181.sdp import MediaTransport
from clearsight.media.es import Codec, EsFrame
from clearsight.media.payload import PayloadKind
from clearsight.media.rtp_es_depacketizer import DepacketizerStats
from clearsight.sim import live_stream
from clearsight.sim.rtp_stream import RtpStream, StreamPayload, nal_units
from clearsight.sim.video import EncodedFrame
from tests.integration.live_api_stack import PlatformStack
from tests.integration.test_live import CHANNEL_ID, DEVICE_ID, next_frames, stack

pytestmark = pytest.mark.integration

__all__ = ["stack"]  # the fixture, shared with test_live.py

CASES = [
    ("ts", MediaTransport.UDP, PayloadKind.MPEG_TS),
    ("h264", MediaTransport.UDP, PayloadKind.H264_ES),
    ("ts", MediaTransport.TCP_PASSIVE, PayloadKind.MPEG_TS),
    ("h264", MediaTransport.TCP_ACTIVE, PayloadKind.H264_ES),
]


def decode_in_order(frames: list[EsFrame]) -> list[av.VideoFrame]:
    """Decode the frames one after the other with one decoder, as a viewer would."""
    context = av.CodecContext.create("h264", "r")
    pictures: list[av.VideoFrame] = []
    for frame in frames:
        pictures += [p for p in context.decode(av.Packet(frame.data)) if isinstance(p, av.VideoFrame)]
    pictures += [p for p in context.decode(None) if isinstance(p, av.VideoFrame)]
    return pictures


@pytest.mark.parametrize(("payload", "transport", "kind"), CASES, ids=[f"{c[0]}-{c[1].value}" for c in CASES])
async def test_live_view_of_a_device_sending_ts_or_raw_h264(stack: PlatformStack, payload: str,
                                                           transport: MediaTransport, kind: PayloadKind) -> None:
    stack.sim.live.payload(CHANNEL_ID, payload)
    session = await stack.platform.gb28181.live.open(DEVICE_ID, CHANNEL_ID, transport=transport)
    assert session.payload_kind is kind
    started = await stack.wait_event("stream_started", channel=CHANNEL_ID)
    assert started["payload"] == payload

    frames = await next_frames(session.frames, 30, within=10.0)
    assert all(f.is_video and f.codec is Codec.H264 for f in frames)
    pts = [f.pts for f in frames]
    assert all(p is not None for p in pts)
    assert all(b - a == 3600 for a, b in itertools.pairwise(pts))  # 25 fps, none lost or merged
    assert frames[0].keyframe  # the stream starts on an IDR, and its parameter sets are in front
    assert sum(f.keyframe for f in frames) >= 2  # a one-second GOP
    pictures = decode_in_order(frames)
    assert len(pictures) == len(frames)
    assert {(p.width, p.height) for p in pictures} == {(320, 180)}

    receiver = session.receiver
    assert receiver.counters.bad_packets == 0 and receiver.counters.wrong_ssrc == 0
    assert receiver.counters.undecoded_packets == 0
    stats = receiver.pipeline.decoder_stats
    assert stats is not None and stats.frames_dropped == 0

    await session.close()
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"
    assert stack.platform.gb28181.live.sessions == []


class _NoiseRtpStream(RtpStream):
    """A device whose payload is nothing the platform knows."""

    def __init__(self, ssrc: int) -> None:
        super().__init__(ssrc, 96)
        self._random = random.Random(ssrc)

    def payloads_for(self, frame: EncodedFrame, pts_90k: int) -> list[bytes]:
        return [bytes([0x80 | self._random.randrange(128)]) + self._random.randbytes(900) for _ in range(8)]


async def test_a_payload_of_no_known_kind_fails_at_payload(stack: PlatformStack,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def noise(payload: StreamPayload, ssrc: int, **_options: object) -> RtpStream:
        return _NoiseRtpStream(ssrc)

    monkeypatch.setattr(live_stream, "rtp_stream_for", noise)
    with pytest.raises(LiveViewError) as caught:
        await stack.platform.gb28181.open_live(DEVICE_ID, CHANNEL_ID)
    assert caught.value.step == LiveStep.PAYLOAD == "payload"
    assert "undecodable" in caught.value.detail and "MPEG-TS" in caught.value.detail
    assert "of 64 payloads" in caught.value.detail
    await stack.wait_event("stream_stopped", channel=CHANNEL_ID, reason="bye")
    assert stack.platform.gb28181.live.sessions == []


async def test_a_device_giving_its_sps_and_pps_only_in_the_sdp_answer_still_starts(stack: PlatformStack) -> None:
    stack.sim.live.payload(CHANNEL_ID, "h264-sprop")  # raw H.264, no SPS/PPS in band: sprop-parameter-sets only
    session = await stack.platform.gb28181.live.open(DEVICE_ID, CHANNEL_ID)
    assert session.payload_kind is PayloadKind.H264_ES
    started = await stack.wait_event("stream_started", channel=CHANNEL_ID)
    assert started["payload"] == "h264-sprop"

    frames = await next_frames(session.frames, 30, within=10.0)
    keyframes = [f for f in frames if f.keyframe]
    assert frames[0].keyframe and len(keyframes) >= 2
    for keyframe in keyframes:  # the platform put the SDP's parameter sets in front of each IDR
        assert [nal[0] & 0x1F for nal in nal_units(keyframe.data)[:2]] == [7, 8]
    assert len(decode_in_order(frames)) == len(frames)
    stats = session.receiver.pipeline.decoder_stats
    assert isinstance(stats, DepacketizerStats) and stats.parameter_sets_inserted >= len(keyframes)
    await session.close()
