"""An API app built on fakes, and clients logged in with each role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from clearsight.api import ApiConfig, create_app
from tests.api.fakes import FakeControl, FakeDatabase, FakeLoginGuard, FakeRegistry, FakeUsers
from tests.api.session import BASE_URL, SECRET, TOKEN_TTL, bearer


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def login_guard() -> FakeLoginGuard:
    return FakeLoginGuard()


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    metrics = CollectorRegistry()
    Counter("clearsight_test_events", "Events counted by the test.", registry=metrics).inc(3)
    return metrics


@pytest.fixture
def app(
    registry: FakeRegistry,
    control: FakeControl,
    database: FakeDatabase,
    login_guard: FakeLoginGuard,
    metrics_registry: CollectorRegistry,
) -> FastAPI:
    return create_app(
        settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL),
        registry=registry,
        users=FakeUsers(),
        control=control,
        metrics_registry=metrics_registry,
        db_ping=database.ping,
        login_guard=login_guard,
        static_dir=None,
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: a 500 must reach the test as a response, as it reaches a browser.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, "admin")


@pytest.fixture
async def operator(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, "oper")


@pytest.fixture
async def viewer(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, "view")
