"""A stand-in platform for browser tests of the web UI.

The real API app (`create_app`) on the in-memory fakes of `tests/api/fakes.py`, serving the real static UI,
with the live-view endpoints (`POST /channels/{id}/live`, the fMP4 WebSocket) and the snapshot endpoint
replaced by scripted ones that follow the live-view contract: per channel, a stream that plays, fails at a
step, is offline, is H.265, or drops its first connection. It runs under uvicorn on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import cache
from typing import Any

import av
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from prometheus_client import CollectorRegistry
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.websockets import WebSocketDisconnect

from clearsight.api import ApiConfig, create_app
from clearsight.api.security import current_user
from clearsight.sim.video import render_frame
from tests.api.fakes import (
    DEVICE_ID,
    OTHER_DEVICE_ID,
    FakeChannel,
    FakeControl,
    FakeDatabase,
    FakeRegion,
    FakeRegistry,
    FakeUsers,
)
from tests.web.fmp4_clip import CLIP_MIME, Fmp4Clip, make_clip

SECRET = "stand-in-secret-key-that-is-long-enough-0123456789"
TOKEN_TTL = 600
H265_MIME = 'video/mp4; codecs="hvc1.1.6.L93.B0"'
STATS_EVERY_FRAMES = 25  # one stats message a second at 25 fps


class Live(enum.Enum):
    STREAM = "stream"
    NO_RTP = "no-rtp"  # 504, step no-rtp
    INVITE_REJECTED = "invite"  # 502, step invite
    OFFLINE = "offline"  # 409
    H265 = "h265"  # answers with an H.265 MIME type
    DROP_ONCE = "drop-once"  # the first WebSocket closes after a second of video; later ones stream
    SILENT_ONCE = "silent-once"  # the first WebSocket sends nothing at all; later ones stream


@dataclass
class StandInLog:
    live_posts: list[int] = field(default_factory=list)
    websockets: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)


CHANNELS = (
    FakeChannel(id=1, gb_id="34020000001310000001", name="Gate", civil_code="34020200", ptz_type=1),
    FakeChannel(id=2, gb_id="34020000001310000002", name="Parking lot", civil_code="340202", ptz_type=1),
    FakeChannel(id=3, gb_id="34020000001310000003", name="Warehouse", civil_code="3402", device_id=OTHER_DEVICE_ID),
    FakeChannel(id=4, gb_id="34020000001310000004", name="Lobby H.265", civil_code="340202"),
    FakeChannel(id=5, gb_id="34020000001310000005", name="Loading bay", civil_code="340202"),
    FakeChannel(id=6, gb_id="34020000001310000006", name="Roof", civil_code=None, ptz_type=3),
)
BEHAVIOUR = {1: Live.STREAM, 2: Live.NO_RTP, 3: Live.OFFLINE, 4: Live.H265, 5: Live.DROP_ONCE, 6: Live.STREAM}
REGIONS = [FakeRegion("34", "Anhui", "province", 6, 5, (
    FakeRegion("3402", "Wuhu", "city", 5, 4, (FakeRegion("340202", "Jinghu", "county", 4, 4),)),))]


@cache
def clip() -> Fmp4Clip:
    return make_clip(seconds=30.0)


@cache
def snapshot_jpeg() -> bytes:
    context = av.CodecContext.create("mjpeg", "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = 320, 180, "yuvj420p"
    context.time_base = Fraction(1, 25)
    picture = render_frame(320, 180, channel_name="SNAPSHOT", now=datetime(2024, 1, 1, tzinfo=UTC),
                           marker=(0.0, 0.0), index=0).reformat(format="yuvj420p")
    packets = [*context.encode(picture), *context.encode(None)]
    return bytes(packets[0])


def _problem(status: int, title: str, detail: str, path: str, **extensions: Any) -> JSONResponse:
    body = {"type": "/problems/live-view-failed", "title": title, "status": status, "detail": detail,
            "instance": path, **extensions}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _scripted_routes(log: StandInLog, behaviour: dict[int, Live]) -> list[BaseRoute]:
    router = APIRouter(prefix="/api/v1")
    # The platform's own bearer-token check: a bad token gets the platform's 401 problem.
    authenticated = APIRouter(prefix="/api/v1", dependencies=[Depends(current_user)])

    @authenticated.post("/channels/{channel_id}/live")
    async def start_live(request: Request, channel_id: int) -> Response:
        log.live_posts.append(channel_id)
        kind = behaviour.get(channel_id, Live.STREAM)
        await asyncio.sleep(0.2)  # the platform answers once video flows
        path = request.url.path
        if kind is Live.NO_RTP:
            return _problem(504, "Live view failed", "no RTP packet arrived within 5 s of the ACK", path,
                            step="no-rtp", channel_id=channel_id)
        if kind is Live.INVITE_REJECTED:
            return _problem(502, "Live view failed", "the device answered the INVITE with 486 Busy Here", path,
                            step="invite", channel_id=channel_id)
        if kind is Live.OFFLINE:
            return _problem(409, "Device offline", f"device {OTHER_DEVICE_ID} is offline", path,
                            step="offline", channel_id=channel_id)
        base = str(request.base_url).rstrip("/")
        token = f"stand-in-{channel_id}-{len(log.live_posts)}"
        mime = H265_MIME if kind is Live.H265 else CLIP_MIME
        return JSONResponse({
            "channel_id": channel_id,
            "ws_url": f"ws{base[4:]}/api/v1/live/{channel_id}/ws?token={token}",
            "hls_url": f"{base}/api/v1/live/{channel_id}/index.m3u8?token={token}",
            "expires_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "codec": "h265" if kind is Live.H265 else "h264", "mime": mime, "width": 320, "height": 180,
        })

    @router.websocket("/live/{channel_id}/ws")
    async def live_ws(websocket: WebSocket, channel_id: int) -> None:
        log.websockets.append(channel_id)
        first = log.websockets.count(channel_id) == 1
        drop = behaviour.get(channel_id) is Live.DROP_ONCE and first
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            if behaviour.get(channel_id) is Live.SILENT_ONCE and first:
                await websocket.receive()  # until the viewer gives up and closes
                return
            await _stream(websocket, channel_id, drop_after=clip().fps if drop else None)

    @authenticated.get("/channels/{channel_id}/snapshot")
    async def snapshot(request: Request, channel_id: int) -> Response:
        log.snapshots.append(channel_id)
        if behaviour.get(channel_id, Live.STREAM) is not Live.STREAM:
            return _problem(503, "Service Unavailable", f"channel {channel_id} has no keyframe yet", request.url.path)
        return Response(snapshot_jpeg(), media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    return [*router.routes, *authenticated.routes]


async def _stream(websocket: WebSocket, channel_id: int, *, drop_after: int | None) -> None:
    video = clip()
    await websocket.send_json({"type": "init", "mime": CLIP_MIME, "codec": "h264", "width": video.width,
                               "height": video.height})
    await websocket.send_bytes(video.init_segment)
    started = time.monotonic()
    for index, fragment in enumerate(video.fragments):
        await asyncio.sleep(max(0.0, started + index / video.fps - time.monotonic()))
        await websocket.send_bytes(fragment)
        if index % STATS_EVERY_FRAMES == 0:
            await websocket.send_json({
                "type": "stats", "channel_id": channel_id, "viewers": 1, "packets": 1000 + index * 3, "lost": 2,
                "loss_rate": 2 / (1002 + index * 3), "jitter_ms": 1.8, "bitrate_kbps": 712.5, "fps": 25.0,
                "width": video.width, "height": video.height, "codec": "avc1.42c01e",
                "uptime_s": round(time.monotonic() - started, 1), "transport": "udp"})
        if drop_after is not None and index == drop_after:
            await websocket.close(code=1011, reason="stand-in dropped the connection")
            return
    await websocket.send_json({"type": "end", "reason": "the stand-in clip is over"})
    await websocket.close(code=1000)


def standin_registry() -> FakeRegistry:
    registry = FakeRegistry()
    registry.channels = {channel.id: channel for channel in CHANNELS}
    registry.regions = REGIONS
    registry.devices[DEVICE_ID] = replace(registry.devices[DEVICE_ID], name="Gate NVR", channel_count=5)
    return registry


def build_app(log: StandInLog, control: FakeControl, behaviour: dict[int, Live],
              registry: FakeRegistry | None = None) -> FastAPI:
    registry = registry or standin_registry()
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry,
                     users=FakeUsers(), control=control, metrics_registry=CollectorRegistry(),
                     db_ping=FakeDatabase().ping)
    # The scripted endpoints go first, before the platform's own and the static mount.
    app.router.routes[0:0] = _scripted_routes(log, behaviour)
    return app



class StandInServer:
    """uvicorn serving `app` on 127.0.0.1:`port` from a daemon thread."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    ws="websockets-sansio", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="stand-in-platform", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the stand-in platform did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
