"""An API app on a real database with access control: users of each role, a department, classed channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.api_tokens import ApiTokenStore
from clearsight.access.policy import Action, ChannelClass, Grant, ScopeKind
from clearsight.access.service import AccessControl
from clearsight.access.sessions import SessionStore
from clearsight.access.store import AccessStore, NewGrant
from clearsight.access.users import Role, UserStore
from clearsight.api import ApiConfig, create_app
from clearsight.api.ports import ExportsPort
from clearsight.audit import InMemoryAuditLog
from clearsight.db import session_factory
from clearsight.media.hub import MediaSource
from clearsight.privacy.store import PrivacyMaskStore
from clearsight.registry.records import ChannelRecordIn
from clearsight.registry.store import RegistryStore
from tests.api.fakes import PASSWORD, FakeControl, FakeDatabase
from tests.api.session import SECRET, TOKEN_TTL

DEVICE_ID = "34020000001320000001"
IN_SCOPE_CIVIL_CODE = "34020000"  # region 3402, the department's grant
OUT_OF_SCOPE_CIVIL_CODE = "35010000"
GRANTED_UP_TO = ChannelClass.RESTRICTED
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# user name -> role; all but the administrator and the auditor belong to the granted department
USERS = {"admin": Role.ADMINISTRATOR, "oper": Role.OPERATOR, "view": Role.VIEWER, "audit": Role.AUDITOR,
         "maint": Role.MAINTAINER}
IN_DEPARTMENT = {"oper", "view", "maint"}


class OfflineControl(FakeControl):
    """Every device offline for video: an allowed live view answers 409, never 403."""

    async def open_live_source(self, device_id: str, channel_gb_id: str) -> MediaSource:
        from clearsight.api.ports import DeviceOffline
        raise DeviceOffline(device_id)


@dataclass(frozen=True, slots=True)
class MatrixChannel:
    id: int
    in_scope: bool
    channel_class: ChannelClass


@dataclass(slots=True)
class AccessPlatform:
    app: FastAPI
    access: AccessControl
    registry: RegistryStore
    audit: InMemoryAuditLog
    users: dict[str, int]
    department_id: int
    channels: list[MatrixChannel]
    grant: Grant
    user_store: UserStore
    sessions: SessionStore

    def expected_allowed(self, username: str, channel: MatrixChannel) -> bool:
        if USERS[username] is Role.ADMINISTRATOR:
            return True
        return (username in IN_DEPARTMENT and channel.in_scope
                and channel.channel_class.rank <= GRANTED_UP_TO.rank)


async def build_platform(engine: AsyncEngine, control: FakeControl | None = None,
                         exports: ExportsPort | None = None) -> AccessPlatform:
    """`control` answers the devices' side (default: every device offline for video); `exports` builds exports."""
    sessions = session_factory(engine)
    registry, users, store = RegistryStore(sessions), UserStore(sessions, FAST_HASHER), AccessStore(sessions)
    audit = InMemoryAuditLog()
    access = AccessControl(store, audit)
    department = await store.create_department("Traffic", "3402")
    ids: dict[str, int] = {}
    for name, role in USERS.items():
        ids[name] = int((await users.create_user(name, PASSWORD, role)).id)
        if name in IN_DEPARTMENT:
            await store.set_user_department(ids[name], department.id)
    now = datetime.now(UTC)
    await registry.upsert_device(DEVICE_ID, transport="udp", remote_host="127.0.0.1", remote_port=5060,
                                 registered_at=now, expires_at=now + timedelta(hours=1))
    wanted = []
    for index, (civil, cls) in enumerate((c, k) for c in (IN_SCOPE_CIVIL_CODE, OUT_OF_SCOPE_CIVIL_CODE)
                                         for k in ChannelClass):
        wanted.append(ChannelRecordIn(gb_id=f"3402000000131{index:07d}", name=f"{civil}-{cls}", civil_code=civil,
                                      online=True))
    await registry.replace_catalog(DEVICE_ID, wanted, [])
    page = await registry.list_channels(offset=0, limit=100, device_id=DEVICE_ID)
    channels = []
    for record in page.items:
        civil, klass = record.name.split("-")
        await store.set_channel_class(record.id, ChannelClass(klass))
        channels.append(MatrixChannel(record.id, civil == IN_SCOPE_CIVIL_CODE, ChannelClass(klass)))
    grant = await access.create_grant(
        NewGrant(actions=frozenset(Action), scope_kind=ScopeKind.REGION, scope_values=("3402",),
                 max_class=GRANTED_UP_TO, department_id=department.id), "admin", None)
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry, users=users,
                     control=control or OfflineControl(), metrics_registry=CollectorRegistry(),
                     db_ping=FakeDatabase().ping, audit_log=audit, audit_reader=audit, access=access,
                     exports=exports, sessions=SessionStore(sessions), api_tokens=ApiTokenStore(sessions),
                     privacy_masks=PrivacyMaskStore(sessions),
                     static_dir=None)
    return AccessPlatform(app, access, registry, audit, ids, department.id, channels, grant, users,
                          SessionStore(sessions))
