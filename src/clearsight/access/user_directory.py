"""Users as administrators see and change them: role, department, active. Creating a user (and its password
policy) stays with `UserStore.create_user` in `access/users.py`; this module never touches passwords.

    directory = UserDirectory(sessions)
    me = await directory.profile(user_id)                     # with the department's name and home region
    page = await directory.list(limit=50, cursor=None)        # by ascending ID
    changed = await directory.update(user_id, UserChange(active=False))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.store import DepartmentRecord, UnknownDepartment
from clearsight.access.users import Role
from clearsight.registry.models import Department, User

logger = logging.getLogger(__name__)

MAX_PAGE = 200
_COLUMNS = {"role": "role", "active": "is_active", "department_id": "department_id"}  # UserChange → users


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: datetime
    department: DepartmentRecord | None


@dataclass(frozen=True, slots=True)
class UserProfilePage:
    items: tuple[UserProfile, ...]
    next_cursor: int | None  # the last user ID of this page when there may be more


@dataclass(frozen=True, slots=True)
class UserChange:
    """What to change (None: unchanged); `department_id` is only read when `set_department` is True, so a
    user can be taken out of every department."""

    role: Role | None = None
    active: bool | None = None
    set_department: bool = False
    department_id: int | None = None

    def fields(self) -> dict[str, str | bool | int | None]:
        """What changes, by field name (role, active, department_id): for the update and its audit entry."""
        fields: dict[str, str | bool | int | None] = {}
        if self.role is not None:
            fields["role"] = self.role.value
        if self.active is not None:
            fields["active"] = self.active
        if self.set_department:
            fields["department_id"] = self.department_id
        return fields


class UserDirectory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def profile(self, user_id: int) -> UserProfile | None:
        async with self._sessions() as session:
            row = (await session.execute(_with_department().where(User.id == user_id))).first()
            return _profile(row[0], row[1]) if row is not None else None

    async def list(self, *, limit: int = 50, cursor: int | None = None) -> UserProfilePage:
        limit = max(1, min(limit, MAX_PAGE))
        query = _with_department().order_by(User.id).limit(limit + 1)
        if cursor is not None:
            query = query.where(User.id > cursor)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        items = tuple(_profile(user, department) for user, department in rows[:limit])
        return UserProfilePage(items, items[-1].id if len(rows) > limit else None)

    async def update(self, user_id: int, change: UserChange) -> UserProfile | None:
        """The user as changed; None when there is no such user; raises UnknownDepartment."""
        values = {_COLUMNS[name]: value for name, value in change.fields().items()}
        async with self._sessions.begin() as session:
            if change.department_id is not None and await session.get(Department, change.department_id) is None:
                raise UnknownDepartment(change.department_id)
            if values:
                await session.execute(update(User).where(User.id == user_id).values(**values))
        profile = await self.profile(user_id)
        if profile is not None and values:
            logger.info("user %d (%s) changed: %s", user_id, profile.username, sorted(values))
        return profile


def _with_department() -> Select[User, Department]:  # Department is None outside every department
    return select(User, Department).outerjoin(Department, Department.id == User.department_id)


def _profile(user: User, department: Department | None) -> UserProfile:
    return UserProfile(id=user.id, username=user.username, role=Role(user.role), is_active=user.is_active,
                       created_at=user.created_at,
                       department=DepartmentRecord(department.id, department.name, department.home_region_code,
                                                   department.created_at) if department is not None else None)
