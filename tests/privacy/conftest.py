"""Fixtures of the privacy mask tests: a signing key and the platform of tests/privacy/platform.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.recording.thumbnails import keyframe_to_thumbnail
from clearsight.signing import SigningKey, load_or_create_signing_key
from tests.api.session import BASE_URL
from tests.privacy.platform import PrivacyPlatform, privacy_platform
from tests.recording.samples import encode_frames


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_create_signing_key(tmp_path_factory.mktemp("key") / "signing_key.pem")


@pytest.fixture(scope="session")
def thumbnail_jpeg() -> bytes:
    return keyframe_to_thumbnail(encode_frames(1, width=320, height=180)[0])


@pytest.fixture
async def platform(db_engine: AsyncEngine, tmp_path: Path, signing_key: SigningKey,
                   thumbnail_jpeg: bytes) -> AsyncIterator[PrivacyPlatform]:
    async with privacy_platform(db_engine, tmp_path, signing_key, thumbnail_jpeg) as running:
        yield running


@pytest.fixture
async def client(platform: PrivacyPlatform) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=platform.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
