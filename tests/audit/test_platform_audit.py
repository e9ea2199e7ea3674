"""`clearsight serve` records what happens through the API in its audit chain; `audit verify` checks it after."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from tests.conftest import ServerDatabase
from tests.integration.conftest import sim_args, start_sim
from tests.integration.processes import PlatformProcess, SimProcess, free_port, wait_until

pytestmark = pytest.mark.integration

DEVICE_ID = "34020000001320000001"


@pytest.fixture
def served(tmp_path: Path, server_database: ServerDatabase) -> Iterator[PlatformProcess]:
    process = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                              database_url=server_database(),
                              extra_env={"CLEARSIGHT_KEEPALIVE_INTERVAL": "1", "CLEARSIGHT_LIVE_GRACE_PERIOD": "1"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sims() -> Iterator[list[SimProcess]]:
    started: list[SimProcess] = []
    yield started
    for sim in started:
        sim.stop()


def _watch(ws_url: str, messages: int) -> None:
    async def watch() -> None:
        async with websockets.connect(ws_url, max_size=None) as ws:
            for _ in range(messages):
                await asyncio.wait_for(ws.recv(), 10)

    asyncio.run(watch())


def _entries(client: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params={"limit": 500, **filters})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


def _verify(platform: PlatformProcess) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clearsight.cli", "--log-level", "WARNING", "audit", "verify"],
                          env=platform.env(), capture_output=True, text=True, timeout=60, check=False)


def test_accesses_are_recorded_and_the_chain_verifies_after_stop(served: PlatformProcess,
                                                                 sims: list[SimProcess]) -> None:
    base = served.base_url
    assert httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": "wrong"}).status_code == 401
    sim = start_sim(sims, sim_args(served, channels=1))
    sim.wait_for(lambda event: event.get("event") == "ready")
    with served.client() as client:
        wait_until(lambda: client.get(f"/api/v1/devices/{DEVICE_ID}").json().get("channel_count") == 1)
        channel = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()["items"][0]
        live = client.post(f"/api/v1/channels/{channel['id']}/live")
        assert live.status_code == 200, live.text
        _watch(live.json()["ws_url"], 5)
        assert client.get(f"/api/v1/channels/{channel['id']}/snapshot").status_code == 200
        assert client.post(f"/api/v1/channels/{channel['id']}/ptz", json={"action": "stop"}).status_code == 202

        wait_until(lambda: any(e["action"] == "live.stop" for e in _entries(client)))
        entries = _entries(client)
        actions = [entry["action"] for entry in entries]
        assert actions[:2] == ["login.failure", "login.success"]
        assert {"live.start", "live.stop", "snapshot", "ptz"} <= set(actions)
        channel_entries = [entry for entry in entries if entry["target"] == channel["gb_id"]]
        assert {entry["action"] for entry in channel_entries} == {"live.start", "live.stop", "snapshot", "ptz"}
        assert all(entry["actor"] == "admin" and entry["client"] == "127.0.0.1" for entry in channel_entries)
        stop = next(entry for entry in channel_entries if entry["action"] == "live.stop")
        assert stop["details"]["duration_s"] > 0 and stop["details"]["channel_id"] == channel["id"]
        exported = client.get("/api/v1/audit/export", params={"format": "json", "action": "ptz"})
        assert [entry["action"] for entry in exported.json()] == ["ptz"]
    served.stop()

    result = _verify(served)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout

    database = served.database_url or f"sqlite:///{served.data_dir / 'clearsight.db'}"
    engine = create_engine(database.replace("+aiosqlite", ""))
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET client = '203.0.113.66' WHERE action = 'ptz'"))
        seq = connection.scalar(text("SELECT seq FROM audit_entries WHERE action = 'ptz'"))
    engine.dispose()
    result = _verify(served)
    assert result.returncode == 1
    assert f"BROKEN: first broken entry {seq} (hash mismatch)" in result.stdout


def test_logins_are_throttled_per_user_name(served: PlatformProcess) -> None:
    url = f"{served.base_url}/api/v1/auth/token"
    for _ in range(5):
        assert httpx.post(url, data={"username": "mallory", "password": "guess"}).status_code == 401
    refused = httpx.post(url, data={"username": "mallory", "password": "guess"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 30
    assert refused.headers["content-type"].startswith("application/problem+json")
    with served.client() as client:  # another user name from the same address still gets in
        failures = _entries(client, actor="mallory")
    assert [entry["action"] for entry in failures] == ["login.failure"] * 6
    assert failures[-1]["details"] == {"throttled": True, "retry_after": 30}
    assert json.dumps(failures[0]["details"]) == "{}"
