"""Device playback through the HTTP API: the device's recordings, a playback per viewer with signed stream URLs
(fMP4 over WebSocket whose pictures show the historic time, HLS), control by MANSRTSP, the end of the range, tokens.
The real platform and a real simulator over loopback."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import httpx
import pytest
import websockets

from clearsight.gb28181.playback import FILE_ENDED
from clearsight.sim.clock_reader import clock_seconds, read_clock
from clearsight.sim.video import clock_text
from tests.integration.live_api_stack import CHANNEL_GB_IDS, LiveApiStack, live_api_stack

pytestmark = pytest.mark.integration

GRACE = 1.0
HISTORY = 3600.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[LiveApiStack]:
    async with live_api_stack(tmp_path / "platform", live_grace_period=GRACE) as running:
        running.sim.recordings.recorded_since -= HISTORY  # the simulator has "recorded" the last hour
        yield running


def _start_of_history(offset: float) -> datetime:
    return datetime.fromtimestamp(math.ceil(time.time() - HISTORY + offset), UTC)


async def _play(stack: LiveApiStack, pk: int, start: datetime, seconds: float, speed: float = 1.0) -> dict[str, object]:
    async with stack.client() as client:
        response = await client.post(f"/api/v1/channels/{pk}/device-playback", json={
            "start": start.isoformat(), "end": (start + timedelta(seconds=seconds)).isoformat(), "speed": speed})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def _control(stack: LiveApiStack, playback: dict[str, object], **body: object) -> httpx.Response:
    async with stack.client() as client:
        return await client.post(str(playback["control_url"]), json=body)


def _clocks(init_segment: bytes, fragments: list[bytes]) -> list[str | None]:
    with av.open(io.BytesIO(init_segment + b"".join(fragments)), format="mp4") as container:
        return [read_clock(picture) for picture in container.decode(video=0)]


async def test_device_recordings_lists_what_the_device_recorded(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    end = datetime.fromtimestamp(int(time.time()), UTC)
    start = end - timedelta(hours=2)
    async with stack.client() as client:
        response = await client.get(f"/api/v1/channels/{pk}/device-recordings",
                                    params={"start": start.isoformat(), "end": end.isoformat()})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["complete"] and body["sum_num"] == len(body["items"]) >= 6  # 10-minute files over an hour
        items = body["items"]
        first = datetime.fromisoformat(items[0]["start"])
        assert abs(first.timestamp() - (time.time() - HISTORY)) < 30  # recording began an hour ago
        assert all(a["end"] == b["start"] for a, b in itertools.pairwise(items))
        assert items[0]["type"] == "time" and items[0]["name"] and items[0]["file_size"] > 0
        backwards = await client.get(f"/api/v1/channels/{pk}/device-recordings",
                                     params={"start": end.isoformat(), "end": start.isoformat()})
        assert backwards.status_code == 422
        too_long = await client.get(f"/api/v1/channels/{pk}/device-recordings",
                                    params={"start": (end - timedelta(days=40)).isoformat(), "end": end.isoformat()})
        assert too_long.status_code == 422
        assert (await client.get("/api/v1/channels/999999/device-recordings",
                                 params={"start": start.isoformat(), "end": end.isoformat()})).status_code == 404
    async with httpx.AsyncClient(base_url=stack.base_url) as anonymous:
        assert (await anonymous.get(f"/api/v1/channels/{pk}/device-recordings",
                                    params={"start": start.isoformat(), "end": end.isoformat()})).status_code == 401


async def test_playback_over_websocket_shows_the_past_and_obeys_control(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    start = _start_of_history(300)
    playback = await _play(stack, pk, start, 600)
    assert str(playback["ws_url"]).startswith("ws://127.0.0.1:") and "token=" in str(playback["ws_url"])
    assert playback["codec"] == "h264" and playback["speed"] == 1.0
    stream_key = f"playback:{pk}:{playback['session_id']}"
    assert stack.platform.hub.get(stream_key) is not None  # its own stream, not the channel's live one
    async with websockets.connect(str(playback["ws_url"]), max_size=None) as ws:
        init = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert init["type"] == "init" and init["width"] == 320
        init_segment = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(init_segment, bytes)

        async def fragments(seconds: float) -> list[bytes]:
            received: list[bytes] = []
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                if isinstance(message, bytes):
                    received.append(message)
            return received

        first = await fragments(1.0)
        clocks = _clocks(init_segment, first)
        assert clocks and clocks[0] == clock_text(start.astimezone())  # the first picture is the start of the range

        paused = await _control(stack, playback, action="pause")
        assert paused.status_code == 200 and paused.json()["state"] == "paused", paused.text
        await fragments(0.4)  # what was already on its way
        assert await fragments(1.0) == []

        sought = await _control(stack, playback, action="seek", position=120)
        assert sought.status_code == 200 and sought.json()["state"] == "playing"
        assert 120 <= sought.json()["position"] < 121
        after_seek = _clocks(init_segment, first + await fragments(1.0))[len(first):]
        readable = [c for c in after_seek if c is not None]
        expected = clock_seconds(clock_text((start + timedelta(seconds=120)).astimezone()))
        assert any(abs(clock_seconds(c) - expected) < 0.5 for c in readable[:15]), readable[:15]

        faster = await _control(stack, playback, action="speed", speed=4)
        assert faster.status_code == 200 and faster.json()["speed"] == 4.0
        bad = await _control(stack, playback, action="speed", speed=3)
        assert bad.status_code == 422
        no_position = await _control(stack, playback, action="seek")
        assert no_position.status_code == 422

    async with stack.client() as client:
        state = (await client.get(f"/api/v1/device-playback/{playback['session_id']}")).json()
        assert state["state"] == "playing" and state["speed"] == 4.0
        assert (await client.delete(f"/api/v1/device-playback/{playback['session_id']}")).status_code == 204
        assert (await client.get(f"/api/v1/device-playback/{playback['session_id']}")).status_code == 404
    await stack.wait_event("playback_stopped", channel=CHANNEL_GB_IDS[0], reason="bye")
    assert stack.platform.hub.get(stream_key) is None


async def test_each_viewer_gets_its_own_playback_and_the_end_of_the_range_ends_it(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[1])
    start = _start_of_history(600)
    first, second = await asyncio.gather(_play(stack, pk, start, 2), _play(stack, pk, start, 2))
    assert first["session_id"] != second["session_id"]
    assert stack.count("playback_invite", channel=CHANNEL_GB_IDS[1], status=200) == 2  # not shared
    async with websockets.connect(str(first["ws_url"]), max_size=None) as ws:
        ended: dict[str, object] = {}
        async with asyncio.timeout(10):
            while not ended:
                message = await ws.recv()
                if isinstance(message, str) and json.loads(message)["type"] == "end":
                    ended = json.loads(message)
    assert ended["reason"] == FILE_ENDED
    async with stack.client() as client:
        state = (await client.get(f"/api/v1/device-playback/{first['session_id']}")).json()
        assert state["state"] == "ended" and state["end_reason"] == FILE_ENDED
        refused = await _control(stack, first, action="pause")
        assert refused.status_code == 409 and "ended" in refused.json()["detail"]


async def test_playback_stream_urls_need_their_own_token(stack: LiveApiStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    start = _start_of_history(900)
    first, second = await asyncio.gather(_play(stack, pk, start, 60), _play(stack, pk, start, 60))
    base_first, token_first = str(first["ws_url"]).split("?token=")
    base_second, _ = str(second["ws_url"]).split("?token=")
    async with stack.client() as client:
        live = (await client.post(f"/api/v1/channels/{pk}/live")).json()
    live_token = str(live["ws_url"]).split("?token=")[1]
    for url in (base_first, f"{base_first}?token=forged", f"{base_second}?token={token_first}",
                f"{base_first}?token={live_token}", f"{base_first}?token={stack.token}"):
        with pytest.raises((websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed)):
            async with websockets.connect(url) as ws:
                await asyncio.wait_for(ws.recv(), 5)
    hls_url = str(first["hls_url"])
    async with httpx.AsyncClient(timeout=20) as client:
        playlist = (await client.get(hls_url)).text
        assert playlist.startswith("#EXTM3U") and "#EXT-X-MAP:URI=" in playlist
        assert (await client.get(hls_url.replace(token_first, live_token))).status_code == 403
        assert (await client.post(f"{stack.base_url}/api/v1/channels/{pk}/device-playback",
                                  json={"start": start.isoformat(), "end": start.isoformat()})).status_code == 401
    async with stack.client() as client:
        empty = await client.post(f"/api/v1/channels/{pk}/device-playback",
                                  json={"start": start.isoformat(), "end": start.isoformat()})
        assert empty.status_code == 422
        never = datetime.now(UTC) - timedelta(days=3)
        refused = await client.post(f"/api/v1/channels/{pk}/device-playback", json={
            "start": never.isoformat(), "end": (never + timedelta(minutes=1)).isoformat()})
        assert refused.status_code == 502 and refused.json()["step"] == "invite" and "404" in refused.json()["detail"]
