"""Device admission in the database: unknown devices' attempts, approval (a `devices` row) and rejection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clearsight.registry import catalog_writer as writer
from clearsight.registry.admission_models import DeviceAdmission
from clearsight.registry.catalog_writer import DEVICES
from clearsight.registry.models import TEXT_LENGTH, Base
from clearsight.registry.records import Transport
from clearsight.registry.store import RegistryStore

ADMISSIONS: Table = Base.metadata.tables[DeviceAdmission.__tablename__]


class AdmissionState(StrEnum):
    PENDING = "pending"  # held: refused (403) until an administrator approves
    REJECTED = "rejected"  # refused for good, whatever CLEARSIGHT_UNKNOWN_DEVICES says


@dataclass(frozen=True, slots=True)
class RegisterAttempt:
    device_id: str
    transport: str  # "udp" | "tcp"
    remote_host: str
    remote_port: int
    user_agent: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AdmissionRecord:
    device_id: str
    state: AdmissionState
    transport: str
    remote_host: str
    remote_port: int
    user_agent: str | None
    attempts: int
    first_seen: datetime
    last_seen: datetime
    decided_by: str | None
    decided_at: datetime | None


class AdmissionStore:
    """Writes share the registry's write queue (the approval writes a `devices` row)."""

    def __init__(self, registry: RegistryStore) -> None:
        self._registry = registry

    async def is_registered(self, device_id: str) -> bool:
        """The device has a `devices` row (it registered before, or was approved)."""
        return await self._registry.get_device(device_id) is not None

    async def states(self) -> dict[str, AdmissionState]:
        """Every held or rejected device ID and its state."""
        async with self._registry.read_session() as session:
            rows = await session.execute(select(ADMISSIONS.c.device_id, ADMISSIONS.c.state))
            return {device_id: AdmissionState(state) for device_id, state in rows}

    async def record_attempt(self, attempt: RegisterAttempt) -> None:
        """A REGISTER of a device not admitted: a new pending row, or one more attempt on its row."""
        values = {"transport": Transport(attempt.transport.lower()).value, "remote_host": attempt.remote_host,
                  "remote_port": attempt.remote_port, "last_seen": attempt.at,
                  "user_agent": _clean(attempt.user_agent)}
        async with self._registry.write_transaction() as session:
            insert = writer.insert_for(session, ADMISSIONS).values(
                device_id=attempt.device_id, state=AdmissionState.PENDING.value, attempts=1,
                first_seen=attempt.at, **values)
            await session.execute(insert.on_conflict_do_update(
                index_elements=["device_id"], set_={**values, "attempts": ADMISSIONS.c.attempts + 1}))

    async def list_admissions(self, state: AdmissionState | None = None) -> list[AdmissionRecord]:
        """Most recently seen first."""
        query = select(DeviceAdmission).order_by(DeviceAdmission.last_seen.desc(), DeviceAdmission.device_id)
        if state is not None:
            query = query.where(DeviceAdmission.state == state.value)
        async with self._registry.read_session() as session:
            return [_record(row) for row in await session.scalars(query)]

    async def get(self, device_id: str) -> AdmissionRecord | None:
        async with self._registry.read_session() as session:
            row = await session.get(DeviceAdmission, device_id)
            return _record(row) if row is not None else None

    async def approve(self, device_id: str, password: str | None, at: datetime) -> AdmissionRecord | None:
        """Move a held (or rejected) device into the registry, offline until it registers; None: no such row."""
        async with self._registry.write_transaction() as session:
            row = await session.get(DeviceAdmission, device_id)
            if row is None:
                return None
            record = _record(row)
            insert = writer.insert_for(session, DEVICES).values(
                id=device_id, transport=record.transport, remote_host=record.remote_host,
                remote_port=record.remote_port, password=password, online=False, channel_count=0,
                created_at=at, updated_at=at)
            if password is None:
                await session.execute(insert.on_conflict_do_nothing(index_elements=["id"]))
            else:
                await session.execute(insert.on_conflict_do_update(index_elements=["id"],
                                                                   set_={"password": password, "updated_at": at}))
            await session.execute(delete(ADMISSIONS).where(ADMISSIONS.c.device_id == device_id))
            return record

    async def reject(self, device_id: str, by: str, at: datetime) -> AdmissionRecord | None:
        """Mark the device rejected (it stays listed); None: no such row."""
        async with self._registry.write_transaction() as session:
            await session.execute(update(ADMISSIONS).where(ADMISSIONS.c.device_id == device_id).values(
                state=AdmissionState.REJECTED.value, decided_by=by, decided_at=at))
            row = await _fresh(session, device_id)
            return _record(row) if row is not None else None


async def _fresh(session: AsyncSession, device_id: str) -> DeviceAdmission | None:
    return await session.get(DeviceAdmission, device_id, populate_existing=True)


def _clean(text: str | None) -> str | None:
    """Device-sent text as stored: printable, bounded."""
    if text is None:
        return None
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return cleaned[:TEXT_LENGTH] or None


def _record(row: DeviceAdmission) -> AdmissionRecord:
    return AdmissionRecord(row.device_id, AdmissionState(row.state), row.transport, row.remote_host, row.remote_port,
                           row.user_agent, row.attempts, row.first_seen, row.last_seen, row.decided_by,
                           row.decided_at)
