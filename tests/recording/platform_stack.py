"""The real platform serving HTTP on loopback with one simulated device, recording: for the integration tests.

As `tests/integration/live_api_stack.py`, plus the recording API. The platform's own RecordingService is
replaced by one on the same store, streams and storage whose recorders retry sooner (backoff up to 2 s instead
of 30 s), so that a test of gaps and resumption does not wait for long backoffs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from clearsight.api.app import create_app
from clearsight.config import Settings
from clearsight.recording.recorder import RecorderSettings
from clearsight.recording.service import RecordingService
from clearsight.server import Platform, running_platform
from clearsight.sim.simulator import Simulator, SimulatorConfig
from tests.integration.processes import ADMIN_PASSWORD, DEVICE_PASSWORD, PLATFORM_ID, free_port

DEVICE_ID = "34020000001320000001"
CHANNEL_GB_IDS = ("34020000001310000002", "34020000001310000003")  # the simulator's first device's channels
KEEPALIVE_INTERVAL = 1  # seconds, on both sides: a device without keepalives is offline after 3 s


@dataclass(slots=True)
class RecordingStack:
    platform: Platform
    recordings: RecordingService
    sim: Simulator
    base_url: str
    token: str
    storage_root: Path

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=20.0)

    async def channel_pk(self, gb_id: str) -> int:
        async with self.client() as client:
            page = (await client.get("/api/v1/channels", params={"device_id": DEVICE_ID})).json()
        return next(int(item["id"]) for item in page["items"] if item["gb_id"] == gb_id)

    async def timeline(self, pk: int, minutes: float = 10) -> dict[str, Any]:
        now = datetime.now(UTC)
        params = {"start": (now - timedelta(minutes=minutes)).isoformat(),
                  "end": (now + timedelta(minutes=1)).isoformat()}
        async with self.client() as client:
            response = await client.get(f"/api/v1/channels/{pk}/recordings", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {within} s")


@asynccontextmanager
async def recording_stack(data_dir: Path, *, backoff_max: float = 2.0, **overrides: Any
                          ) -> AsyncIterator[RecordingStack]:
    http_port = free_port()
    settings = Settings(platform_id=PLATFORM_ID, sip_host="127.0.0.1", sip_port=free_port(), http_port=http_port,
                        data_dir=data_dir, device_password=DEVICE_PASSWORD, admin_password=ADMIN_PASSWORD,
                        keepalive_interval=KEEPALIVE_INTERVAL, **overrides)
    async with running_platform(settings) as platform:
        own = platform.recordings
        await own.stop()
        recorder = RecorderSettings(segment_seconds=settings.recording_segment_seconds,
                                    thumbnail_interval=settings.recording_thumbnail_seconds, backoff_min=0.5,
                                    backoff_max=backoff_max, checkpoint_interval=2.0)
        recordings = RecordingService(own.store, platform.streams, platform.registry, own.pool,
                                      replace(own.settings, recorder=recorder, policy_interval=1.0,
                                              channel_refresh_interval=2.0))
        await recordings.start()
        app = create_app(settings=settings, registry=platform.registry, users=platform.users,
                         control=platform.gb28181, metrics_registry=platform.metrics.registry,
                         db_ping=lambda: asyncio.sleep(0, True), streams=platform.streams, hls=platform.hls,
                         exports=platform.exports, recordings=recordings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, log_config=None,
                                               access_log=False, lifespan="off"))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        serving = asyncio.create_task(server.serve())
        sim = Simulator(SimulatorConfig(platform_host="127.0.0.1", platform_port=settings.sip_port,
                                        platform_id=PLATFORM_ID, password=DEVICE_PASSWORD, channels=2,
                                        keepalive_interval=KEEPALIVE_INTERVAL))
        try:
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
            await sim.start()
            assert await sim.register_all() == 1
            sim.start_keepalives()
            base_url = f"http://127.0.0.1:{http_port}"
            async with httpx.AsyncClient(base_url=base_url) as client:
                response = await client.post("/api/v1/auth/token",
                                             data={"username": "admin", "password": ADMIN_PASSWORD})
                token = response.json()["access_token"]
            stack = RecordingStack(platform, recordings, sim, base_url, token, own.pool.paths["default"].root)

            async def catalog_stored() -> bool:
                async with stack.client() as client:
                    page = (await client.get("/api/v1/channels", params={"device_id": DEVICE_ID})).json()
                return int(page["total"]) >= len(CHANNEL_GB_IDS)

            await eventually(catalog_stored, 15, "the catalog is stored")
            await asyncio.wait_for(recordings.ready.wait(), 15)
            yield stack
        finally:
            await recordings.stop()
            await platform.hub.close()
            await sim.close()
            server.should_exit = True
            await serving
