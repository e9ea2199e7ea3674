"""Fixtures of the recording tests: coded video, a migrated database's recording store, storage in a temp dir."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import session_factory
from clearsight.recording.storage import StoragePath, StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.registry.records import ChannelRecordIn
from clearsight.registry.store import RegistryStore
from tests.recording.clock_clip import make_clock_clip
from tests.recording.samples import Clip, make_clip


@pytest.fixture(scope="session")
def clip() -> Clip:
    """10 s of 160x120 H.264 at 25 fps, one keyframe a second, as hub items."""
    return make_clip(10)


@pytest.fixture(scope="session")
def clock_clip() -> Clip:
    """10 s whose pictures show their frame number (`clock_clip.py`); a keyframe a second."""
    return make_clock_clip(10)


@pytest.fixture
def recording_store(db_engine: AsyncEngine) -> RecordingStore:
    return RecordingStore(session_factory(db_engine))


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    root.mkdir()
    return root


@pytest.fixture
def pool(storage_root: Path) -> StoragePool:
    return StoragePool([StoragePath("main", storage_root, None)], min_free_bytes=0, segment_reserve=0)


DEVICE_ID = "34020000001320000001"
CHANNEL_GB_IDS = ("34020000001310000001", "34020000001310000002")


@pytest.fixture
async def channel_ids(registry_store: RegistryStore) -> list[int]:
    """Two channels of one device in the registry (policies need the channel rows)."""
    now = datetime.now(UTC)
    await registry_store.upsert_device(DEVICE_ID, transport="udp", remote_host="127.0.0.1", remote_port=5060,
                                       registered_at=now, expires_at=now + timedelta(hours=1))
    await registry_store.replace_catalog(DEVICE_ID, [ChannelRecordIn(gb_id, "cam") for gb_id in CHANNEL_GB_IDS], [])
    page = await registry_store.list_channels(device_id=DEVICE_ID)
    return [channel.id for channel in sorted(page.items, key=lambda c: c.gb_id)]
