"""Live view over UDP, in one process: the real platform stack and a real simulator on one event loop.

The `stack` fixture and the helpers here are shared with `test_live_tcp.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from clearsight.gb28181.errors import DeviceOffline
from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.gb28181.ssrc import StreamKind
from clearsight.media.es import EsFrame
from clearsight.media.payload import PayloadKind
from tests.integration.live_api_stack import PlatformStack, platform_stack, stack_settings

pytestmark = pytest.mark.integration

DEVICE_ID = "34020000001320000001"
CHANNEL_ID = "34020000001310000002"  # the simulator numbers channels from its base channel ID + 1
SECOND_CHANNEL_ID = "34020000001310000003"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[PlatformStack]:
    async with platform_stack(stack_settings(tmp_path / "platform")) as running:
        yield running


async def test_live_view_of_an_offline_device_raises_device_offline_and_sends_nothing(stack: PlatformStack) -> None:
    assert await stack.sim.register(stack.sim.devices[DEVICE_ID], expires=0)
    live = stack.platform.gb28181.live
    with pytest.raises(DeviceOffline) as caught:
        await live.open(DEVICE_ID, CHANNEL_ID)
    assert caught.value.device_id == DEVICE_ID
    assert stack.count("invite") == 0 and live.sessions == [] and live.ssrcs.in_use(StreamKind.PLAY) == 0


async def next_frames(queue: asyncio.Queue[EsFrame], count: int, within: float) -> list[EsFrame]:
    frames: list[EsFrame] = []
    async with asyncio.timeout(within):
        while len(frames) < count:
            frames.append(await queue.get())
    return frames


def decode_h264(frame: EsFrame) -> list[av.VideoFrame]:
    context = av.CodecContext.create("h264", "r")
    pictures: list[av.VideoFrame] = []
    for packet in [*context.parse(frame.data), *context.parse(None)]:
        pictures += [p for p in context.decode(packet) if isinstance(p, av.VideoFrame)]
    pictures += [p for p in context.decode(None) if isinstance(p, av.VideoFrame)]
    return pictures


async def test_live_view_streams_decodable_h264_and_bye_stops_the_device(stack: PlatformStack) -> None:
    session = await stack.platform.gb28181.open_live(DEVICE_ID, CHANNEL_ID)
    assert session.payload_kind is PayloadKind.MPEG_PS
    await stack.wait_event("invite", channel=CHANNEL_ID, status=200, ssrc=session.ssrc.text)
    await stack.wait_event("stream_started", channel=CHANNEL_ID)

    frames = await next_frames(session.frames, 12, within=10.0)
    video = [f for f in frames if f.is_video]
    pts = [f.pts for f in video]
    assert len(video) >= 10
    assert all(p is not None for p in pts)
    assert all(b > a for a, b in itertools.pairwise(pts))
    keyframes = [f for f in video if f.keyframe]
    assert keyframes, "no keyframe among the first frames"
    pictures = decode_h264(keyframes[0])
    assert pictures and (pictures[0].width, pictures[0].height) == (320, 180)
    assert session.receiver.counters.bad_packets == 0
    assert session.receiver.counters.wrong_ssrc == 0

    await session.close()
    assert session.closed.is_set()
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"
    assert stack.platform.gb28181.live.sessions == []
    assert not stack.platform.gb28181.live.ssrcs.is_allocated(session.ssrc)


async def test_bye_from_the_device_ends_the_session(stack: PlatformStack) -> None:
    session = await stack.platform.gb28181.open_live(DEVICE_ID, CHANNEL_ID)
    await next_frames(session.frames, 1, within=10.0)
    assert await stack.sim.live.bye(CHANNEL_ID) == 1
    async with asyncio.timeout(5):
        await session.closed.wait()
    assert session.close_reason == "device sent BYE"
    await stack.wait_event("bye", channel=CHANNEL_ID, status=200)
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "device-bye"
    assert stack.platform.gb28181.live.sessions == []
    assert not stack.platform.gb28181.live.ssrcs.is_allocated(session.ssrc)
    assert stack.sim.live.active == 0


async def test_rtp_stopping_mid_stream_ends_the_session_with_a_bye(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live
    live.media_timeout = 1.0
    session = await live.open(DEVICE_ID, CHANNEL_ID)
    await next_frames(session.frames, 5, within=10.0)
    stack.sim.live.mute(CHANNEL_ID)
    muted_at = time.monotonic()
    async with asyncio.timeout(5):
        await session.closed.wait()
    assert 0.9 <= time.monotonic() - muted_at < 3.0
    assert session.close_reason == "no RTP for 1 s"
    stopped = await stack.wait_event("stream_stopped", channel=CHANNEL_ID)
    assert stopped["reason"] == "bye"  # the platform ended the dialog
    assert live.sessions == []
    assert not live.ssrcs.is_allocated(session.ssrc)


async def test_a_steady_stream_outlives_the_media_timeout(stack: PlatformStack) -> None:
    live = stack.platform.gb28181.live
    live.media_timeout = 0.5
    session = await live.open(DEVICE_ID, CHANNEL_ID)
    await asyncio.sleep(1.5)
    assert not session.closed.is_set(), session.close_reason
    await session.close()
    assert session.close_reason == "closed by the platform"


async def test_device_that_never_sends_rtp_fails_at_no_rtp(stack: PlatformStack) -> None:
    stack.sim.live.mute(SECOND_CHANNEL_ID)
    stack.platform.gb28181.live.no_rtp_timeout = 1.5
    started = time.monotonic()
    with pytest.raises(LiveViewError) as caught:
        await stack.platform.gb28181.open_live(DEVICE_ID, SECOND_CHANNEL_ID)
    elapsed = time.monotonic() - started
    assert caught.value.step == LiveStep.NO_RTP == "no-rtp"
    assert "no RTP" in caught.value.detail
    assert 1.4 <= elapsed < 4.0
    await stack.wait_event("stream_stopped", channel=SECOND_CHANNEL_ID, reason="bye")
    assert stack.platform.gb28181.live.sessions == []


async def test_device_answering_4xx_fails_at_invite(stack: PlatformStack) -> None:
    stack.sim.live.reject(CHANNEL_ID, 486)
    with pytest.raises(LiveViewError) as caught:
        await stack.platform.gb28181.open_live(DEVICE_ID, CHANNEL_ID)
    assert caught.value.step == "invite"
    assert "486" in caught.value.detail
    assert stack.platform.gb28181.live.sessions == []
    assert stack.platform.gb28181.live.ssrcs.in_use(StreamKind.PLAY) == 0
