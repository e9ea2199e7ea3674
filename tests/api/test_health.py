"""`GET /healthz` (public) and `GET /metrics` (bearer token)."""

from __future__ import annotations

import httpx
import pytest

from clearsight.api.routers import health
from tests.api.fakes import FakeControl, FakeDatabase
from tests.api.session import assert_problem


async def test_healthy(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "sip": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_database_down_is_503(client: httpx.AsyncClient, database: FakeDatabase) -> None:
    database.up = False

    response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "sip": "ok"}


async def test_sip_down_is_503(client: httpx.AsyncClient, control: FakeControl) -> None:
    control.healthy = False

    response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "sip": "error"}


async def test_database_ping_error_is_503(client: httpx.AsyncClient, database: FakeDatabase) -> None:
    database.error = ConnectionRefusedError("database unreachable")

    response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"


async def test_slow_database_is_503(
    client: httpx.AsyncClient, database: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.delay = 10
    monkeypatch.setattr(health, "DB_PING_TIMEOUT", 0.01)

    response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"


async def test_metrics_need_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/metrics"), 401)


async def test_metrics_exposition(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/metrics", headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "clearsight_test_events_total 3.0" in response.text
