"""`clearsight demo`: the platform on its embedded default plus simulated devices over loopback SIP."""

from __future__ import annotations

import asyncio
import logging

from clearsight.config import Settings
from clearsight.server import Platform, serve
from clearsight.sim.simulator import Simulator, SimulatorConfig

logger = logging.getLogger(__name__)

# The demo's devices keep alive faster than the standard 60 s so that state changes show quickly.
DEMO_KEEPALIVE_INTERVAL = 20.0


async def run_demo(settings: Settings, *, devices: int, channels: int) -> None:
    simulators: list[Simulator] = []

    async def start_devices(platform: Platform) -> None:
        simulator = Simulator(SimulatorConfig(
            platform_host=settings.sip_host, platform_port=settings.sip_port,
            platform_id=settings.platform_id, password=settings.device_password, devices=devices,
            channels=channels, keepalive_interval=DEMO_KEEPALIVE_INTERVAL))
        simulators.append(simulator)
        await simulator.start()
        registered = await simulator.register_all()
        simulator.start_keepalives()
        password = settings.admin_password or platform.admin_password or "(set by CLEARSIGHT_ADMIN_PASSWORD)"
        print(
            "\nClearsight demo is running.\n"
            f"  Web UI:        http://{settings.http_host}:{settings.http_port}/   (click a channel to see it live)\n"
            f"  API:           http://{settings.http_host}:{settings.http_port}/docs   (OpenAPI: /openapi.json)\n"
            f"  Login:         {settings.admin_user} / {password}\n"
            f"  SIP:           {settings.sip_host}:{settings.sip_port} (UDP and TCP), platform ID "
            f"{settings.platform_id}\n"
            f"  Devices:       {registered} of {devices} simulated devices registered, {channels} channels "
            "each\n"
            "Press Ctrl+C to stop.\n", flush=True)

    try:
        await serve(settings, on_ready=start_devices)
    finally:
        for simulator in simulators:
            await asyncio.shield(simulator.close())
