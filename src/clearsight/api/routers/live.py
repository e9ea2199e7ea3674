"""Live view: `POST /channels/{id}/live` hands out signed stream URLs; the streams themselves (fMP4 over
WebSocket, HLS) are served under `/live/{id}/…` and need the stream token, not a bearer token.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, Request, WebSocket
from starlette.responses import Response

from clearsight.access.policy import Grant
from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import LiveAccess
from clearsight.api.deps import ApiServices, Services
from clearsight.api.live_schemas import LiveOut, StreamStatsOut
from clearsight.api.live_streams import channel_stream, stream_stats
from clearsight.api.params import ChannelPk
from clearsight.api.privacy_masking import picture_masking
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.stream_serving import (
    CLOSED_SOCKET,
    INIT_RESPONSES,
    PLAYLIST_RESPONSES,
    SEGMENT_RESPONSES,
    SegmentNumber,
    StreamToken,
    hls_window,
    refuse,
    send_hub_stream,
    still_granted,
    still_signed_in,
    stream_urls,
    watched,
    window_init,
    window_playlist,
    window_segment,
)
from clearsight.api.stream_tokens import StreamGrant
from clearsight.api.tokens import InvalidToken
from clearsight.api.viewer_streams import Viewer
from clearsight.audit import AuditAction
from clearsight.channel_streams import stream_key
from clearsight.media.snapshot import SnapshotError, keyframe_to_jpeg

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"], responses=PROBLEM_RESPONSES)


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
    ws_url, hls_url = stream_urls(request, f"/api/v1/live/{channel_id}", token)
    logger.info("channel %d: live view handed to %s", channel_id, user.username)
    await audit_channel(services, AuditAction.LIVE_START, user.username, channel_id, request, grant=access.grant_id)
    return LiveOut(channel_id=channel_id, ws_url=ws_url, hls_url=hls_url, expires_at=expires_at,
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
    await still_signed_in(services.sessions, Viewer(claims.username, claims.session_id), f"channel {channel_id}")
    return claims, await still_granted(services, claims.grant_id, claims.username, f"channel {channel_id}")


@router.websocket("/live/{channel_id}/ws")
async def live_websocket(websocket: WebSocket, channel_id: ChannelPk, token: StreamToken) -> None:
    """fMP4 for MSE: a JSON `init` message, the init segment, then one binary fragment per frame."""
    services: ApiServices = websocket.app.state.services
    try:
        claims, grant = await _verify(services, token, channel_id)
        stream = await channel_stream(services, channel_id)
    except Problem as exc:
        await refuse(websocket, exc)
        return
    username = claims.username
    await websocket.accept()
    client = websocket.client.host if websocket.client else "?"
    consumer = stream.subscribe(f"ws:{username}@{client}")
    started = time.monotonic()
    try:
        with watched(services, Viewer(username, claims.session_id), grant, consumer):
            await send_hub_stream(websocket, consumer, lambda: stream_stats(channel_id, stream))
    except CLOSED_SOCKET as exc:
        logger.debug("channel %d: WebSocket of %s closed: %s", channel_id, username, exc)
    finally:
        stream.unsubscribe(consumer)
        await audit_channel(services, AuditAction.LIVE_STOP, username, channel_id, websocket, grant=claims.grant_id,
                            duration_s=round(time.monotonic() - started, 3), transport="websocket")


@router.get("/live/{channel_id}/index.m3u8", response_class=Response, responses=PLAYLIST_RESPONSES)
async def hls_playlist(request: Request, services: Services, channel_id: ChannelPk, token: StreamToken) -> Response:
    await _verify(services, token, channel_id)
    window = await hls_window(services.hls, stream_key(channel_id), lambda: channel_stream(services, channel_id),
                              str(channel_id))
    return await window_playlist(window, token)


@router.get("/live/{channel_id}/init.mp4", response_class=Response, responses=INIT_RESPONSES)
async def hls_init(services: Services, channel_id: ChannelPk, token: StreamToken) -> Response:
    await _verify(services, token, channel_id)
    return window_init(services.hls.get(stream_key(channel_id)), f"channel {channel_id}")


@router.get("/live/{channel_id}/seg/{sequence}.m4s", response_class=Response, responses=SEGMENT_RESPONSES)
async def hls_segment(
    services: Services, channel_id: ChannelPk, sequence: SegmentNumber, token: StreamToken
) -> Response:
    await _verify(services, token, channel_id)
    return window_segment(services.hls.get(stream_key(channel_id)), sequence, f"channel {channel_id}")
