"""Users and their passwords (Argon2id), which must pass the `PasswordPolicy` whenever one is set.

Hashing is deliberately slow (tens of milliseconds and 64 MiB per hash), so `UserStore` always hashes
and verifies in a worker thread, never on the event loop. Signing in as an unknown user costs the same
verification as a known one, so response times do not tell which user names exist.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import exists, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.password_policy import MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH
from clearsight.access.password_policy import PasswordPolicy
from clearsight.access.password_policy import WeakPassword as WeakPassword
from clearsight.registry.models import Base, User, utc_now

logger = logging.getLogger(__name__)

MAX_USERNAME_LENGTH = 64

_USERS = Base.metadata.tables["users"]
_default_hasher = PasswordHasher()


class Role(StrEnum):
    """What a user is there for; what each may do is decided in `access`."""

    ADMINISTRATOR = "administrator"
    OPERATOR = "operator"
    VIEWER = "viewer"
    AUDITOR = "auditor"
    MAINTAINER = "maintainer"


class UserError(Exception):
    """Base of the user store's errors."""


class UserExists(UserError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists")
        self.username = username


class InvalidUsername(UserError, ValueError):
    def __init__(self, username: str, reason: str) -> None:
        super().__init__(f"invalid user name {username!r}: {reason}")
        self.username = username
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: datetime


def hash_password(password: str, hasher: PasswordHasher = _default_hasher) -> str:
    """An Argon2id hash of `password` (blocking, CPU-heavy: call it in a thread from async code)."""
    return hasher.hash(password)


def verify_password(password_hash: str, password: str, hasher: PasswordHasher = _default_hasher) -> bool:
    """Whether `password` matches `password_hash` (blocking, CPU-heavy); False for a malformed hash."""
    try:
        return hasher.verify(password_hash, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        logger.warning("password hash could not be verified (malformed or unsupported)")
        return False


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the user does not exist, costing what a real one costs."""
    return hasher.hash("no such user: this password never matches")


class UserStore:
    """Users in the database. Hashing runs in worker threads."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], hasher: PasswordHasher | None = None,
        policy: PasswordPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._hasher = hasher or _default_hasher
        self.policy = policy or PasswordPolicy()

    async def create_user(self, username: str, password: str, role: Role | str) -> UserRecord:
        """Create an active user; raises UserExists, InvalidUsername, WeakPassword or ValueError (role)."""
        role = Role(role)
        _check_username(username)
        self.policy.check(username, password)
        password_hash = await asyncio.to_thread(hash_password, password, self._hasher)
        user = User(username=username, password_hash=password_hash, role=role.value, is_active=True)
        try:
            async with self._sessions.begin() as session:
                session.add(user)
                await session.flush()
                record = _record(user)
        except IntegrityError:
            raise UserExists(username) from None
        logger.info("user %s created with role %s", username, role)
        return record

    async def get_user(self, username: str) -> UserRecord | None:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
            return _record(user) if user is not None else None

    async def get_user_by_id(self, user_id: int) -> UserRecord | None:
        async with self._sessions() as session:
            user = await session.get(User, user_id)
            return _record(user) if user is not None else None

    async def change_password(self, user_id: int, new_password: str) -> UserRecord | None:
        """Set a new password (it must pass the policy; raises WeakPassword); None when there is no such user."""
        user = await self.get_user_by_id(user_id)
        if user is None:
            return None
        self.policy.check(user.username, new_password)
        password_hash = await asyncio.to_thread(hash_password, new_password, self._hasher)
        async with self._sessions.begin() as session:
            await session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
        logger.info("user %s: password changed", user.username)
        return user

    async def set_active(self, user_id: int, active: bool) -> UserRecord | None:
        """Enable or disable the account; None when there is no such user."""
        async with self._sessions.begin() as session:  # the write first: SQLite upgrades no read lock
            await session.execute(update(User).where(User.id == user_id).values(is_active=active))
            user = await session.get(User, user_id)
            if user is None:
                return None
            record = _record(user)
        logger.info("user %s %s", record.username, "enabled" if active else "disabled")
        return record

    async def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user when the password matches and the account is active, else None."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            dummy = await asyncio.to_thread(_dummy_hash, self._hasher)
            await asyncio.to_thread(verify_password, dummy, password, self._hasher)
            return None
        if not await asyncio.to_thread(verify_password, user.password_hash, password, self._hasher):
            logger.info("user %s: wrong password", username)
            return None
        if not user.is_active:
            logger.info("user %s: account disabled", username)
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            await self._rehash(user.id, user.password_hash, password)
        return _record(user)

    async def ensure_admin(self, username: str, password: str) -> bool:
        """Create `username` as administrator if there is no user at all; True when it was created.

        Idempotent: the insert happens only while the table is empty, so concurrent starts with the same
        settings create one administrator.
        """
        async with self._sessions() as session:
            if await session.scalar(select(exists().select_from(User))):
                return False
        _check_username(username)
        self.policy.check(username, password)
        password_hash = await asyncio.to_thread(hash_password, password, self._hasher)
        values = select(
            literal(username),
            literal(password_hash),
            literal(Role.ADMINISTRATOR.value),
            literal(True),
            literal(utc_now(), type_=_USERS.c.created_at.type),
        ).where(~exists().select_from(_USERS))
        insert = (
            _USERS.insert()
            .from_select(["username", "password_hash", "role", "is_active", "created_at"], values)
            .returning(_USERS.c.id)
        )
        try:
            async with self._sessions.begin() as session:
                created = (await session.execute(insert)).first() is not None
        except IntegrityError:
            return False  # a concurrent start created the same user first
        if created:
            logger.info("first administrator %s created", username)
        return created

    async def _rehash(self, user_id: int, old_hash: str, password: str) -> None:
        new_hash = await asyncio.to_thread(hash_password, password, self._hasher)
        async with self._sessions.begin() as session:
            await session.execute(
                update(User)
                .where(User.id == user_id, User.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
        logger.info("user %d: password rehashed with current parameters", user_id)


def _check_username(username: str) -> None:
    if not username or username != username.strip():
        raise InvalidUsername(username, "empty, or spaces around it")
    if len(username) > MAX_USERNAME_LENGTH:
        raise InvalidUsername(username, f"longer than {MAX_USERNAME_LENGTH} characters")
    if not username.isprintable():
        raise InvalidUsername(username, "contains control characters")


def _record(user: User) -> UserRecord:
    return UserRecord(user.id, user.username, Role(user.role), user.is_active, user.created_at)
