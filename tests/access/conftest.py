"""The access-controlled API on a real database, and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.access.platform import AccessPlatform, build_platform
from tests.api.session import BASE_URL


@pytest.fixture
async def platform(db_engine: AsyncEngine) -> AccessPlatform:
    return await build_platform(db_engine)


@pytest.fixture
async def client(platform: AccessPlatform) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=platform.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
