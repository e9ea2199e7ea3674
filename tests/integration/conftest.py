"""Fixtures that run the real platform and simulators as processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerDatabase
from tests.integration.processes import (
    DEVICE_PASSWORD,
    PLATFORM_ID,
    PlatformProcess,
    SimProcess,
    free_port,
    wait_for_channels,
)


@pytest.fixture
def platform(tmp_path: Path, server_database: ServerDatabase) -> Iterator[PlatformProcess]:
    process = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                              database_url=server_database(),
                              extra_env={"CLEARSIGHT_KEEPALIVE_INTERVAL": "1"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


def sim_args(platform: PlatformProcess, *, devices: int = 1, channels: int = 2, password: str = DEVICE_PASSWORD,
             transport: str = "udp", keepalive: float = 1.0, extra: list[str] | None = None) -> list[str]:
    return ["--platform", f"127.0.0.1:{platform.sip_port}", "--platform-id", PLATFORM_ID,
            "--password", password, "--devices", str(devices), "--channels", str(channels),
            "--transport", transport, "--keepalive-interval", str(keepalive), *(extra or [])]


@pytest.fixture
def sims() -> Iterator[list[SimProcess]]:
    started: list[SimProcess] = []
    yield started
    for sim in started:
        sim.stop()


def start_sim(sims: list[SimProcess], args: list[str]) -> SimProcess:
    sim = SimProcess(args)
    sim.start()
    sims.append(sim)
    return sim


def start_listed_sim(platform: PlatformProcess, sims: list[SimProcess], *,
                     channels: int) -> tuple[SimProcess, list[dict[str, Any]]]:
    """One simulated device with `channels` channels, ready, and once the platform lists them: the simulator
    and the listed channels."""
    sim = start_sim(sims, sim_args(platform, devices=1, channels=channels))
    sim.wait_for(lambda e: e.get("event") == "ready")
    with platform.client() as client:
        return sim, wait_for_channels(client, channels)
