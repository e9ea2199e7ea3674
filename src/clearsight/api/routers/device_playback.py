"""Playback of recordings kept on the device (GB/T 28181 RecordInfo and Playback), not the platform's own.

`GET /channels/{id}/device-recordings` lists what the device has recorded; `POST /channels/{id}/device-playback`
opens a playback for one viewer (its own hub stream: sessions are never shared, each may pause and seek) and
answers once video flows, with signed stream URLs like live view; `POST /device-playback/{session}/control`
pauses, resumes, seeks or changes speed (MANSRTSP over INFO). Only the user who opened a playback (or an
administrator) sees and controls it. The streams (`/live/playback/{session}/ws`, `…/index.m3u8`) are opened by
players that send no Authorization header: like live view's, they take the stream token of their URL instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response, WebSocket
from fastapi import Path as FastApiPath

from clearsight.access.policy import Grant
from clearsight.access.users import Role
from clearsight.api import device_playbacks
from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import PlaybackAccess
from clearsight.api.deps import ApiServices, Services
from clearsight.api.device_playback_schemas import (
    MAX_RECORDINGS_SPAN_DAYS,
    DeviceRecordingOut,
    DeviceRecordingsOut,
    PlaybackControlIn,
    PlaybackIn,
    PlaybackOut,
    PlaybackStateOut,
)
from clearsight.api.device_playbacks import DevicePlaybacks, PlaybackGrant, PlaybackView, device_playbacks_of
from clearsight.api.live_streams import stream_stats
from clearsight.api.params import ChannelPk
from clearsight.api.ports import (
    ApiSettings,
    ChannelRecord,
    DeviceOffline,
    DevicePlaybackPort,
    LiveViewError,
    MediaSource,
    PlaybackAction,
    PlaybackControlError,
)
from clearsight.api.problems import DEVICE_OFFLINE, PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.schemas import UtcDatetime
from clearsight.api.security import CurrentUser
from clearsight.api.sessions import SessionGuard
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
    session_claims,
    still_granted,
    still_signed_in,
    stream_urls,
    watched,
    window_init,
    window_playlist,
    window_segment,
)
from clearsight.api.tokens import Principal
from clearsight.audit import AuditAction
from clearsight.media.hub import HubStream, StreamNotReady

logger = logging.getLogger(__name__)

DEVICE_PLAYBACK_FAILED = "/problems/device-playback-failed"  # extensions: step
PLAYBACK_CONTROL_FAILED = "/problems/device-playback-control-failed"  # extensions: action
TIMEOUT_STEPS = frozenset({"no-rtp", "keyframe"})  # "the device sent nothing in time": 504, not 502

router = APIRouter(tags=["device playback"], responses=PROBLEM_RESPONSES)
SessionId = Annotated[str, FastApiPath(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The playback session.")]


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Give `app` its device playback sessions and their stream tokens (`create_app` calls this)."""
    device_playbacks.install(app, secret_key=settings.effective_secret_key(), token_ttl=settings.stream_token_ttl)


def _port(services: ApiServices) -> DevicePlaybackPort:
    control = services.control
    if not isinstance(control, DevicePlaybackPort):
        raise Problem(503, "device playback is not available on this platform")
    return control


async def _channel(services: ApiServices, channel_id: int) -> ChannelRecord:
    channel = await services.registry.get_channel(channel_id)
    if channel is None:
        raise Problem(404, f"no channel {channel_id}")
    return channel


def _invalid(detail: str) -> Problem:
    return Problem(422, detail, type_=VALIDATION_FAILED, title="Request validation failed")


@router.get("/channels/{channel_id}/device-recordings")
async def device_recordings(services: Services, _access: PlaybackAccess, channel_id: ChannelPk,
                            start: Annotated[UtcDatetime, Query(description="From (a time without zone is UTC).")],
                            end: Annotated[UtcDatetime, Query(description="Until.")]) -> DeviceRecordingsOut:
    """What the channel's device has recorded between `start` and `end` (a RecordInfo query, chunks assembled)."""
    if end <= start:
        raise _invalid("end must be after start")
    if (end - start).days >= MAX_RECORDINGS_SPAN_DAYS:
        raise _invalid(f"ask for at most {MAX_RECORDINGS_SPAN_DAYS} days at a time")
    port = _port(services)
    channel = await _channel(services, channel_id)
    result = await port.query_recordings(channel.device_id, channel.gb_id, start, end)
    items = [DeviceRecordingOut(start=r.start, end=r.end, name=r.name, file_path=r.file_path, address=r.address,
                                secrecy=r.secrecy, type=r.type, recorder_id=r.recorder_id, file_size=r.file_size)
             for r in result.recordings]
    return DeviceRecordingsOut(channel_id=channel_id, start=start, end=end, complete=result.complete,
                               sum_num=result.sum_num, requeries=result.requeries, rejected=result.rejected,
                               items=items)


def _failure(channel_id: int, step: str, detail: str) -> Problem:
    status = 504 if step in TIMEOUT_STEPS else 502
    return Problem(status, detail, type_=DEVICE_PLAYBACK_FAILED, title=f"Device playback failed at {step}",
                   extensions={"channel_id": channel_id, "step": step})


@router.post("/channels/{channel_id}/device-playback")
async def start_playback(request: Request, services: Services, user: CurrentUser, access: PlaybackAccess,
                         channel_id: ChannelPk, body: PlaybackIn) -> PlaybackOut:
    """Play back `start`..`end` from the device for this viewer; answers once video flows, with stream URLs."""
    port = _port(services)
    channel = await _channel(services, channel_id)
    playbacks = device_playbacks_of(request.app)
    view = playbacks.new(channel_id, user.username, body.start, body.end,
                         lambda v: services.hub.get(v.stream_key) is not None)
    view.auth_session = user.session_id

    async def opener() -> MediaSource:
        source = await port.open_playback_source(channel.device_id, channel.gb_id, body.start, body.end, body.speed)
        view.playback = source.playback
        return source

    try:
        stream = await services.hub.open(view.stream_key, opener)
    except DeviceOffline as exc:
        playbacks.forget(view.session_id)
        raise Problem(409, str(exc), type_=DEVICE_OFFLINE, title="Device offline",
                      extensions={"device_id": exc.device_id, "channel_id": channel_id, "step": "invite"}) from exc
    except LiveViewError as exc:
        playbacks.forget(view.session_id)
        raise _failure(channel_id, str(exc.step), exc.detail) from exc
    except StreamNotReady as exc:
        playbacks.forget(view.session_id)
        raise _failure(channel_id, exc.step, exc.detail) from exc
    parameters = stream.parameters
    assert parameters is not None  # a stream is ready only once it has an init segment
    view.grant_id = access.grant_id
    token, expires_at = playbacks.tokens.issue(user.username, view.session_id, channel_id, access.grant_id)
    ws_url, hls_url = stream_urls(request, f"/api/v1/live/playback/{view.session_id}", token)
    root = request.scope.get("root_path", "")
    logger.info("channel %d: device playback %s (%s) of %s..%s for %s", channel_id, view.session_id,
                view.playback.id if view.playback else "?", body.start.isoformat(), body.end.isoformat(),
                user.username)
    await audit_channel(services, AuditAction.PLAYBACK_START, user.username, channel_id, request,
                        channel=channel, grant=access.grant_id, source="device", session_id=view.session_id,
                        start=body.start.isoformat(), end=body.end.isoformat(), speed=body.speed)
    return PlaybackOut(session_id=view.session_id, channel_id=channel_id, ws_url=ws_url, hls_url=hls_url,
                       control_url=f"{root}/api/v1/device-playback/{view.session_id}/control",
                       expires_at=expires_at, codec="h265" if parameters.codec.value == "h265" else "h264",
                       mime=parameters.mime, width=parameters.width, height=parameters.height, start=body.start,
                       end=body.end, speed=body.speed)


def _own_view(request: Request, user: Principal, session_id: str) -> PlaybackView:
    view = device_playbacks_of(request.app).get(session_id)
    if view is None or not (view.username == user.username or user.role == Role.ADMINISTRATOR):
        raise Problem(404, f"no device playback {session_id}")
    return view


def _state(view: PlaybackView) -> PlaybackStateOut:
    session = view.playback
    if session is None:  # the hub is still opening it
        return PlaybackStateOut(session_id=view.session_id, channel_id=view.channel_id, state="paused", speed=1.0,
                                position=0.0, start=view.start, end=view.end)
    ended = session.closed.is_set()
    state = "ended" if ended else "paused" if session.paused else "playing"
    return PlaybackStateOut(session_id=view.session_id, channel_id=view.channel_id, state=state, speed=session.speed,
                            position=round(session.position(), 3), start=view.start, end=view.end,
                            end_reason=session.close_reason if ended else None)


@router.get("/device-playback/{session_id}")
async def playback_state(request: Request, services: Services, user: CurrentUser,
                         session_id: SessionId) -> PlaybackStateOut:
    """Playing, paused or ended; speed and (estimated) position in seconds after the start."""
    return _state(_own_view(request, user, session_id))


@router.post("/device-playback/{session_id}/control")
async def control_playback(request: Request, services: Services, user: CurrentUser, session_id: SessionId,
                           body: PlaybackControlIn) -> PlaybackStateOut:
    """Pause, play (resume), seek to `position` seconds into the range, or change `speed`."""
    view = _own_view(request, user, session_id)
    port = _port(services)
    action = PlaybackAction(body.action)
    try:
        session = None if view.playback is None else await port.control_playback(
            view.playback.id, action, position=body.position, speed=body.speed)
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    except PlaybackControlError as exc:
        raise Problem(502, exc.detail, type_=PLAYBACK_CONTROL_FAILED, title=f"Device playback {action} failed",
                      extensions={"session_id": session_id, "action": str(action)}) from exc
    if session is None:
        raise Problem(409, f"device playback {session_id} has ended")
    logger.info("device playback %s: %s by %s", session_id, action, user.username)
    return _state(view)


@router.delete("/device-playback/{session_id}", status_code=204)
async def stop_playback(request: Request, services: Services, user: CurrentUser, session_id: SessionId) -> Response:
    """End the playback now (BYE to the device); its viewers get an end message."""
    view = _own_view(request, user, session_id)
    stream = services.hub.get(view.stream_key)
    if stream is not None:
        await stream.stop("closed by the viewer")
    device_playbacks_of(request.app).forget(session_id)
    if not view.websockets:  # an open WebSocket records its own end
        await audit_channel(services, AuditAction.PLAYBACK_STOP, view.username, view.channel_id, request,
                            grant=view.grant_id, source="device", session_id=session_id, ended_by=user.username)
    return Response(status_code=204)


# --- the streams (stream token, no bearer token) --------------------------------------------------
async def _verified(playbacks: DevicePlaybacks, sessions: SessionGuard, token: str, session_id: str
                    ) -> tuple[PlaybackView, PlaybackGrant]:
    claims = session_claims(playbacks.tokens, token, session_id, "device playback")
    view = playbacks.get(session_id)
    if view is None:
        raise Problem(404, f"no device playback {session_id}")
    await still_signed_in(sessions, view.viewer, f"device playback {session_id}")
    return view, claims


async def _verified_granted(services: ApiServices, app: FastAPI, token: str, session_id: str
                            ) -> tuple[PlaybackView, PlaybackGrant, Grant | None]:
    """As `_verified`, and the access grant the playback was opened under, which must still be active (403;
    None for administrators)."""
    view, claims = await _verified(device_playbacks_of(app), services.sessions, token, session_id)
    grant = await still_granted(services, claims.grant_id, view.username, f"device playback {session_id}")
    return view, claims, grant


def _running(services: ApiServices, view: PlaybackView) -> HubStream:
    stream = services.hub.get(view.stream_key)
    if stream is None:
        raise Problem(410, f"device playback {view.session_id} has ended")
    return stream


@router.websocket("/live/playback/{session_id}/ws")
async def playback_websocket(websocket: WebSocket, session_id: SessionId, token: StreamToken) -> None:
    """fMP4 for MSE, as live view sends it: JSON `init`, the init segment, fragments, `stats`, and `end`."""
    services: ApiServices = websocket.app.state.services
    try:
        view, claims, grant = await _verified_granted(services, websocket.app, token, session_id)
        stream = _running(services, view)
    except Problem as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    client = websocket.client.host if websocket.client else "?"
    consumer = stream.subscribe(f"ws:{view.username}@{client}")
    started = time.monotonic()
    view.websockets += 1
    try:
        with watched(services, view.viewer, grant, consumer):
            await send_hub_stream(websocket, consumer, lambda: stream_stats(view.channel_id, stream))
    except CLOSED_SOCKET as exc:
        logger.debug("device playback %s: WebSocket closed: %s", session_id, exc)
    finally:
        view.websockets -= 1
        stream.unsubscribe(consumer)
        await audit_channel(services, AuditAction.PLAYBACK_STOP, view.username, view.channel_id, websocket,
                            grant=claims.grant_id, source="device", session_id=session_id,
                            duration_s=round(time.monotonic() - started, 3), transport="websocket")


def _running_stream(services: ApiServices, view: PlaybackView) -> Callable[[], Awaitable[HubStream]]:
    async def running() -> HubStream:
        return _running(services, view)
    return running


@router.get("/live/playback/{session_id}/index.m3u8", response_class=Response, responses=PLAYLIST_RESPONSES)
async def playback_playlist(request: Request, services: Services, session_id: SessionId,
                            token: StreamToken) -> Response:
    view, _, _ = await _verified_granted(services, request.app, token, session_id)
    window = await hls_window(services.hls, view.stream_key, _running_stream(services, view), view.session_id)
    return await window_playlist(window, token)


@router.get("/live/playback/{session_id}/init.mp4", response_class=Response, responses=INIT_RESPONSES)
async def playback_init(request: Request, services: Services, session_id: SessionId, token: StreamToken) -> Response:
    view, _, _ = await _verified_granted(services, request.app, token, session_id)
    return window_init(services.hls.get(view.stream_key), f"device playback {session_id}")


@router.get("/live/playback/{session_id}/seg/{sequence}.m4s", response_class=Response, responses=SEGMENT_RESPONSES)
async def playback_segment(request: Request, services: Services, session_id: SessionId, sequence: SegmentNumber,
                           token: StreamToken) -> Response:
    view, _, _ = await _verified_granted(services, request.app, token, session_id)
    return window_segment(services.hls.get(view.stream_key), sequence, f"device playback {session_id}")
