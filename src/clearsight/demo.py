"""`clearsight demo`: the platform on its embedded default plus simulated devices over loopback SIP.

With `--https` (and no certificate configured) it serves HTTPS with a self-signed certificate made in its data
directory on first run. Plain HTTP stays the default: browsers warn about a self-signed certificate, and the
latency benchmark (`bench/live_latency.py`) drives the demo over http://.
"""

from __future__ import annotations

import asyncio
import logging

from clearsight.config import Settings
from clearsight.self_signed import ensure_self_signed
from clearsight.server import Platform, base_url, serve
from clearsight.sim.simulator import Simulator, SimulatorConfig

logger = logging.getLogger(__name__)

# The demo's devices keep alive faster than the standard 60 s so that state changes show quickly.
DEMO_KEEPALIVE_INTERVAL = 20.0


TLS_DIR = "tls"  # under the data directory: the self-signed certificate of `--https`


def with_demo_certificate(settings: Settings) -> Settings:
    """`settings` serving HTTPS: the configured certificate, else the demo's self-signed one."""
    if settings.tls_cert is not None:
        return settings
    files = ensure_self_signed(settings.data_dir / TLS_DIR, settings.http_host)
    return settings.model_copy(update={"tls_cert": files.cert, "tls_key": files.key})


async def run_demo(settings: Settings, *, devices: int, channels: int, https: bool = False) -> None:
    if https:
        settings = await asyncio.to_thread(with_demo_certificate, settings)
    simulators: list[Simulator] = []
    url = base_url(settings)

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
            f"  Web UI:        {url}/   (click a channel to see it live)\n"
            f"  API:           {url}/docs   (OpenAPI: /openapi.json)\n"
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
