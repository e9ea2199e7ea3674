"""A database with a device, two channels and their recorded segments, and an export runner on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.export.runner import ExportRunner
from clearsight.export.store import ExportStore
from clearsight.registry.records import ChannelRecordIn
from clearsight.registry.store import RegistryStore
from clearsight.signing import SigningKey
from tests.export.conftest import GB_ID, OTHER_GB_ID, PLATFORM_ID, T0
from tests.export.recordings import STORAGE, insert_segments, record

DEVICE_ID = "34020000001320000001"


@dataclass(frozen=True, slots=True)
class RecordedPlatform:
    sessions: async_sessionmaker[AsyncSession]
    registry: RegistryStore
    store: ExportStore
    recordings: Path
    exports_dir: Path
    channel_ids: tuple[int, int]  # GB_ID (recorded 0–6 s and 8–12 s after T0), OTHER_GB_ID (2–6 s)

    def runner(self, key: SigningKey, *, max_running: int = 2) -> ExportRunner:
        return ExportRunner(self.store, self.registry, exports_dir=self.exports_dir,
                            storage_roots={STORAGE: self.recordings}, signing_key=key, platform_id=PLATFORM_ID,
                            max_running=max_running)


async def recorded_platform(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> RecordedPlatform:
    registry = RegistryStore(sessions)
    await registry.upsert_device(DEVICE_ID, name="NVR", transport="UDP", remote_host="127.0.0.1", remote_port=5060,
                                 registered_at=T0, expires_at=T0 + timedelta(hours=1))
    await registry.replace_catalog(DEVICE_ID, [ChannelRecordIn(GB_ID, name="Gate"),
                                               ChannelRecordIn(OTHER_GB_ID, name="Yard")], [])
    ids = {c.gb_id: c.id for c in (await registry.list_channels()).items}
    recordings = tmp_path / "recordings"
    await insert_segments(sessions, ids[GB_ID], record(recordings, GB_ID, T0, 6)
                          + record(recordings, GB_ID, T0 + timedelta(seconds=8), 4))
    await insert_segments(sessions, ids[OTHER_GB_ID], record(recordings, OTHER_GB_ID, T0 + timedelta(seconds=2), 4))
    return RecordedPlatform(sessions, registry, ExportStore(sessions), recordings, tmp_path / "exports",
                            (ids[GB_ID], ids[OTHER_GB_ID]))
