"""An API app with access control and the real RecordingService over recorded clock-clip segments, served by uvicorn
on loopback (the playback WebSocket needs a real server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from clearsight.api import ApiConfig, create_app
from clearsight.media.hub import StreamHub
from clearsight.recording.service import RecordingService, RecordingServiceSettings
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from tests.access.platform import AccessPlatform, OfflineControl
from tests.api.fakes import PASSWORD, FakeDatabase
from tests.api.session import SECRET, TOKEN_TTL
from tests.integration.processes import free_port
from tests.recording.fake_stream import FakeStreams
from tests.recording.samples import Clip
from tests.recording.segments import index, write_segments


@dataclass(slots=True)
class PlaybackServer:
    base_url: str
    app: FastAPI
    platform: AccessPlatform
    recordings: RecordingService

    async def headers(self, username: str) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=20.0)


async def record(store: RecordingStore, pool: StoragePool, channel_id: int, clip: Clip, start: datetime, *,
                 fragments: int | None = None) -> None:
    """The clip (or its first `fragments`) recorded on the channel from `start`, in 2 s segments, indexed."""
    await index(store, channel_id, write_segments(pool, clip, channel_id, start, fragments=fragments))


@asynccontextmanager
async def playback_server(platform: AccessPlatform, store: RecordingStore, pool: StoragePool,
                          clip: Clip) -> AsyncIterator[PlaybackServer]:
    hub = StreamHub()
    recordings = RecordingService(store, FakeStreams(hub, clip.frames), platform.registry, pool,
                                  RecordingServiceSettings(retention_days=7))
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=platform.registry,
                     users=platform.app.state.services.users, control=OfflineControl(),
                     metrics_registry=CollectorRegistry(), db_ping=FakeDatabase().ping, audit_log=platform.audit,
                     audit_reader=platform.audit, access=platform.access, recordings=recordings, static_dir=None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        yield PlaybackServer(f"http://127.0.0.1:{port}", app, platform, recordings)
    finally:
        server.should_exit = True
        await serving
        await hub.close()
