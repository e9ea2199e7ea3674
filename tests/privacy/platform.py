"""An API app on a real database with access control, privacy masks, a stream hub fed by a clip, a recorded
channel and an export runner: enough to see masks applied to snapshots, thumbnails and exports.

Users, each with a grant of their own on region 3402 (the masked channel): `admin` (administrator), and the
operators `oper` (live, playback, export, manage: no lift), `lifter` (everything, lift_mask included),
`viewer` (live only), `player` (playback only), `manager` (manage only); `reader` is a viewer by role with
every action granted (roles still bound what a grant allows).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import Action, ChannelClass, ScopeKind
from clearsight.access.service import AccessControl
from clearsight.access.store import AccessStore, NewGrant
from clearsight.access.users import Role, UserStore
from clearsight.api import ApiConfig, create_app
from clearsight.audit import InMemoryAuditLog
from clearsight.db import session_factory
from clearsight.export.runner import ExportRunner
from clearsight.export.store import ExportStore
from clearsight.media.hub import StreamHub
from clearsight.privacy.store import PrivacyMaskStore
from clearsight.registry.records import ChannelRecordIn
from clearsight.registry.store import RegistryStore
from clearsight.signing import SigningKey
from tests.api.fakes import PASSWORD, FakeControl, FakeDatabase
from tests.api.session import SECRET, TOKEN_TTL
from tests.export.conftest import PLATFORM_ID, T0
from tests.export.recordings import STORAGE, insert_segments, record
from tests.recording.fake_stream import FakeStreams
from tests.recording.samples import encode_frames

DEVICE_ID = "34020000001320000001"
MASKED_GB_ID = "34020000001310000001"
OTHER_GB_ID = "34020000001310000002"  # region 3501: outside every grant
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LIVE_WIDTH, LIVE_HEIGHT = 160, 120
RECORDED_SECONDS = 4
USERS: dict[str, tuple[Role, frozenset[Action]]] = {
    "admin": (Role.ADMINISTRATOR, frozenset()),
    "oper": (Role.OPERATOR, frozenset({Action.LIVE, Action.PLAYBACK, Action.EXPORT, Action.MANAGE})),
    "lifter": (Role.OPERATOR, frozenset(Action)),
    "viewer": (Role.OPERATOR, frozenset({Action.LIVE})),
    "player": (Role.OPERATOR, frozenset({Action.PLAYBACK})),
    "manager": (Role.OPERATOR, frozenset({Action.MANAGE})),
    "reader": (Role.VIEWER, frozenset(Action)),
}


class FixedThumbnails:
    """The recording port's thumbnail lookup, answering one stored JPEG for any moment."""

    def __init__(self, jpeg: bytes, at: datetime) -> None:
        self.jpeg, self.at = jpeg, at

    async def thumbnail(self, channel_id: int, at: datetime) -> tuple[datetime, bytes] | None:
        return self.at, self.jpeg

    async def has_recordings(self, channel_id: int) -> bool:
        return True


@dataclass(slots=True)
class PrivacyPlatform:
    app: FastAPI
    masks: PrivacyMaskStore
    audit: InMemoryAuditLog
    exports: ExportRunner
    thumbnails: FixedThumbnails
    channel_id: int  # MASKED_GB_ID, in region 3402, recorded T0 … T0 + RECORDED_SECONDS
    other_channel_id: int


@contextlib.asynccontextmanager
async def privacy_platform(engine: AsyncEngine, tmp_path: Path, key: SigningKey, thumbnail_jpeg: bytes = b"", *,
                           exports_at_once: int = 2) -> AsyncIterator[PrivacyPlatform]:
    sessions = session_factory(engine)
    registry, users, store = RegistryStore(sessions), UserStore(sessions, FAST_HASHER), AccessStore(sessions)
    audit = InMemoryAuditLog()
    access = AccessControl(store, audit)
    await registry.upsert_device(DEVICE_ID, transport="udp", remote_host="127.0.0.1", remote_port=5060,
                                 registered_at=T0, expires_at=T0 + timedelta(days=3650))
    await registry.replace_catalog(DEVICE_ID, [ChannelRecordIn(MASKED_GB_ID, name="Street", civil_code="34020000"),
                                               ChannelRecordIn(OTHER_GB_ID, name="Elsewhere", civil_code="35010000")],
                                   [])
    ids = {c.gb_id: c.id for c in (await registry.list_channels()).items}
    for name, (role, actions) in USERS.items():
        user = await users.create_user(name, PASSWORD, role)
        if actions:
            await access.create_grant(NewGrant(actions=actions, scope_kind=ScopeKind.REGION, scope_values=("3402",),
                                               max_class=ChannelClass.SENSITIVE, user_id=int(user.id)), "admin", None)
    recordings = tmp_path / "recordings"
    await insert_segments(sessions, ids[MASKED_GB_ID], record(recordings, MASKED_GB_ID, T0, RECORDED_SECONDS))
    masks = PrivacyMaskStore(sessions)
    exports = ExportRunner(ExportStore(sessions), registry, exports_dir=tmp_path / "exports",
                           storage_roots={STORAGE: recordings}, signing_key=key, platform_id=PLATFORM_ID,
                           max_running=exports_at_once, masks=masks)
    hub = StreamHub(grace_period=0.2)
    streams = FakeStreams(hub, encode_frames(25, width=LIVE_WIDTH, height=LIVE_HEIGHT), speed=4.0)
    thumbnails = FixedThumbnails(thumbnail_jpeg, T0)
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry, users=users,
                     control=FakeControl(), metrics_registry=CollectorRegistry(), db_ping=FakeDatabase().ping,
                     audit_log=audit, audit_reader=audit, streams=streams,  # type: ignore[arg-type]
                     exports=exports, recordings=thumbnails,  # type: ignore[arg-type]
                     access=access, privacy_masks=masks, static_dir=None)
    await exports.start()
    try:
        yield PrivacyPlatform(app, masks, audit, exports, thumbnails, ids[MASKED_GB_ID], ids[OTHER_GB_ID])
    finally:
        await exports.close()
        await hub.close()
