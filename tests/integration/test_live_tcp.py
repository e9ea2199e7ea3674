"""Live view over TCP (RFC 4571 framing), passive and active, with the real platform stack and simulator."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.gb28181.sdp import MediaTransport
from clearsight.gb28181.ssrc import StreamKind
from clearsight.media.payload import PayloadKind
from tests.integration.live_api_stack import PlatformStack
from tests.integration.test_live import (
    CHANNEL_ID,
    DEVICE_ID,
    SECOND_CHANNEL_ID,
    decode_h264,
    next_frames,
    stack,
)

pytestmark = pytest.mark.integration

__all__ = ["stack"]  # the fixture, shared with test_live.py

TCP_MODES = [MediaTransport.TCP_PASSIVE, MediaTransport.TCP_ACTIVE]
# The device's side of each platform side.
DEVICE_SIDE = {MediaTransport.TCP_PASSIVE: MediaTransport.TCP_ACTIVE,
               MediaTransport.TCP_ACTIVE: MediaTransport.TCP_PASSIVE}


@pytest.mark.parametrize("mode", TCP_MODES, ids=lambda m: m.value)
async def test_tcp_live_view_streams_decodable_h264(stack: PlatformStack, mode: MediaTransport) -> None:
    live = stack.platform.gb28181.live
    started = time.monotonic()
    session = await live.open(DEVICE_ID, CHANNEL_ID, transport=mode)
    assert time.monotonic() - started < 3.0  # streaming as soon as the payload is known, not after a timeout
    assert session.transport is mode
    assert session.payload_kind is PayloadKind.MPEG_PS
    invite = await stack.wait_event("invite", channel=CHANNEL_ID, status=200, ssrc=session.ssrc.text)
    assert invite["transport"] == DEVICE_SIDE[mode].value
    await stack.wait_event("stream_started", channel=CHANNEL_ID, transport=DEVICE_SIDE[mode].value)

    frames = await next_frames(session.frames, 12, within=10.0)
    video = [f for f in frames if f.is_video]
    assert len(video) >= 10
    pts = [f.pts for f in video]
    assert all(p is not None for p in pts)
    assert all(b > a for a, b in itertools.pairwise(pts))
    keyframes = [f for f in video if f.keyframe]
    assert keyframes, "no keyframe among the first frames"
    pictures = decode_h264(keyframes[0])
    assert pictures and (pictures[0].width, pictures[0].height) == (320, 180)
    receiver = session.receiver
    assert receiver.counters.bad_packets == 0
    assert receiver.counters.wrong_ssrc == 0
    assert receiver.tcp is not None and receiver.tcp.connection is not None
    assert receiver.tcp.framing_errors == 0
    if mode is MediaTransport.TCP_ACTIVE:
        # The platform connected to the port the device answered.
        peer = receiver.tcp.connection.peer
        assert isinstance(peer, tuple) and peer[1] == invite["port"]
        assert not receiver.tcp.listening
    else:
        assert receiver.port == int(str(invite["media"]).rpartition(":")[2])

    await session.close()
    assert session.closed.is_set()
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"
    assert live.sessions == []
    assert not live.ssrcs.is_allocated(session.ssrc)


@pytest.mark.parametrize("mode", TCP_MODES, ids=lambda m: m.value)
async def test_silence_mid_stream_ends_the_session(stack: PlatformStack, mode: MediaTransport) -> None:
    live = stack.platform.gb28181.live
    live.media_timeout = 1.0
    session = await live.open(DEVICE_ID, CHANNEL_ID, transport=mode)
    await next_frames(session.frames, 5, within=10.0)
    stack.sim.live.mute(CHANNEL_ID)
    muted_at = time.monotonic()
    async with asyncio.timeout(5):
        await session.closed.wait()
    assert 0.9 <= time.monotonic() - muted_at < 3.0
    assert session.close_reason == "no RTP for 1 s"
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"
    assert live.sessions == []


@pytest.mark.parametrize("mode", TCP_MODES, ids=lambda m: m.value)
async def test_device_closing_the_connection_ends_the_session(stack: PlatformStack, mode: MediaTransport) -> None:
    live = stack.platform.gb28181.live
    live.media_timeout = 30.0  # the connection's end, not silence, must close it
    session = await live.open(DEVICE_ID, CHANNEL_ID, transport=mode)
    await next_frames(session.frames, 3, within=10.0)
    assert stack.sim.live.drop_media(CHANNEL_ID) == 1
    async with asyncio.timeout(3):
        await session.closed.wait()
    assert session.close_reason is not None
    assert session.close_reason.startswith("device closed the TCP media connection")
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"
    assert live.sessions == []


@pytest.mark.parametrize("mode", TCP_MODES, ids=lambda m: m.value)
async def test_bye_from_the_device_ends_the_tcp_session(stack: PlatformStack, mode: MediaTransport) -> None:
    live = stack.platform.gb28181.live
    session = await live.open(DEVICE_ID, CHANNEL_ID, transport=mode)
    await next_frames(session.frames, 1, within=10.0)
    assert await stack.sim.live.bye(CHANNEL_ID) == 1
    async with asyncio.timeout(5):
        await session.closed.wait()
    assert session.close_reason == "device sent BYE"
    await stack.wait_event("bye", channel=CHANNEL_ID, status=200)
    assert live.sessions == []
    assert not live.ssrcs.is_allocated(session.ssrc)


async def test_default_transport_is_used_when_open_names_none(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live
    live.default_transport = MediaTransport.TCP_PASSIVE
    session = await live.open(DEVICE_ID, CHANNEL_ID)
    assert session.transport is MediaTransport.TCP_PASSIVE
    invite = await stack.wait_event("invite", channel=CHANNEL_ID, status=200)
    assert invite["transport"] == MediaTransport.TCP_ACTIVE.value
    await session.close()


async def test_connected_but_silent_device_fails_at_no_rtp(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live
    live.no_rtp_timeout = 1.0
    stack.sim.live.mute(SECOND_CHANNEL_ID)
    with pytest.raises(LiveViewError) as caught:
        await live.open(DEVICE_ID, SECOND_CHANNEL_ID, transport=MediaTransport.TCP_ACTIVE)
    assert caught.value.step is LiveStep.NO_RTP
    assert caught.value.detail.startswith("no RTP on the TCP media connection with 127.0.0.1:")
    await stack.wait_event("stream_stopped", channel=SECOND_CHANNEL_ID, reason="bye")
    assert live.sessions == []


async def test_device_that_never_connects_fails_at_no_rtp(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live
    live.no_rtp_timeout = 1.0

    def refuse_media(event: dict[str, object]) -> None:  # the device answers, then never connects
        if event.get("event") == "invite" and event.get("status") == 200:
            stack.sim.live.drop_media(SECOND_CHANNEL_ID)

    stack.hooks.append(refuse_media)
    with pytest.raises(LiveViewError) as caught:
        await live.open(DEVICE_ID, SECOND_CHANNEL_ID, transport=MediaTransport.TCP_PASSIVE)
    assert caught.value.step is LiveStep.NO_RTP
    port = caught.value.detail.rpartition(":")[2].split()[0]
    assert caught.value.detail == f"the device did not connect to TCP 127.0.0.1:{port} within 1 s of the ACK"
    assert live.sessions == []


async def test_unreachable_device_port_fails_at_connect(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live

    def close_listener(event: dict[str, object]) -> None:  # the device answers a port nobody listens on
        if event.get("event") == "invite" and event.get("status") == 200:
            stack.sim.live.drop_media(SECOND_CHANNEL_ID)

    stack.hooks.append(close_listener)
    started = time.monotonic()
    with pytest.raises(LiveViewError) as caught:
        await live.open(DEVICE_ID, SECOND_CHANNEL_ID, transport=MediaTransport.TCP_ACTIVE)
    assert time.monotonic() - started < 3.0
    assert caught.value.step is LiveStep.CONNECT
    assert caught.value.step == "connect"
    assert "could not open the TCP media connection to the device's answered 127.0.0.1:" in caught.value.detail
    await stack.wait_event("stream_stopped", channel=SECOND_CHANNEL_ID, reason="bye")
    assert live.sessions == []
    assert live.ssrcs.in_use(StreamKind.PLAY) == 0
