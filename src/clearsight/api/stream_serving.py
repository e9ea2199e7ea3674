"""Serving streams to players: signed stream URLs, fMP4 over WebSocket for MSE, HLS responses.

Shared by live view (`routers/live.py`), device playback (`routers/device_playback.py`) and playback of the
platform's recordings (`routers/recorded_playback.py`). Players send no Authorization header, so every stream
URL carries a short-lived stream token (`?token=`) that the route verifies; a refused WebSocket is closed with
1008 and the reason.

A hub stream (live, device playback) goes to a WebSocket as: a JSON `init` message, the init segment, one binary
fragment per frame, a JSON `stats` message about every second, and at the end `{"type": "end", "reason"}`
before the socket closes. Its HLS is an `HlsWindow` per stream key.

Every stream URL is refused once the sign-in it was handed to has ended (`still_signed_in`), and every open
WebSocket is `watched`: revoking its grant, ending its sign-in session or disabling its user ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Path as FastApiPath
from fastapi import Query, Request, WebSocket
from pydantic import BaseModel
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect

from clearsight.access.policy import Grant
from clearsight.api.deps import ApiServices
from clearsight.api.device_playbacks import PlaybackGrant, PlaybackTokenService
from clearsight.api.problems import Problem
from clearsight.api.sessions import SessionGuard
from clearsight.api.tokens import InvalidToken
from clearsight.api.viewer_streams import ACCOUNT_DISABLED, Viewer
from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.media.fmp4 import InitSegment
from clearsight.media.hls import HlsWindow, HlsWindows
from clearsight.media.hub import HubStream

logger = logging.getLogger(__name__)

STATS_INTERVAL = 1.0  # seconds between stats messages on a WebSocket
FIRST_SEGMENT_TIMEOUT = 5.0  # seconds a new HLS playlist waits for its first segment
CLIENT_LEFT = "viewer left"
WS_POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1: refused (bad or missing stream token)
WS_INTERNAL_ERROR = 1011  # RFC 6455 §7.4.1
WS_CLOSE_REASON_BYTES = 120  # RFC 6455 §5.5: a control frame's payload is at most 125 bytes
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
CLOSED_SOCKET = (WebSocketDisconnect, RuntimeError, OSError)  # what sending to or reading a gone client raises

StreamToken = Annotated[str, Query(min_length=1, max_length=2048, description="The stream token of the URL.")]
SegmentNumber = Annotated[int, FastApiPath(ge=0, le=2**31)]
PLAYLIST_RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": {PLAYLIST_TYPE: {}}}}
INIT_RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": {"video/mp4": {}}}}
SEGMENT_RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": {"video/iso.segment": {}}}}
SIGN_IN_ENDED = "the sign-in session this stream was handed to has ended"


def session_claims(tokens: PlaybackTokenService, token: str, session_id: str, what: str) -> PlaybackGrant:
    """The claims of a playback session's stream token; 403 when it is not one for `session_id`."""
    try:
        return tokens.verify(token, session_id)
    except InvalidToken as exc:
        logger.info("%s %s: stream token refused: %s", what, session_id, exc.reason)
        raise Problem(403, "the stream token is invalid or expired") from exc


async def still_granted(services: ApiServices, grant_id: str | None, username: str, what: str) -> Grant | None:
    """The access grant a stream token names, which must still be active (403); None for administrators."""
    if grant_id is None or services.access is None:
        return None
    grant = await services.access.active_grant(grant_id)
    if grant is None:
        logger.info("%s: stream token of %s refused: grant %s no longer active", what, username, grant_id)
        raise Problem(403, "the grant this stream was allowed under was revoked or has expired")
    return grant


async def still_signed_in(sessions: SessionGuard, viewer: Viewer, what: str) -> None:
    """403 when the sign-in the stream was handed to has ended: its session was revoked or its account disabled."""
    reason = await sessions.ended(viewer)
    if reason is not None:
        logger.info("%s: stream token of %s refused: %s", what, viewer.username, reason)
        raise Problem(403, "the account this stream was handed to is disabled" if reason == ACCOUNT_DISABLED
                      else SIGN_IN_ENDED)


@contextlib.contextmanager
def watched(services: ApiServices, viewer: Viewer, grant: Grant | None, consumer: Consumer) -> Iterator[None]:
    """While the block runs, revoking `grant`, ending the viewer's session or disabling their account ends
    `consumer` (with `StreamEnd` naming why)."""
    by_grant = services.access.streams.watching(grant, consumer) if services.access else contextlib.nullcontext()
    with by_grant, services.sessions.streams.watching(viewer, consumer):
        yield


def stream_urls(request: Request, path: str, token: str) -> tuple[str, str]:
    """(WebSocket URL, HLS playlist URL) of the stream under `path` (below the API root), with the token."""
    base = str(request.base_url).rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    full = f"{request.scope.get('root_path', '')}{path}"
    return f"{ws_base}{full}/ws?token={token}", f"{base}{full}/index.m3u8?token={token}"


async def refuse(websocket: WebSocket, problem: Problem) -> None:
    """Close a WebSocket not yet accepted: 1008 for a refusal (403, 404), 1011 for anything else."""
    code = WS_POLICY_VIOLATION if problem.status in (403, 404) else WS_INTERNAL_ERROR
    await websocket.close(code=code, reason=(problem.detail or "")[:WS_CLOSE_REASON_BYTES])


async def watch_client(websocket: WebSocket, consumer: Consumer) -> None:
    """Read (and ignore) what the client sends, so that its leaving ends the consumer at once."""
    with contextlib.suppress(*CLOSED_SOCKET):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    consumer.offer(StreamEnd(CLIENT_LEFT))


async def send_hub_stream(websocket: WebSocket, consumer: Consumer, stats: Callable[[], BaseModel]) -> None:
    """A hub consumer's items to an accepted WebSocket until the stream or the client ends."""
    watcher = asyncio.create_task(watch_client(websocket, consumer))
    try:
        last_stats = 0.0
        async for item in consumer:
            if isinstance(item, InitSegment):
                parameters = item.parameters
                await websocket.send_json({"type": "init", "mime": parameters.mime, "codec": parameters.codec.value,
                                           "width": parameters.width, "height": parameters.height})
                await websocket.send_bytes(item.data)
            elif isinstance(item, StreamEnd):
                if item.reason != CLIENT_LEFT:
                    await websocket.send_json({"type": "end", "reason": item.reason})
                    await websocket.close(code=1000)
                return
            else:
                await websocket.send_bytes(item.data)
            now = time.monotonic()
            if now - last_stats >= STATS_INTERVAL:
                last_stats = now
                await websocket.send_text(stats().model_dump_json())
    finally:
        watcher.cancel()


async def hls_window(windows: HlsWindows, key: str, open_stream: Callable[[], Awaitable[HubStream]],
                     label: str) -> HlsWindow:
    """The HLS window of stream `key`, started on `await open_stream()` when none runs; marked as fetched."""
    window = windows.get(key)
    if window is None:
        stream = await open_stream()
        window = windows.start(key, stream.subscribe(f"hls:{label}"))
    window.touch()
    return window


async def window_playlist(window: HlsWindow, token: str) -> Response:
    """The window's playlist; a new window is waited for until its first segment (or a few seconds)."""
    if not window.segments and window.ended is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(window.changed.wait(), FIRST_SEGMENT_TIMEOUT)
    return playlist_response(window.playlist(f"token={token}"))


def playlist_response(text: str) -> Response:
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-cache"})


def init_response(data: bytes) -> Response:
    return Response(data, media_type="video/mp4")


def segment_response(data: bytes) -> Response:
    return Response(data, media_type="video/iso.segment")


def window_init(window: HlsWindow | None, what: str) -> Response:
    if window is None or window.init is None:
        raise Problem(404, f"no HLS stream of {what}; fetch the playlist first")
    return init_response(window.init.data)


def window_segment(window: HlsWindow | None, sequence: int, what: str) -> Response:
    segment = window.segment(sequence) if window is not None else None
    if window is None or segment is None:
        raise Problem(404, f"segment {sequence} of {what} is not (or no longer) available")
    window.touch()
    return segment_response(segment.data)
