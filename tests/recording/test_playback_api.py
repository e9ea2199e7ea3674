"""Playback of recordings through the API on a real server: the session contract, 404, permissions, stream tokens,
the WebSocket's messages and controls, HLS, DELETE, audit entries, and a revoked grant or an ended sign-in (logout,
session revocation, a disabled account) ending the stream."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import av
import jwt
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import ChannelClass
from clearsight.audit import AuditAction, AuditEntry
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from tests.access.platform import build_platform
from tests.api.session import assert_problem
from tests.recording.clock_clip import frame_number
from tests.recording.playback_server import PlaybackServer, playback_server, record
from tests.recording.samples import FPS, Clip

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=30)  # a second recording, after a gap


@pytest.fixture
async def server(db_engine: AsyncEngine, recording_store: RecordingStore, pool: StoragePool,
                 clock_clip: Clip) -> AsyncIterator[PlaybackServer]:
    platform = await build_platform(db_engine)
    async with playback_server(platform, recording_store, pool, clock_clip) as running:
        for channel in (_public(running, True), _public(running, False)):
            await record(recording_store, pool, channel, clock_clip, T0)  # 08:00:00-08:00:10
        await record(recording_store, pool, _public(running, True), clock_clip, LATER, fragments=2 * FPS)
        yield running


def _public(server: PlaybackServer, in_scope: bool) -> int:
    return next(c.id for c in server.platform.channels if c.in_scope == in_scope and c.channel_class is
                ChannelClass.PUBLIC)


async def _open(server: PlaybackServer, user: str, start: datetime, speed: int = 1, *,
                channel: int | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with server.client() as client:
        response = await client.post(f"/api/v1/channels/{channel or _public(server, True)}/playback",
                                     headers=headers or await server.headers(user),
                                     json={"start": start.isoformat(), "speed": speed})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _messages(ws: Any, *, until: Any, within: float = 10.0) -> list[bytes | dict[str, Any]]:
    """What the socket sends (JSON decoded) up to and including the first message for which `until` is true."""
    got: list[bytes | dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            raw = await ws.recv()
            message = raw if isinstance(raw, bytes) else json.loads(raw)
            got.append(message)
            if until(message, got):
                return got


async def _audited(server: PlaybackServer, session: str, count: int) -> list[AuditEntry]:
    """The session's audit entries, once there are `count` (the server records a stream's end as it closes)."""
    def entries() -> list[AuditEntry]:
        return [e for e in server.platform.audit.entries if e.details.get("session_id") == session]

    async with asyncio.timeout(5):
        while len(entries()) < count:  # noqa: ASYNC110 - the in-memory audit log offers no event to wait on
            await asyncio.sleep(0.05)
    return entries()


def _binaries(messages: list[bytes | dict[str, Any]]) -> list[bytes]:
    return [m for m in messages if isinstance(m, bytes)]


def _numbers(data: list[bytes]) -> list[int]:
    with av.open(io.BytesIO(b"".join(data)), format="mp4") as container:
        return [frame_number(frame) for frame in container.decode(video=0)]


async def test_the_session_contract(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0 + timedelta(seconds=3, milliseconds=500), 2)
    assert set(body) >= {"session_id", "ws_url", "hls_url", "start", "speed", "expires_at"}
    assert datetime.fromisoformat(body["start"]) == T0 + timedelta(seconds=3)  # the keyframe before
    assert body["speed"] == 2 and body["mime"].startswith('video/mp4; codecs="avc1.')
    session = body["session_id"]
    assert re.fullmatch(rf"ws://127\.0\.0\.1:\d+/api/v1/playback/{session}/ws\?token=[\w.-]+", body["ws_url"])
    assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/api/v1/playback/{session}/index\.m3u8\?token=[\w.-]+",
                        body["hls_url"])
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    in_gap = await _open(server, "view", T0 + timedelta(seconds=20))
    assert datetime.fromisoformat(in_gap["start"]) == LATER  # the next recorded instant


async def test_nothing_recorded_at_or_after_is_404_and_bad_bodies_422(server: PlaybackServer) -> None:
    channel = _public(server, True)
    async with server.client() as client:
        headers = await server.headers("view")
        url = f"/api/v1/channels/{channel}/playback"
        body = assert_problem(await client.post(url, headers=headers, json={"start": (LATER + timedelta(minutes=1))
                                                                            .isoformat()}), 404)
        assert "nothing is recorded" in body["detail"]
        assert_problem(await client.post(url, headers=headers, json={"start": T0.isoformat(), "speed": 3}), 422)
        assert_problem(await client.post(url, headers=headers, json={"start": "2026-03-02T08:00:00"}), 422)
        assert_problem(await client.post(url, json={"start": T0.isoformat()}), 401)


async def test_playback_needs_a_grant_for_the_channel(server: PlaybackServer) -> None:
    async with server.client() as client:
        outside = _public(server, False)
        refused = await client.post(f"/api/v1/channels/{outside}/playback", headers=await server.headers("view"),
                                    json={"start": T0.isoformat()})
        assert_problem(refused, 403)
        auditor = await client.post(f"/api/v1/channels/{outside}/playback", headers=await server.headers("audit"),
                                    json={"start": T0.isoformat()})
        assert_problem(auditor, 403)
    assert (await _open(server, "admin", T0, channel=outside))["session_id"]


async def test_streams_need_their_own_token(server: PlaybackServer) -> None:
    first, second = await _open(server, "view", T0), await _open(server, "view", T0)
    base = first["ws_url"].split("?")[0]
    for url in (base, f"{base}?token=nonsense", f"{base}?token={second['ws_url'].split('token=')[1]}"):
        with pytest.raises(websockets.exceptions.InvalidStatus):  # refused before the handshake completes
            async with websockets.connect(url):
                pass
    async with server.client() as client:
        playlist = first["hls_url"].split("?")[0]
        assert_problem(await client.get(playlist), 422)
        assert_problem(await client.get(f"{playlist}?token=nonsense"), 403)
        live_token = (await client.post(f"/api/v1/channels/{_public(server, True)}/live",
                                        headers=await server.headers("view")))
        assert live_token.status_code == 409  # (the device is offline: no live token to try here)


async def test_websocket_sends_init_fragments_and_position_then_the_end(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0 + timedelta(seconds=8), 8)
    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        got = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "end", within=15)
        gap = next(m for m in got if isinstance(m, dict) and m["type"] == "gap")
        assert gap == {"type": "gap", "from": "2026-03-02T08:00:10.000Z", "to": "2026-03-02T08:00:30.000Z"}
        positions = [m for m in got if isinstance(m, dict) and m["type"] == "position"]
        assert positions and all(p["speed"] == 8 for p in positions)
        assert datetime.fromisoformat(positions[0]["time"]) >= T0 + timedelta(seconds=8)
        binaries = _binaries(got)
        assert binaries[0][4:8] == b"ftyp"  # the init segment first
        assert _numbers(binaries) == [8 * FPS, 9 * FPS, 0, FPS]  # 8× sends keyframes: 08:00:08, :09, :30, :31
        await ws.send(json.dumps({"type": "seek", "time": (T0 + timedelta(seconds=5)).isoformat()}))
        after = await _messages(ws, until=lambda m, got: len(_binaries(got)) == 2)
        seeked = next(m for m in after if isinstance(m, dict) and m["type"] == "seeked")
        assert seeked["time"] == "2026-03-02T08:00:05.000Z"  # the session stays open after the end: seek works
        assert after.index(seeked) < after.index(_binaries(after)[0])
        assert _numbers(_binaries(after)) == [5 * FPS]


async def test_controls_and_malformed_messages(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0, 1)
    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        await _messages(ws, until=lambda m, got: len(_binaries(got)) == 3)
        for bad in ("not json", json.dumps({"type": "seek", "time": "yesterday"}), json.dumps({"type": "speed",
                    "speed": 3}), json.dumps({"type": "fly"}), json.dumps([1, 2])):
            await ws.send(bad)
            reply = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "error")
            assert "not a playback control" in reply[-1]["message"]
        await ws.send(b"\x00binary")
        reply = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "error")
        assert "JSON text" in reply[-1]["message"]
        await ws.send(json.dumps({"type": "speed", "speed": 4}))
        fast = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "position"
                               and m["speed"] == 4)
        assert fast[-1]["speed"] == 4
        await ws.send(json.dumps({"type": "pause"}))
        await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "position")
        quiet = await _messages(ws, until=lambda m, got: len(got) == 2, within=5)  # two position reports
        assert _binaries(quiet) == [] and {m["time"] for m in quiet if isinstance(m, dict)} == {quiet[0]["time"]}
        await ws.send(json.dumps({"type": "resume"}))
        resumed = await _messages(ws, until=lambda m, got: len(_binaries(got)) == 2)
        assert len(_binaries(resumed)) == 2


async def test_catching_up_with_the_segment_being_recorded_says_live(server: PlaybackServer,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    channel = _public(server, True)
    last = (await server.recordings.segments_from(channel, LATER, 1))[0]
    monkeypatch.setattr(server.recordings, "open_segment",  # as if its recorder still wrote the last segment
                        lambda channel_id: (last.storage, last.path) if channel_id == channel else None)
    body = await _open(server, "view", LATER, 4)
    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        got = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] in ("live", "end"))
        assert got[-1] == {"type": "live", "time": "2026-03-02T08:00:32.000Z"}  # where the recording was caught up
        assert _numbers(_binaries(got)) == list(range(2 * FPS))


async def test_delete_ends_the_stream_and_both_ends_are_audited(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0)
    session = body["session_id"]
    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        await _messages(ws, until=lambda m, got: len(_binaries(got)) == 2)
        async with server.client() as client:
            assert_problem(await client.delete(f"/api/v1/playback/{session}", headers=await server.headers("oper")),
                           404)  # not theirs
            deleted = await client.delete(f"/api/v1/playback/{session}", headers=await server.headers("view"))
            assert deleted.status_code == 204
        ended = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "end")
        assert ended[-1] == {"type": "end", "reason": "playback stopped"}
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(body["ws_url"]):
            pass
    entries = await _audited(server, session, 2)
    assert [e.action for e in entries] == [AuditAction.PLAYBACK_START, AuditAction.PLAYBACK_STOP]
    start, stop = entries
    assert start.actor == stop.actor == "view"
    assert start.grant == stop.grant == server.platform.grant.id
    assert start.details["start"] == T0.isoformat() and start.details["speed"] == 1
    assert stop.details["transport"] == "websocket" and float(str(stop.details["duration_s"])) > 0


async def test_revoking_the_grant_ends_the_open_stream(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0)
    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        await _messages(ws, until=lambda m, got: len(_binaries(got)) == 2)
        async with server.client() as client:
            revoked = await client.delete(f"/api/v1/grants/{server.platform.grant.id}",
                                          headers=await server.headers("admin"))
            assert revoked.status_code == 200, revoked.text
        ended = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "end")
        assert ended[-1] == {"type": "end", "reason": "grant revoked"}
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    with pytest.raises(websockets.exceptions.InvalidStatus):  # and the URL is refused from now on
        async with websockets.connect(body["ws_url"]):
            pass


@pytest.mark.parametrize(("ending", "reason"), [("logout", "session ended"), ("session revocation", "session ended"),
                                                ("disabling the user", "account disabled")])
async def test_ending_the_viewers_sign_in_ends_the_open_stream(server: PlaybackServer, ending: str,
                                                               reason: str) -> None:
    headers = await server.headers("view")
    body = await _open(server, "view", T0, headers=headers)
    others = await _open(server, "oper", T0)  # another viewer's playback runs on
    token = headers["Authorization"].removeprefix("Bearer ")
    session_id = jwt.decode(token, options={"verify_signature": False})["sid"]
    async with websockets.connect(body["ws_url"], max_size=None) as ws, \
            websockets.connect(others["ws_url"], max_size=None) as other_ws:
        await _messages(ws, until=lambda m, got: len(_binaries(got)) == 2)
        async with server.client() as client:
            if ending == "logout":
                done = await client.post("/api/v1/auth/logout", headers=headers)
            elif ending == "session revocation":
                done = await client.delete(f"/api/v1/auth/sessions/{session_id}", headers=await server.headers("admin"))
            else:
                done = await client.put(f"/api/v1/users/{server.platform.users['view']}/active",
                                        headers=await server.headers("admin"), json={"active": False})
            assert done.is_success, done.text
        ended = await _messages(ws, until=lambda m, _: isinstance(m, dict) and m["type"] == "end")
        assert ended[-1] == {"type": "end", "reason": reason}
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert len(_binaries(await _messages(other_ws, until=lambda m, got: len(_binaries(got)) == 3))) == 3
    with pytest.raises(websockets.exceptions.InvalidStatus):  # and its URLs are refused from now on
        async with websockets.connect(body["ws_url"]):
            pass
    async with server.client() as client:
        assert_problem(await client.get(body["hls_url"]), 403)


async def test_hls_lists_the_recordings_from_the_start_and_its_segments_decode(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0 + timedelta(seconds=6))
    async with server.client() as client:
        response = await client.get(body["hls_url"])
        assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.apple.mpegurl"
        playlist = response.text
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
        assert "#EXT-X-PROGRAM-DATE-TIME:2026-03-02T08:00:06.000+00:00" in playlist
        assert "#EXT-X-PROGRAM-DATE-TIME:2026-03-02T08:00:30.000+00:00" in playlist
        assert playlist.count("#EXT-X-DISCONTINUITY") == 1  # before the recording after the gap
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist)]
        assert sum(durations) == pytest.approx(4 + 2, abs=0.05)  # 08:00:06-10 and 08:00:30-32
        base = body["hls_url"].split("index.m3u8")[0]
        maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
        segments = re.findall(r"^(seg/\d+\.m4s\?token=\S+)$", playlist, re.MULTILINE)
        init = await client.get(base + maps[0])
        assert init.status_code == 200 and init.content[4:8] == b"ftyp"
        media = [(await client.get(base + uri)).content for uri in segments]
        assert_problem(await client.get(base + "seg/999.m4s?" + segments[0].split("?")[1]), 404)
    assert _numbers([init.content, *media]) == list(range(6 * FPS, 10 * FPS)) + list(range(2 * FPS))


async def test_a_second_connection_takes_the_session_over_from_its_position(server: PlaybackServer) -> None:
    body = await _open(server, "view", T0, 4)
    reached = T0 + timedelta(seconds=2)

    def past(message: bytes | dict[str, Any], _: object) -> bool:
        return isinstance(message, dict) and message["type"] == "position" and datetime.fromisoformat(
            message["time"]) >= reached

    async with websockets.connect(body["ws_url"], max_size=None) as first:
        await _messages(first, until=past)
        async with websockets.connect(body["ws_url"], max_size=None) as second:
            ended = await _messages(first, until=lambda m, _: isinstance(m, dict) and m["type"] == "end")
            assert ended[-1] == {"type": "end", "reason": "another connection took this playback over"}
            got = await _messages(second, until=lambda m, got: len(_binaries(got)) == 2)
            assert _binaries(got)[0][4:8] == b"ftyp"
            assert _numbers(_binaries(got))[0] >= 2 * FPS  # where the first connection was, not the start again
