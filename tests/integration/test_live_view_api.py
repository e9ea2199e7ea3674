"""Live view through the HTTP API: signed URLs, fMP4 over WebSocket, HLS, snapshots, the hub's sharing and
grace period, failures named by step. The real platform and a real simulator over loopback."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest
import websockets

from clearsight.gb28181.ssrc import StreamKind
from tests.integration.live_api_stack import CHANNEL_GB_IDS, DEVICE_ID, LiveApiStack, live_api_stack

pytestmark = pytest.mark.integration

GRACE = 1.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LiveApiStack]:
    async with live_api_stack(tmp_path / "platform", live_grace_period=GRACE) as running:
        yield running


async def _start(stack: LiveApiStack, pk: int) -> dict[str, object]:
    async with stack.client() as client:
        response = await client.post(f"/api/v1/channels/{pk}/live")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


Received = tuple[dict[str, object], bytes, list[bytes], list[dict[str, object]]]


async def _receive(ws_url: str, fragments: int) -> Received:
    """(init message, init segment, media fragments, other JSON messages) from a live WebSocket."""
    texts: list[dict[str, object]] = []
    media: list[bytes] = []
    async with websockets.connect(ws_url, max_size=None) as ws:
        init = json.loads(await asyncio.wait_for(ws.recv(), 5))
        init_segment = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(init_segment, bytes)
        while len(media) < fragments:
            message = await asyncio.wait_for(ws.recv(), 5)
            if isinstance(message, bytes):
                media.append(message)
            else:
                texts.append(json.loads(message))
    return init, init_segment, media, texts


def _decode(init_segment: bytes, fragments: list[bytes]) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(init_segment + b"".join(fragments)), format="mp4") as container:
        return list(container.decode(video=0))


async def test_websocket_delivers_fmp4_that_decodes_from_a_keyframe(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    live = await _start(stack, pk)
    assert str(live["ws_url"]).startswith("ws://127.0.0.1:") and "token=" in str(live["ws_url"])
    assert live["codec"] == "h264" and str(live["mime"]).startswith('video/mp4; codecs="avc1.')
    init, init_segment, media, texts = await _receive(str(live["ws_url"]), 30)
    assert init["type"] == "init" and init["mime"] == live["mime"] and init["width"] == 320
    assert init_segment[4:8] == b"ftyp" and b"moov" in init_segment
    assert all(fragment[4:8] == b"moof" for fragment in media)
    pictures = _decode(init_segment, media)
    assert len(pictures) >= 28  # every fragment decodes, starting with the first: it is a keyframe
    assert pictures[0].key_frame
    stats = [t for t in texts if t["type"] == "stats"]
    assert stats and stats[0]["packets"] > 0 and stats[0]["viewers"] == 1 and stats[0]["transport"] == "udp"


async def test_two_viewers_share_one_invite_and_bye_follows_the_grace_period(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    first, second = await asyncio.gather(_start(stack, pk), _start(stack, pk))
    (_, _, media_a, _), (_, _, media_b, _) = await asyncio.gather(
        _receive(str(first["ws_url"]), 10), _receive(str(second["ws_url"]), 10))
    assert len(media_a) == len(media_b) == 10
    assert stack.count("invite", channel=CHANNEL_GB_IDS[0]) == 1
    # Both viewers have left: the device keeps streaming through the grace period, then gets BYE.
    await asyncio.sleep(GRACE * 0.5)
    assert stack.count("stream_stopped", channel=CHANNEL_GB_IDS[0]) == 0
    await stack.wait_event("stream_stopped", within=GRACE + 5, channel=CHANNEL_GB_IDS[0], reason="bye")
    assert stack.platform.hub.streams == []


async def test_stream_urls_are_refused_without_a_valid_token(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    other = await stack.channel_pk(CHANNEL_GB_IDS[1])
    live = await _start(stack, pk)
    ws_url = str(live["ws_url"])
    base, token = ws_url.split("?token=")
    for url in (base, f"{base}?token=forged", ws_url.replace(f"/live/{pk}/", f"/live/{other}/"),
                f"{base}?token={stack.token}"):  # an API token is no stream token
        with pytest.raises((websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed)):
            async with websockets.connect(url) as ws:
                await asyncio.wait_for(ws.recv(), 5)
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        assert (await client.get(f"/api/v1/live/{pk}/index.m3u8")).status_code == 422
        assert (await client.get(f"/api/v1/live/{pk}/index.m3u8", params={"token": "x"})).status_code == 403
        assert (await client.get(f"/api/v1/live/{other}/index.m3u8", params={"token": token})).status_code == 403
        assert (await client.post(f"/api/v1/channels/{pk}/live")).status_code == 401


async def test_hls_playlist_segments_decode(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[1])
    live = await _start(stack, pk)
    hls_url = str(live["hls_url"])
    async with httpx.AsyncClient(timeout=20) as client:
        playlist = ""
        for _ in range(40):
            playlist = (await client.get(hls_url)).text
            if playlist.count(".m4s") >= 2:
                break
            await asyncio.sleep(0.25)
        assert playlist.startswith("#EXTM3U") and "#EXT-X-MAP:URI=" in playlist
        base = hls_url.rsplit("/", 1)[0]
        lines = playlist.splitlines()
        init_uri = next(line for line in lines if line.startswith("#EXT-X-MAP")).split('"')[1]
        segment_uris = [line for line in lines if line.startswith("seg/")]
        assert len(segment_uris) >= 2 and all("token=" in uri for uri in segment_uris)
        init = (await client.get(f"{base}/{init_uri}")).content
        segments = [(await client.get(f"{base}/{uri}")).content for uri in segment_uris]
    pictures = _decode(init, segments)
    assert len(pictures) >= 25 and pictures[0].key_frame


async def test_snapshot_is_a_jpeg_of_the_current_picture(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    async with stack.client() as client:
        response = await client.get(f"/api/v1/channels/{pk}/snapshot")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(response.content), format="mjpeg") as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (320, 180)


async def test_a_silent_device_fails_at_no_rtp_and_a_refusing_one_at_invite(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    other = await stack.channel_pk(CHANNEL_GB_IDS[1])
    stack.sim.live.mute(CHANNEL_GB_IDS[0])
    stack.sim.live.reject(CHANNEL_GB_IDS[1], 486)
    async with stack.client() as client:
        silent, refused = await asyncio.gather(client.post(f"/api/v1/channels/{pk}/live"),
                                               client.post(f"/api/v1/channels/{other}/live"))
    assert silent.status_code == 504, silent.text
    assert silent.json()["step"] == "no-rtp" and "no RTP" in silent.json()["detail"]
    assert refused.status_code == 502 and refused.json()["step"] == "invite" and "486" in refused.json()["detail"]
    await stack.wait_event("stream_stopped", channel=CHANNEL_GB_IDS[0], reason="bye")  # the silent one got BYE
    assert stack.platform.hub.streams == []


async def test_an_offline_device_is_a_409_at_step_offline_not_a_refused_invite(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    assert await stack.sim.register(stack.sim.devices[DEVICE_ID], expires=0)  # unregistered: offline at once
    async with stack.client() as client:
        response = await client.post(f"/api/v1/channels/{pk}/live")
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["type"], problem["title"], problem["step"]) == ("/problems/device-offline", "Device offline",
                                                                   "offline")
    assert problem["device_id"] == DEVICE_ID and "offline" in problem["detail"]
    assert stack.count("invite") == 0  # nothing was sent to the device
    assert stack.platform.hub.streams == [] and stack.platform.gb28181.live.ssrcs.in_use(StreamKind.PLAY) == 0


async def test_media_metrics_count_streams_and_viewers(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    live = await _start(stack, pk)
    async with websockets.connect(str(live["ws_url"]), max_size=None) as ws:
        for _ in range(10):
            await asyncio.wait_for(ws.recv(), 5)
        async with stack.client() as client:
            text = (await client.get("/metrics")).text
    assert "clearsight_media_streams 1.0" in text
    assert "clearsight_media_viewers 1.0" in text
    packets = next(line for line in text.splitlines() if line.startswith("clearsight_media_rtp_packets "))
    assert float(packets.split()[1]) > 0


@pytest.mark.parametrize("transport", ["tcp-passive", "tcp-active"])
async def test_websocket_live_view_over_tcp_media(tmp_path: Path, transport: str) -> None:
    async with live_api_stack(tmp_path / "platform", media_transport=transport) as tcp_stack:
        pk = await tcp_stack.channel_pk(CHANNEL_GB_IDS[0])
        live = await _start(tcp_stack, pk)
        _, init_segment, media, texts = await _receive(str(live["ws_url"]), 30)
        assert len(_decode(init_segment, media)) >= 28
        assert next(t["transport"] for t in texts if t["type"] == "stats") == transport
        device_side = {"tcp-passive": "tcp-active", "tcp-active": "tcp-passive"}[transport]  # who connects
        assert tcp_stack.count("stream_started", channel=CHANNEL_GB_IDS[0], transport=device_side) == 1
