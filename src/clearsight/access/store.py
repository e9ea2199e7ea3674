"""Departments, users' departments, channel classes and grants in the database (frozen records out).

Channel ownership (for share requests): a channel belongs to its `owner_department_id` when one is set,
else to the department whose home region is the longest prefix of the channel's region code.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.models import AccessGrant
from clearsight.access.policy import Action, ChannelClass, Grant, HoursOfDay, ScopeKind, Subject
from clearsight.access.users import Role
from clearsight.registry.models import Channel, Department, User, utc_now

logger = logging.getLogger(__name__)


class AccessError(Exception):
    """Base of the access store's errors."""


class DepartmentExists(AccessError):
    def __init__(self, name: str) -> None:
        super().__init__(f"department {name!r} already exists")
        self.name = name


class UnknownDepartment(AccessError):
    def __init__(self, department_id: int) -> None:
        super().__init__(f"no department {department_id}")
        self.department_id = department_id


@dataclass(frozen=True, slots=True)
class DepartmentRecord:
    id: int
    name: str
    home_region_code: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelAccessFacts:
    """What access control knows of a channel (fits `policy.ChannelFacts`)."""

    id: int
    gb_id: str
    device_id: str
    region_code: str | None
    business_group_id: str | None
    channel_class: str
    owner_department_id: int | None


@dataclass(frozen=True, slots=True)
class NewGrant:
    """A grant to be created (the store assigns its ID and creation time)."""

    actions: frozenset[Action]
    scope_kind: ScopeKind
    scope_values: tuple[str, ...]
    max_class: ChannelClass
    department_id: int | None = None
    user_id: int | None = None
    hours: HoursOfDay | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    share_request_id: int | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if (self.department_id is None) == (self.user_id is None):
            raise ValueError("a grant is for exactly one department or one user")
        if not self.actions:
            raise ValueError("a grant allows at least one action")
        if not self.scope_values:
            raise ValueError("a grant's scope names at least one region, group or channel")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("a grant must end after it begins")


class AccessStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # --- departments ---

    async def create_department(self, name: str, home_region_code: str | None) -> DepartmentRecord:
        row = Department(name=name, home_region_code=home_region_code)
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                record = _department(row)
        except IntegrityError:
            raise DepartmentExists(name) from None
        logger.info("department %d %r created (home region %s)", record.id, name, home_region_code)
        return record

    async def list_departments(self) -> list[DepartmentRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(select(Department).order_by(Department.id))
            return [_department(row) for row in rows]

    async def get_department(self, department_id: int) -> DepartmentRecord | None:
        async with self._sessions() as session:
            row = await session.get(Department, department_id)
            return _department(row) if row is not None else None

    async def set_user_department(self, user_id: int, department_id: int | None) -> bool:
        """False when there is no such user; raises UnknownDepartment."""
        async with self._sessions.begin() as session:
            # a no-op write first takes SQLite's write lock before any read (see _claim_grant)
            claimed = await session.execute(update(User).where(User.id == user_id).values(id=User.id))
            if department_id is not None and await session.get(Department, department_id) is None:
                raise UnknownDepartment(department_id)
            await session.execute(update(User).where(User.id == user_id).values(department_id=department_id))
            return bool(getattr(claimed, "rowcount", 0))

    async def subject(self, user_id: int) -> Subject | None:
        """The active user as access control sees them (role and department as stored now)."""
        async with self._sessions() as session:
            user = await session.get(User, user_id)
            if user is None or not user.is_active:
                return None
            return Subject(user.id, user.username, Role(user.role), user.department_id)

    # --- channels ---

    async def channel_facts(self, channel_id: int) -> ChannelAccessFacts | None:
        async with self._sessions() as session:
            row = await session.get(Channel, channel_id)
            if row is None:
                return None
            return _facts(row)

    async def device_channel_facts(self, device_id: str, gb_ids: Sequence[str]) -> list[ChannelAccessFacts]:
        """Those of `gb_ids` that are channels of the device (the others are not in its catalog)."""
        if not gb_ids:
            return []
        async with self._sessions() as session:
            rows = await session.scalars(select(Channel).where(Channel.device_id == device_id,
                                                               Channel.gb_id.in_(gb_ids)))
            return [_facts(row) for row in rows]

    async def set_channel_class(self, channel_id: int, channel_class: ChannelClass) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Channel).where(Channel.id == channel_id).values(channel_class=channel_class.value))
            return bool(getattr(result, "rowcount", 0))

    async def set_channel_owner(self, channel_id: int, department_id: int | None) -> bool:
        async with self._sessions.begin() as session:
            claimed = await session.execute(update(Channel).where(Channel.id == channel_id).values(id=Channel.id))
            if department_id is not None and await session.get(Department, department_id) is None:
                raise UnknownDepartment(department_id)
            await session.execute(
                update(Channel).where(Channel.id == channel_id).values(owner_department_id=department_id))
            return bool(getattr(claimed, "rowcount", 0))

    async def owner_of(self, channel: ChannelAccessFacts) -> int | None:
        """The department owning the channel (module docstring), None when no department does."""
        if channel.owner_department_id is not None:
            return channel.owner_department_id
        if channel.region_code is None:
            return None
        departments = await self.list_departments()
        owners = [d for d in departments if d.home_region_code and channel.region_code.startswith(d.home_region_code)]
        if not owners:
            return None
        return max(owners, key=lambda d: (len(d.home_region_code or ""), -d.id)).id

    # --- grants ---

    async def create_grant(self, grant: NewGrant, created_by: str, session: AsyncSession | None = None) -> Grant:
        row = AccessGrant(
            id=uuid.uuid4().hex, department_id=grant.department_id, user_id=grant.user_id,
            actions=",".join(sorted(a.value for a in grant.actions)), scope_kind=grant.scope_kind.value,
            scope_values=list(grant.scope_values), max_class=grant.max_class.value,
            hours_start=grant.hours.start_minute if grant.hours else None,
            hours_end=grant.hours.end_minute if grant.hours else None,
            hours_zone=grant.hours.zone if grant.hours else None,
            valid_from=grant.valid_from, valid_until=grant.valid_until, share_request_id=grant.share_request_id,
            note=grant.note, created_by=created_by, created_at=utc_now())
        if session is not None:
            session.add(row)
            await session.flush()
            return _grant(row)
        try:
            async with self._sessions.begin() as own:
                own.add(row)
                await own.flush()
                return _grant(row)
        except IntegrityError as exc:  # a department or user that does not exist
            raise AccessError(f"grant refers to an unknown department or user: {exc.orig}") from None

    async def get_grant(self, grant_id: str) -> Grant | None:
        async with self._sessions() as session:
            row = await session.get(AccessGrant, grant_id)
            return _grant(row) if row is not None else None

    async def list_grants(self, *, department_id: int | None = None, user_id: int | None = None,
                          include_revoked: bool = False) -> list[Grant]:
        query = select(AccessGrant).order_by(AccessGrant.created_at, AccessGrant.id)
        if department_id is not None:
            query = query.where(AccessGrant.department_id == department_id)
        if user_id is not None:
            query = query.where(AccessGrant.user_id == user_id)
        if not include_revoked:
            query = query.where(AccessGrant.revoked_at.is_(None))
        async with self._sessions() as session:
            return [_grant(row) for row in await session.scalars(query)]

    async def grants_for(self, subject: Subject, now: datetime) -> list[Grant]:
        """The subject's grants (their own and their department's) not revoked and not yet over."""
        whom = [AccessGrant.user_id == subject.user_id]
        if subject.department_id is not None:
            whom.append(AccessGrant.department_id == subject.department_id)
        query = select(AccessGrant).where(
            or_(*whom), AccessGrant.revoked_at.is_(None),
            or_(AccessGrant.valid_until.is_(None), AccessGrant.valid_until > now))
        async with self._sessions() as session:
            return [_grant(row) for row in await session.scalars(query)]

    async def revoke_grant(self, grant_id: str, revoked_by: str, session: AsyncSession | None = None
                           ) -> Grant | None:
        """Stamp the grant revoked (once: a second revocation keeps the first); None when there is none."""
        async def revoke(s: AsyncSession) -> Grant | None:
            row = await _claim_grant(s, grant_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = utc_now(), revoked_by
                await s.flush()
            return _grant(row)

        if session is not None:
            return await revoke(session)
        async with self._sessions.begin() as own:
            return await revoke(own)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions


async def _claim_grant(session: AsyncSession, grant_id: str) -> AccessGrant | None:
    """The grant row after a write on it as the transaction's first statement: on SQLite a transaction that
    reads first and writes later fails at once with "database is locked" when another writer committed in
    between (a stale snapshot cannot be upgraded); writing first takes the lock up front, waiting for it."""
    await session.execute(update(AccessGrant).where(AccessGrant.id == grant_id).values(id=AccessGrant.id))
    return await session.get(AccessGrant, grant_id)


def _department(row: Department) -> DepartmentRecord:
    return DepartmentRecord(row.id, row.name, row.home_region_code, row.created_at)


def _grant(row: AccessGrant) -> Grant:
    hours = None
    if row.hours_start is not None and row.hours_end is not None:
        hours = HoursOfDay(row.hours_start, row.hours_end, row.hours_zone or "UTC")
    return Grant(
        id=row.id, department_id=row.department_id, user_id=row.user_id,
        actions=frozenset(Action(a) for a in row.actions.split(",") if a),
        scope_kind=ScopeKind(row.scope_kind), scope_values=tuple(str(v) for v in row.scope_values),
        max_class=ChannelClass(row.max_class), created_by=row.created_by, created_at=row.created_at,
        hours=hours, valid_from=row.valid_from, valid_until=row.valid_until, revoked_at=row.revoked_at,
        share_request_id=row.share_request_id, note=row.note)


__all__: Sequence[str] = ("AccessStore", "ChannelAccessFacts", "DepartmentRecord", "NewGrant")


def _facts(row: Channel) -> ChannelAccessFacts:
    return ChannelAccessFacts(row.id, row.gb_id, row.device_id, row.region_code, row.business_group_id,
                              row.channel_class, row.owner_department_id)
