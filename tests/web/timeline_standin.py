"""Scripted recording endpoints for the stand-in platform (`standin.py`), for browser tests of the timeline.

- `GET /channels/{id}/recordings`: for any requested day, two recorded ranges with a gap between them, at fixed
  offsets from the requested start (the browser asks for its local day), so the bar looks the same every day.
- `GET /channels/{id}/thumbnails?at=`: the snapshot JPEG inside a recorded range, 404 outside.
- `POST /channels/{id}/playback`, its WebSocket and `DELETE /playback/{id}`: the recording-playback contract
  (docs/recording.md, Playback: fMP4, init first, then fragments on one media timeline that never jumps, each
  lasting its recorded duration divided by the speed, sent by the wall clock; `position` about every second;
  `seeked` then a fresh init segment; `seek`, `speed`, `pause`, `resume` from the viewer), playing the stand-in
  clip in a loop; after two seconds of each session, one `error` (a skipped segment) while playback goes on;
  with `TimelineLog.material_frames` set, `end` after that many frames (the socket stays open; a seek plays on,
  without end), or `live` with `TimelineLog.material_end = "live"` (caught up with the recording being written).
- `POST /channels/{REASON_CHANNEL}/live`: 403 `…/reason-required` without `?reason=`, the live stream with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocketDisconnect

from clearsight.api.security import current_user
from tests.web.fmp4_clip import CLIP_MIME
from tests.web.standin import clip, snapshot_jpeg

REASON_CHANNEL = 6  # "Roof": a restricted channel in these tests
FIRST_RANGE = (timedelta(hours=1), timedelta(hours=1, minutes=20))  # offsets from the requested start
SECOND_RANGE = (timedelta(hours=1, minutes=25), timedelta(hours=1, minutes=45))
GAP_REASON = "device sent BYE"
POSITION_EVERY_FRAMES = 25  # one position message per second of recording
# The stand-in clip's fragments (PyAV, frag_every_frame): tfhd with default-base-is-moof and default sample
# duration, size and flags (ISO/IEC 14496-12 §8.8.7), then a version 1 tfdt; one sample each.
TFHD_FLAGS = 0x020038
_U32, _U64 = struct.Struct(">I"), struct.Struct(">Q")
TIMESCALE = 12_800  # the clip's mdhd timescale (PyAV's for 25 fps)
SKIPPED_SEGMENT_ERROR = "segment 7 could not be read: skipped"
ERROR_AFTER_FRAMES = 50


@dataclass
class TimelineLog:
    recordings: list[tuple[str, str]] = field(default_factory=list)  # (start, end) asked for
    thumbnails: list[str] = field(default_factory=list)
    playback_posts: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)  # from the viewer over the WebSocket
    deleted: list[str] = field(default_factory=list)
    live_reasons: list[str | None] = field(default_factory=list)
    days: dict[int, datetime] = field(default_factory=dict)  # channel → start of the last day asked for
    material_frames: int | None = None  # frames a session has before its recorded material ends
    material_end: str = "end"  # what is said then: "end", or "live" (the recording being written was caught up)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ranges(day_start: datetime) -> list[tuple[datetime, datetime]]:
    return [(day_start + FIRST_RANGE[0], day_start + FIRST_RANGE[1]),
            (day_start + SECOND_RANGE[0], day_start + SECOND_RANGE[1])]


@dataclass
class _Playback:
    position: datetime
    speed: int
    paused: bool = False
    seek_to: datetime | None = None


def timeline_routes(log: TimelineLog) -> list[Any]:
    authenticated = APIRouter(prefix="/api/v1", dependencies=[Depends(current_user)])
    router = APIRouter(prefix="/api/v1")
    sessions: dict[str, _Playback] = {}

    @authenticated.get("/channels/{channel_id}/recordings")
    async def recordings(channel_id: int, start: datetime, end: datetime) -> JSONResponse:
        log.recordings.append((_iso(start), _iso(end)))
        log.days[channel_id] = start
        ranges = [(a, b) for a, b in _ranges(start) if a < end]
        return JSONResponse({
            "channel_id": channel_id, "start": _iso(start), "end": _iso(end),
            "ranges": [{"start": _iso(a), "end": _iso(b)} for a, b in ranges],
            "gaps": [{"id": 1, "start": _iso(ranges[0][1]), "end": _iso(ranges[1][0]), "reason": GAP_REASON}],
            "segments": [], "segments_truncated": False, "recording_now": False})

    def recorded(channel_id: int, at: datetime) -> bool:
        day = log.days.get(channel_id)
        return day is not None and any(a <= at < b for a, b in _ranges(day))

    @authenticated.get("/channels/{channel_id}/thumbnails")
    async def thumbnails(request: Request, channel_id: int, at: datetime) -> Response:
        log.thumbnails.append(_iso(at))
        if not recorded(channel_id, at):
            return JSONResponse({"type": "about:blank", "title": "Not Found", "status": 404,
                                 "detail": f"no thumbnail near {_iso(at)}"}, status_code=404,
                                media_type="application/problem+json")
        return Response(snapshot_jpeg(), media_type="image/jpeg", headers={"X-Thumbnail-At": _iso(at)})

    @authenticated.post("/channels/{channel_id}/playback", status_code=201)
    async def start_playback(request: Request, channel_id: int) -> JSONResponse:
        body = await request.json()
        log.playback_posts.append(body)
        start = datetime.fromisoformat(body["start"])
        if not recorded(channel_id, start):
            return JSONResponse({"type": "about:blank", "title": "Not Found", "status": 404,
                                 "detail": f"nothing recorded at or after {_iso(start)}"}, status_code=404,
                                media_type="application/problem+json")
        session_id = uuid.uuid4().hex
        sessions[session_id] = _Playback(start, int(body.get("speed", 1)))
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "session_id": session_id, "ws_url": f"ws{base[4:]}/api/v1/playback/{session_id}/ws?token=t",
            "hls_url": f"{base}/api/v1/playback/{session_id}/index.m3u8?token=t", "start": _iso(start),
            "speed": sessions[session_id].speed, "expires_at": _iso(datetime.now(UTC) + timedelta(minutes=5)),
            "mime": CLIP_MIME}, status_code=201)

    @authenticated.delete("/playback/{session_id}", status_code=204)
    async def stop_playback(session_id: str) -> Response:
        log.deleted.append(session_id)
        sessions.pop(session_id, None)
        return Response(status_code=204)

    @router.websocket("/playback/{session_id}/ws")
    async def playback_ws(websocket: WebSocket, session_id: str) -> None:
        session = sessions.get(session_id)
        await websocket.accept()
        if session is None:
            await websocket.close(code=1008)
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            sender = asyncio.create_task(_send_recording(websocket, session, log.material_frames, log.material_end))
            try:
                while True:
                    command = await websocket.receive_json()
                    log.commands.append(command)
                    if command.get("type") == "seek":
                        session.seek_to = datetime.fromisoformat(command["time"])
                    elif command.get("type") == "speed":
                        session.speed = int(command["speed"])
                    elif command.get("type") in ("pause", "resume"):
                        session.paused = command["type"] == "pause"
            finally:
                sender.cancel()

    @authenticated.post(f"/channels/{REASON_CHANNEL}/live")
    async def restricted_live(request: Request, reason: str | None = None) -> JSONResponse:
        log.live_reasons.append(reason)
        if not reason:
            return JSONResponse({"type": "/problems/reason-required", "title": "Reason required", "status": 403,
                                 "detail": "viewing this restricted channel needs a stated reason"},
                                status_code=403, media_type="application/problem+json")
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "channel_id": REASON_CHANNEL, "ws_url": f"ws{base[4:]}/api/v1/live/{REASON_CHANNEL}/ws?token=r",
            "hls_url": f"{base}/api/v1/live/{REASON_CHANNEL}/index.m3u8?token=r",
            "expires_at": _iso(datetime.now(UTC) + timedelta(minutes=5)), "codec": "h264", "mime": CLIP_MIME,
            "width": 320, "height": 180})

    return [*router.routes, *authenticated.routes]


def _retimed(fragment: bytes, decode_time: int, speed: int) -> tuple[bytes, int]:
    """`fragment` at `decode_time` with its duration divided by `speed`, and that duration (timescale units)."""
    data = bytearray(fragment)
    tfhd = data.index(b"tfhd") + 4
    tfdt = data.index(b"tfdt") + 4
    assert _U32.unpack_from(data, tfhd)[0] == TFHD_FLAGS and data[tfdt] == 1, "not the stand-in clip's layout"
    duration = _U32.unpack_from(data, tfhd + 8)[0] // speed  # after version/flags and track_ID
    _U32.pack_into(data, tfhd + 8, duration)
    _U64.pack_into(data, tfdt + 4, decode_time)
    return bytes(data), duration


async def _send_recording(websocket: WebSocket, session: _Playback, material_frames: int | None,
                          material_end: str) -> None:
    """The clip, looped, from `session.position` on, one fragment per frame, on one media timeline paced by the
    wall clock: at speed N each fragment lasts 1/N of its recorded 40 ms; `material_end` (`end` or `live`) after
    `material_frames` frames, then nothing until a seek."""
    video = clip()
    await websocket.send_bytes(video.init_segment)
    index = 0  # the next fragment; each loop of the clip starts at a keyframe
    decode_time = 0  # where the next fragment goes on the media timeline
    sent = 0
    since_seek = 0  # frames of the material sent (one more once its end was said)
    sent_at = time.monotonic()
    while True:
        if session.seek_to is not None:
            session.position, session.seek_to = session.seek_to, None
            await websocket.send_json({"type": "seeked", "time": _iso(session.position),
                                       "media_time": decode_time / TIMESCALE})
            await websocket.send_bytes(video.init_segment)
            index = 0
            material_frames = None  # after the seek the material goes on
        if material_frames is not None and since_seek == material_frames:
            ending = {"type": "live", "time": _iso(session.position)} if material_end == "live" else {"type": "end"}
            await websocket.send_json(ending)
            since_seek += 1
        if material_frames is not None and since_seek > material_frames:
            await asyncio.sleep(0.1)  # nothing at all until a seek
            continue
        if session.paused:
            await websocket.send_json({"type": "position", "time": _iso(session.position), "speed": session.speed})
            await asyncio.sleep(0.5)
            sent_at = time.monotonic()
            continue
        fragment, duration = _retimed(video.fragments[index], decode_time, session.speed)
        await websocket.send_bytes(fragment)
        sent += 1
        since_seek += 1
        if sent == ERROR_AFTER_FRAMES:
            await websocket.send_json({"type": "error", "message": SKIPPED_SEGMENT_ERROR})
        decode_time += duration
        index = (index + 1) % len(video.fragments)
        session.position += timedelta(seconds=1 / video.fps)
        if index % POSITION_EVERY_FRAMES == 0:
            await websocket.send_json({"type": "position", "time": _iso(session.position), "speed": session.speed})
        sent_at += 1 / (video.fps * session.speed)
        await asyncio.sleep(max(0.0, sent_at - time.monotonic()))


def add_timeline_routes(app: FastAPI, log: TimelineLog) -> FastAPI:
    """Put the scripted recording routes in front of the stand-in's own."""
    app.router.routes[0:0] = timeline_routes(log)
    return app
