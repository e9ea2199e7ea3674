"""The whole platform on loopback with one simulated device: in one process on one event loop (`platform_stack`,
for tests that drive `platform.gb28181` directly) or also serving HTTP (uvicorn, the real app: `live_api_stack`,
for tests of live view and playback through the API, WebSocket and HLS, and for the browser tests)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from clearsight.api.app import create_app
from clearsight.config import Settings
from clearsight.server import Platform, running_platform
from clearsight.sim.simulator import Simulator, SimulatorConfig
from tests.integration.processes import ADMIN_PASSWORD, DEVICE_PASSWORD, PLATFORM_ID, free_port

DEVICE_ID = "34020000001320000001"
CHANNEL_GB_IDS = ("34020000001310000002", "34020000001310000003")  # the simulator's first device's channels

SimEvent = dict[str, object]


@dataclass(slots=True)
class PlatformStack:
    platform: Platform
    sim: Simulator
    events: list[SimEvent]
    hooks: list[Callable[[SimEvent], None]]  # called with each simulator event as it happens

    def count(self, kind: str, **fields: object) -> int:
        return sum(1 for e in self.events if e.get("event") == kind and all(e.get(k) == v for k, v in fields.items()))

    async def wait_event(self, kind: str, within: float = 10.0, **fields: object) -> SimEvent:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("event") == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} event {fields} within {within} s; got {self.events[-10:]}")


@dataclass(slots=True)
class LiveApiStack(PlatformStack):
    base_url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=20.0)

    async def channel_pk(self, gb_id: str) -> int:
        async with self.client() as client:
            page = (await client.get("/api/v1/channels", params={"device_id": DEVICE_ID})).json()
        return next(int(item["id"]) for item in page["items"] if item["gb_id"] == gb_id)


def stack_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The platform's settings on free loopback ports; `overrides` are settings."""
    return Settings(platform_id=PLATFORM_ID, sip_host="127.0.0.1", sip_port=free_port(), http_port=free_port(),
                    data_dir=data_dir, device_password=DEVICE_PASSWORD, admin_password=ADMIN_PASSWORD, **overrides)


@asynccontextmanager
async def platform_stack(settings: Settings, **sim_options: Any) -> AsyncIterator[PlatformStack]:
    """The platform running with `settings` and one simulated device of two channels, registered and its catalog
    sent. `sim_options` are further `SimulatorConfig` fields."""
    async with running_platform(settings) as platform:
        events: list[SimEvent] = []
        hooks: list[Callable[[SimEvent], None]] = []

        def record(event: SimEvent) -> None:
            events.append(event)
            for hook in hooks:
                hook(event)

        sim = Simulator(SimulatorConfig(platform_host="127.0.0.1", platform_port=settings.sip_port,
                                        platform_id=PLATFORM_ID, password=DEVICE_PASSWORD, channels=2, **sim_options),
                        record)
        stack = PlatformStack(platform, sim, events, hooks)
        await sim.start()
        try:
            assert await sim.register_all() == 1
            await stack.wait_event("catalog_sent", device=DEVICE_ID)
            yield stack
        finally:
            await sim.close()


@asynccontextmanager
async def live_api_stack(data_dir: Path, *, with_access: bool = False, **overrides: Any
                         ) -> AsyncIterator[LiveApiStack]:
    """`overrides` are settings. `with_access` hands the app the platform's access control (grants, share
    requests, streams ended by revocation, as `serve` does); without it only roles are checked."""
    settings = stack_settings(data_dir, **overrides)
    async with platform_stack(settings) as running:
        platform = running.platform
        app = create_app(settings=settings, registry=platform.registry, users=platform.users,
                         control=platform.gb28181, metrics_registry=platform.metrics.registry,
                         db_ping=lambda: asyncio.sleep(0, True), streams=platform.streams, hls=platform.hls,
                         audit_log=platform.audit if with_access else None,
                         audit_reader=platform.audit_search if with_access else None,
                         access=platform.access if with_access else None)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.http_port, log_config=None,
                                               access_log=False, lifespan="off"))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
            base_url = f"http://127.0.0.1:{settings.http_port}"
            async with httpx.AsyncClient(base_url=base_url) as client:
                response = await client.post("/api/v1/auth/token",
                                             data={"username": "admin", "password": ADMIN_PASSWORD})
                token = response.json()["access_token"]
            stack = LiveApiStack(platform, running.sim, running.events, running.hooks, base_url, token)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the catalog is stored shortly after it was sent
                async with stack.client() as client:
                    page = (await client.get("/api/v1/channels", params={"device_id": DEVICE_ID})).json()
                if page["total"] >= len(CHANNEL_GB_IDS):
                    break
                await asyncio.sleep(0.05)
            yield stack
        finally:
            await platform.hub.close()  # ends every viewer's WebSocket, so the server can stop
            server.should_exit = True
            await serving
