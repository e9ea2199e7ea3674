"""Playback of the platform's own recordings: `POST /channels/{id}/playback` opens a session with signed stream URLs;
`/playback/{session}/ws` streams it as fMP4 for MSE and takes the viewer's controls (seek, speed, pause, resume);
`/playback/{session}/index.m3u8` is its HLS; `DELETE /playback/{session}` ends it. See docs/recording.md.

The stream URLs are opened by players that send no Authorization header: they carry a stream token naming the
session and the grant it was opened under, which must still be active; revoking it ends the open WebSocket, as
ending the viewer's sign-in session or disabling their account does (`stream_serving.watched`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request, Response, WebSocket
from fastapi import Path as FastApiPath
from pydantic import ValidationError

from clearsight.access.policy import Grant
from clearsight.access.users import Role
from clearsight.api import recorded_playbacks
from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import PlaybackAccess
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import ChannelPk
from clearsight.api.ports import ApiSettings, RecordingPort
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.recorded_playback_schemas import (
    CLIENT_MESSAGES,
    PauseMessage,
    RecordedPlaybackIn,
    RecordedPlaybackOut,
    ResumeMessage,
    SeekMessage,
    SpeedMessage,
    iso,
)
from clearsight.api.recorded_playbacks import HLS_PLAN_TTL, RecordedSession, recorded_playbacks_of
from clearsight.api.security import CurrentUser
from clearsight.api.stream_serving import (
    CLIENT_LEFT,
    CLOSED_SOCKET,
    INIT_RESPONSES,
    PLAYLIST_RESPONSES,
    SEGMENT_RESPONSES,
    SegmentNumber,
    StreamToken,
    init_response,
    playlist_response,
    refuse,
    segment_response,
    session_claims,
    still_granted,
    still_signed_in,
    stream_urls,
    watched,
)
from clearsight.api.viewer_streams import Viewer
from clearsight.audit import AuditAction
from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.recording.fmp4_scan import UnreadableSegment
from clearsight.recording.playback import (
    GapSkipped,
    PlaybackEnd,
    PlaybackError,
    PlaybackFragment,
    PlaybackInit,
    PlaybackLive,
    PositionReport,
    RecordedPlayback,
    Seeked,
    find_start,
)
from clearsight.recording.playback_hls import HlsPlan, build_segment, init_of, plan_playlist

logger = logging.getLogger(__name__)

STOPPED_BY_VIEWER = "playback stopped"
STREAM_STOP_TIMEOUT = 5.0  # seconds a stopped stream gets to finish before it is cancelled

router = APIRouter(tags=["recorded playback"], responses=PROBLEM_RESPONSES)
SessionId = Annotated[str, FastApiPath(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The playback session.")]
SegmentId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1, description="A recorded segment of the playlist.")]


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Give `app` its recorded playback sessions and their stream tokens (`create_app` calls this)."""
    recorded_playbacks.install(app, secret_key=settings.effective_secret_key(), token_ttl=settings.stream_token_ttl)


def _recordings(services: ApiServices) -> RecordingPort:
    if services.recordings is None:
        raise Problem(503, "recording is not available on this platform")
    return services.recordings


@router.post("/channels/{channel_id}/playback", status_code=201)
async def start_recorded_playback(request: Request, services: Services, access: PlaybackAccess,
                                  channel_id: ChannelPk, body: RecordedPlaybackIn) -> RecordedPlaybackOut:
    """Play the channel's recordings from `start` at `speed`; 404 when nothing is recorded at or after it."""
    recordings = _recordings(services)
    start = await find_start(recordings, channel_id, body.start)
    if start is None:
        raise Problem(404, f"nothing is recorded on channel {channel_id} at or after {body.start.isoformat()}")
    user = access.user
    playback = RecordedPlayback(recordings, channel_id, start, body.speed)
    session = recorded_playbacks_of(request.app).new(channel_id, Viewer(user.username, user.session_id),
                                                     access.grant_id, playback, start.time)
    tokens = recorded_playbacks_of(request.app).tokens
    token, expires_at = tokens.issue(user.username, session.session_id, channel_id, access.grant_id)
    ws_url, hls_url = stream_urls(request, f"/api/v1/playback/{session.session_id}", token)
    logger.info("channel %d: recorded playback %s from %s at %d× for %s", channel_id, session.session_id,
                start.time.isoformat(), body.speed, user.username)
    await audit_channel(services, AuditAction.PLAYBACK_START, user.username, channel_id, request,
                        grant=access.grant_id, source="recording", session_id=session.session_id,
                        asked=body.start.isoformat(), start=start.time.isoformat(), speed=body.speed)
    return RecordedPlaybackOut(session_id=session.session_id, channel_id=channel_id, ws_url=ws_url, hls_url=hls_url,
                               start=start.time, speed=body.speed, expires_at=expires_at,
                               mime=f'video/mp4; codecs="{start.segment.codec}"')


@router.delete("/playback/{session_id}", status_code=204)
async def stop_recorded_playback(request: Request, services: Services, user: CurrentUser,
                                 session_id: SessionId) -> Response:
    """End the playback: its WebSocket gets `{"type": "end", "reason"}` and closes; its URLs stop working."""
    playbacks = recorded_playbacks_of(request.app)
    session = playbacks.get(session_id)
    if session is None or not (session.username == user.username or user.role == Role.ADMINISTRATOR):
        raise Problem(404, f"no recorded playback {session_id}")
    playbacks.forget(session_id)
    session.ended = STOPPED_BY_VIEWER
    session.playback.stop(STOPPED_BY_VIEWER)
    if not session.streaming.is_set():  # an open WebSocket records its own end
        await audit_channel(services, AuditAction.PLAYBACK_STOP, session.username, session.channel_id, request,
                            grant=session.grant_id, source="recording", session_id=session_id,
                            ended_by=user.username, transport="hls" if session.hls_used else None)
    return Response(status_code=204)


# --- the streams (stream token, no bearer token) --------------------------------------------------
async def _verified(services: ApiServices, app: FastAPI, token: str, session_id: str
                    ) -> tuple[RecordedSession, Grant | None]:
    playbacks = recorded_playbacks_of(app)
    claims = session_claims(playbacks.tokens, token, session_id, "recorded playback")
    session = playbacks.get(session_id)
    if session is None:
        raise Problem(404, f"no recorded playback {session_id}")
    await still_signed_in(services.sessions, session.viewer, f"recorded playback {session_id}")
    return session, await still_granted(services, claims.grant_id, claims.username, f"recorded playback {session_id}")


class _Socket:
    """An accepted WebSocket that two tasks send to (the stream and the answers to commands)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def json(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self.websocket.send_json(message)

    async def binary(self, data: bytes) -> None:
        async with self._lock:
            await self.websocket.send_bytes(data)


@router.websocket("/playback/{session_id}/ws")
async def recorded_playback_websocket(websocket: WebSocket, session_id: SessionId, token: StreamToken) -> None:
    """Binary: the init segment, then fragments. Text (JSON): `position`, `gap`, `seeked`, `end`, `live`, `error`; the
    client sends `seek`, `speed`, `pause`, `resume` (docs/recording.md)."""
    services: ApiServices = websocket.app.state.services
    try:
        session, grant = await _verified(services, websocket.app, token, session_id)
    except Problem as exc:
        await refuse(websocket, exc)
        return
    if not await session.take_over():
        await refuse(websocket, Problem(409, "the playback's other connection did not let go; try again"))
        return
    await websocket.accept()
    session.streaming.set()
    playback = session.playback
    mailbox = Consumer(f"recorded-playback:{session_id}")  # ended when the grant or the viewer's sign-in goes
    started, watched_from = time.monotonic(), playback.position
    try:
        with watched(services, session.viewer, grant, mailbox):
            await _serve(_Socket(websocket), session, mailbox)
    except CLOSED_SOCKET as exc:
        logger.debug("recorded playback %s: WebSocket closed: %s", session_id, exc)
    finally:
        session.streaming.clear()
        session.released.set()
        session.touch()
        await audit_channel(services, AuditAction.PLAYBACK_STOP, session.username, session.channel_id, websocket,
                            grant=session.grant_id, source="recording", session_id=session_id,
                            duration_s=round(time.monotonic() - started, 3), transport="websocket",
                            watched_from=watched_from.isoformat(), watched_to=playback.position.isoformat())


async def _serve(socket: _Socket, session: RecordedSession, mailbox: Consumer) -> None:
    """Until the client leaves, the grant ends or the session is stopped (the stream then says why and closes)."""
    playback = session.playback
    streamer = asyncio.create_task(_stream(socket, playback))
    commands = asyncio.create_task(_commands(socket, playback))
    revoked = asyncio.create_task(mailbox.get())
    try:
        done, _ = await asyncio.wait({streamer, commands, revoked}, return_when=asyncio.FIRST_COMPLETED)
        if revoked in done:
            ended = revoked.result()
            playback.stop(ended.reason if isinstance(ended, StreamEnd) else "access ended")
        elif commands in done:
            playback.stop(CLIENT_LEFT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(streamer), STREAM_STOP_TIMEOUT)
        reason = playback.stopped
        if reason is not None and reason != CLIENT_LEFT:
            await socket.json({"type": "end", "reason": reason})
            await socket.websocket.close(code=1000)
    finally:
        for task in (streamer, commands, revoked):
            task.cancel()
        outcomes = await asyncio.gather(streamer, commands, revoked, return_exceptions=True)
    failure = next((o for o in outcomes if isinstance(o, Exception) and not isinstance(o, CLOSED_SOCKET)), None)
    if failure is not None:
        raise failure


async def _stream(socket: _Socket, playback: RecordedPlayback) -> None:
    async for output in playback.outputs():
        if isinstance(output, PlaybackInit | PlaybackFragment):
            await socket.binary(output.data)
        elif isinstance(output, PositionReport):
            await socket.json({"type": "position", "time": iso(output.time), "speed": output.speed})
        elif isinstance(output, GapSkipped):
            await socket.json({"type": "gap", "from": iso(output.start), "to": iso(output.end)})
        elif isinstance(output, Seeked):
            await socket.json({"type": "seeked", "time": iso(output.time), "media_time": output.media_time})
        elif isinstance(output, PlaybackEnd):
            await socket.json({"type": "end"})
        elif isinstance(output, PlaybackLive):
            await socket.json({"type": "live", "time": iso(output.time)})
        elif isinstance(output, PlaybackError):
            await socket.json({"type": "error", "message": output.message})


async def _commands(socket: _Socket, playback: RecordedPlayback) -> None:
    """The client's controls; a malformed one is answered with an error message, the socket stays open."""
    while True:
        message = await socket.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await socket.json({"type": "error", "message": "controls are JSON text messages"})
            continue
        try:
            command = CLIENT_MESSAGES.validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            await socket.json({"type": "error", "message": f"not a playback control: {where}: {first['msg']}"})
            continue
        if isinstance(command, SeekMessage):
            playback.seek(command.time)
        elif isinstance(command, SpeedMessage):
            playback.set_speed(command.speed)
        elif isinstance(command, PauseMessage):
            playback.pause()
        elif isinstance(command, ResumeMessage):
            playback.resume()


# --- HLS ----------------------------------------------------------------------------------------
async def _plan(services: ApiServices, session: RecordedSession) -> HlsPlan:
    """The session's HLS plan; an unfinished one is planned again when older than a moment."""
    plan, now = session.hls_plan, time.monotonic()
    if plan is not None and (plan.complete or now - session.hls_planned_at < HLS_PLAN_TTL):
        return plan
    recordings = _recordings(services)
    start = await find_start(recordings, session.channel_id, session.started_at)
    if start is None:
        raise Problem(404, f"the recordings of playback {session.session_id} are no longer there")
    session.hls_plan, session.hls_planned_at = await plan_playlist(recordings, session.channel_id, start), now
    return session.hls_plan


@router.get("/playback/{session_id}/index.m3u8", response_class=Response, responses=PLAYLIST_RESPONSES)
async def recorded_playlist(request: Request, services: Services, session_id: SessionId,
                            token: StreamToken) -> Response:
    """The recordings from the session's start as HLS (VOD when final, else EVENT); speed is the player's."""
    session, _ = await _verified(services, request.app, token, session_id)
    plan = await _plan(services, session)
    session.hls_used = True
    session.touch()
    return playlist_response(plan.playlist(f"token={token}"))


async def _file_read(what: str, read: Any, *args: Any) -> bytes:
    try:
        data: bytes = await asyncio.to_thread(read, *args)
    except (OSError, UnreadableSegment) as exc:
        logger.warning("%s unreadable: %s", what, exc)
        raise Problem(404, f"{what} is no longer readable") from exc
    return data


@router.get("/playback/{session_id}/init/{segment_id}.mp4", response_class=Response, responses=INIT_RESPONSES)
async def recorded_init(request: Request, services: Services, session_id: SessionId, segment_id: SegmentId,
                        token: StreamToken) -> Response:
    session, _ = await _verified(services, request.app, token, session_id)
    segment = session.hls_plan.segment(segment_id) if session.hls_plan is not None else None
    path = _recordings(services).segment_file(segment) if segment is not None else None
    if path is None:
        raise Problem(404, f"no init segment {segment_id} in playback {session_id}; fetch the playlist first")
    session.touch()
    return init_response(await _file_read(f"recorded segment {segment_id}", init_of, path))


@router.get("/playback/{session_id}/seg/{sequence}.m4s", response_class=Response, responses=SEGMENT_RESPONSES)
async def recorded_segment(request: Request, services: Services, session_id: SessionId, sequence: SegmentNumber,
                           token: StreamToken) -> Response:
    session, _ = await _verified(services, request.app, token, session_id)
    part = session.hls_plan.part(sequence) if session.hls_plan is not None else None
    path = _recordings(services).segment_file(part.segment) if part is not None else None
    if part is None or path is None:
        raise Problem(404, f"no segment {sequence} in playback {session_id}; fetch the playlist first")
    session.touch()
    return segment_response(await _file_read(f"segment {sequence} of playback {session_id}", build_segment, path,
                                             part))
