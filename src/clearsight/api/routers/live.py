"""Live view: `POST /channels/{id}/live` hands out signed stream URLs; the streams themselves (fMP4 over
WebSocket, HLS) are served under `/live/{id}/…` and need the stream token, not a bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket
from fastapi import Path as FastApiPath
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect

from clearsight.access.policy import Grant
from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import LiveAccess
from clearsight.api.deps import ApiServices, Services
from clearsight.api.live_schemas import LiveOut, StreamStatsOut
from clearsight.api.live_streams import channel_stream, stream_stats
from clearsight.api.params import ChannelPk
from clearsight.api.privacy_masking import picture_masking
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.stream_tokens import StreamGrant
from clearsight.api.tokens import InvalidToken
from clearsight.audit import AuditAction
from clearsight.channel_streams import stream_key
from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.media.fmp4 import InitSegment
from clearsight.media.hls import HlsWindow
from clearsight.media.hub import HubStream
from clearsight.media.snapshot import SnapshotError, keyframe_to_jpeg

logger = logging.getLogger(__name__)

STATS_INTERVAL = 1.0  # seconds between stats messages on a WebSocket
FIRST_SEGMENT_TIMEOUT = 5.0  # seconds a new HLS playlist waits for its first segment
CLIENT_LEFT = "viewer left"
WS_POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1: refused (bad or missing stream token)

router = APIRouter(tags=["live"], responses=PROBLEM_RESPONSES)
SegmentNumber = Annotated[int, FastApiPath(ge=0, le=2**31)]
StreamToken = Annotated[str, Query(min_length=1, max_length=2048, description="The stream token of the URL.")]


@router.post("/channels/{channel_id}/live")
async def start_live(request: Request, services: Services, access: LiveAccess, channel_id: ChannelPk) -> LiveOut:
    """Start (or join) the channel's live stream; answers once video flows, with signed stream URLs.

    The URLs' token names the grant that allowed it; the stream ends when that grant is revoked or runs out.
    """
    user = access.user
    stream = await channel_stream(services, channel_id)
    parameters = stream.parameters
    assert parameters is not None  # a stream is ready only once it has an init segment
    token, expires_at = services.stream_tokens.issue(user.username, channel_id, access.grant_id, user.session_id)
    base = str(request.base_url).rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    path = f"{request.scope.get('root_path', '')}/api/v1/live/{channel_id}"
    logger.info("channel %d: live view handed to %s", channel_id, user.username)
    await audit_channel(services, AuditAction.LIVE_START, user.username, channel_id, request, grant=access.grant_id)
    return LiveOut(channel_id=channel_id, ws_url=f"{ws_base}{path}/ws?token={token}",
                   hls_url=f"{base}{path}/index.m3u8?token={token}", expires_at=expires_at,
                   codec="h265" if parameters.codec.value == "h265" else "h264", mime=parameters.mime,
                   width=parameters.width, height=parameters.height)


@router.get("/channels/{channel_id}/live/stats")
async def live_stats(services: Services, _access: LiveAccess, channel_id: ChannelPk) -> StreamStatsOut:
    """Figures of the channel's running stream; 404 when none runs."""
    stream = services.hub.get(stream_key(channel_id))
    if stream is None:
        raise Problem(404, f"channel {channel_id} is not streaming")
    return stream_stats(channel_id, stream)


@router.get("/channels/{channel_id}/snapshot", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "The current picture."}})
async def snapshot(request: Request, services: Services, access: LiveAccess, channel_id: ChannelPk) -> Response:
    """A JPEG of the current picture, decoded from the latest keyframe; privacy masks filled unless lifted."""
    user = access.user
    stream = await channel_stream(services, channel_id)
    keyframe = stream.last_keyframe
    if keyframe is None:
        raise Problem(503, f"channel {channel_id} has no keyframe yet")
    masking = await picture_masking(services, user, channel_id)  # privacy masks burnt in unless lifted
    try:
        jpeg = await asyncio.to_thread(keyframe_to_jpeg, keyframe, masking.painter)
    except SnapshotError as exc:
        raise Problem(502, f"snapshot of channel {channel_id} failed: {exc}") from exc
    logger.info("channel %d: snapshot taken by %s", channel_id, user.username)
    await audit_channel(services, AuditAction.SNAPSHOT, user.username, channel_id, request, grant=access.grant_id,
                        privacy_masks=masking.mask_ids, masks_lifted=masking.lifted)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def _verify(services: ApiServices, token: str, channel_id: int) -> tuple[StreamGrant, Grant | None]:
    """The token's claims and its access grant, which must still be active; else 403."""
    try:
        claims = services.stream_tokens.verify(token, channel_id)
    except InvalidToken as exc:
        logger.info("channel %d: stream token refused: %s", channel_id, exc.reason)
        raise Problem(403, "the stream token is invalid or expired") from exc
    if claims.session_id is not None and await services.sessions.is_revoked(claims.session_id):
        logger.info("channel %d: stream token of %s refused: session ended", channel_id, claims.username)
        raise Problem(403, "the sign-in session this stream was handed to has ended")
    if claims.grant_id is None or services.access is None:
        return claims, None
    grant = await services.access.active_grant(claims.grant_id)
    if grant is None:
        logger.info("channel %d: stream token of %s refused: grant %s no longer active", channel_id,
                    claims.username, claims.grant_id)
        raise Problem(403, "the grant this stream was allowed under was revoked or has expired")
    return claims, grant


@router.websocket("/live/{channel_id}/ws")
async def live_websocket(websocket: WebSocket, channel_id: ChannelPk, token: StreamToken) -> None:
    """fMP4 for MSE: a JSON `init` message, the init segment, then one binary fragment per frame."""
    services: ApiServices = websocket.app.state.services
    try:
        claims, grant = await _verify(services, token, channel_id)
    except Problem as exc:
        await websocket.close(code=WS_POLICY_VIOLATION, reason=(exc.detail or "")[:120])
        return
    username = claims.username
    try:
        stream = await channel_stream(services, channel_id)
    except Problem as exc:
        await websocket.close(code=WS_POLICY_VIOLATION if exc.status == 404 else 1011, reason=(exc.detail or "")[:120])
        return
    await websocket.accept()
    client = websocket.client.host if websocket.client else "?"
    consumer = stream.subscribe(f"ws:{username}@{client}")
    started = time.monotonic()
    watcher = asyncio.create_task(_watch_client(websocket, consumer))
    watching = services.access.streams.watching(grant, consumer) if services.access else contextlib.nullcontext()
    try:
        with watching, services.sessions.streams.watching(claims.session_id, consumer):
            await _send_stream(websocket, channel_id, stream, consumer)
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        logger.debug("channel %d: WebSocket of %s closed: %s", channel_id, username, exc)
    finally:
        watcher.cancel()
        stream.unsubscribe(consumer)
        await audit_channel(services, AuditAction.LIVE_STOP, username, channel_id, websocket, grant=claims.grant_id,
                            duration_s=round(time.monotonic() - started, 3), transport="websocket")


async def _watch_client(websocket: WebSocket, consumer: Consumer) -> None:
    """Read (and ignore) what the client sends, so that its leaving ends the consumer at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    consumer.offer(StreamEnd(CLIENT_LEFT))


async def _send_stream(websocket: WebSocket, channel_id: int, stream: HubStream, consumer: Consumer) -> None:
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
            await websocket.send_text(stream_stats(channel_id, stream).model_dump_json())


async def _hls_window(services: ApiServices, channel_id: int) -> HlsWindow:
    key = stream_key(channel_id)
    window = services.hls.get(key)
    if window is None:
        stream = await channel_stream(services, channel_id)
        window = services.hls.start(key, stream.subscribe(f"hls:{channel_id}"))
    window.touch()
    return window


@router.get("/live/{channel_id}/index.m3u8", response_class=Response,
            responses={200: {"content": {"application/vnd.apple.mpegurl": {}}}})
async def hls_playlist(request: Request, services: Services, channel_id: ChannelPk, token: StreamToken) -> Response:
    await _verify(services, token, channel_id)
    window = await _hls_window(services, channel_id)
    if not window.segments and window.ended is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(window.changed.wait(), FIRST_SEGMENT_TIMEOUT)
    return Response(window.playlist(f"token={token}"), media_type="application/vnd.apple.mpegurl",
                    headers={"Cache-Control": "no-cache"})


@router.get("/live/{channel_id}/init.mp4", response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
async def hls_init(services: Services, channel_id: ChannelPk, token: StreamToken) -> Response:
    await _verify(services, token, channel_id)
    window = services.hls.get(stream_key(channel_id))
    if window is None or window.init is None:
        raise Problem(404, f"no HLS stream of channel {channel_id}; fetch the playlist first")
    return Response(window.init.data, media_type="video/mp4")


@router.get("/live/{channel_id}/seg/{sequence}.m4s", response_class=Response,
            responses={200: {"content": {"video/iso.segment": {}}}})
async def hls_segment(
    services: Services, channel_id: ChannelPk, sequence: SegmentNumber, token: StreamToken
) -> Response:
    await _verify(services, token, channel_id)
    window = services.hls.get(stream_key(channel_id))
    segment = window.segment(sequence) if window is not None else None
    if window is None or segment is None:
        raise Problem(404, f"segment {sequence} of channel {channel_id} is not (or no longer) available")
    window.touch()
    return Response(segment.data, media_type="video/iso.segment")
