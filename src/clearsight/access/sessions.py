"""Server-side sign-in sessions: one row per login, which every token of that login names (`sid`).

`SessionStore` keeps them in the database; `InMemorySessionStore` is the same for an API built without one
(tests of other concerns, embedding). Both only store: deciding that a token's session still holds, and
caching revocations, is `clearsight.api.sessions.SessionGuard`'s job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.credential_models import CLIENT_LENGTH, USER_AGENT_LENGTH, AuthSession
from clearsight.registry.models import User


class SessionKind(StrEnum):
    BEARER = "bearer"  # the token is handed to the client (POST /auth/token)
    COOKIE = "cookie"  # the token is kept in an HttpOnly cookie (POST /auth/session)


@dataclass(frozen=True, slots=True)
class NewSession:
    user_id: int
    username: str
    kind: SessionKind
    created_at: datetime
    expires_at: datetime
    client: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: int
    username: str
    kind: SessionKind
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: str | None
    user_agent: str | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def _new_id() -> str:
    return uuid.uuid4().hex


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


class SessionStore:
    """Sessions in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, new: NewSession) -> SessionRecord:
        row = AuthSession(id=_new_id(), user_id=new.user_id, kind=new.kind.value, created_at=new.created_at,
                          last_seen_at=new.created_at, expires_at=new.expires_at,
                          client=_cut(new.client, CLIENT_LENGTH), user_agent=_cut(new.user_agent, USER_AGENT_LENGTH))
        async with self._sessions.begin() as session:
            session.add(row)
        return _record(row, new.username)

    async def get(self, session_id: str) -> SessionRecord | None:
        async with self._sessions() as session:
            found = (await session.execute(_with_username().where(AuthSession.id == session_id))).first()
        return _record(found[0], found[1]) if found is not None else None

    async def list_sessions(self, user_id: int | None, now: datetime) -> Sequence[SessionRecord]:
        """Sessions still active at `now`, newest first; of `user_id` only when given."""
        query = _with_username().where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)
        if user_id is not None:
            query = query.where(AuthSession.user_id == user_id)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(AuthSession.created_at.desc(), AuthSession.id))).all()
        return [_record(row, username) for row, username in rows]

    async def touch(self, session_id: str, at: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(AuthSession).where(AuthSession.id == session_id)
                                  .values(last_seen_at=at))

    async def revoke(self, session_ids: Sequence[str], by: str, at: datetime) -> None:
        """Stamp the sessions revoked (those already revoked keep their first stamp)."""
        if not session_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(update(AuthSession)
                                  .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
                                  .values(revoked_at=at, revoked_by=by))

    async def revoked_unexpired(self, now: datetime) -> dict[str, datetime]:
        """Revoked sessions whose tokens have not expired yet: session ID -> expiry."""
        query = select(AuthSession.id, AuthSession.expires_at).where(AuthSession.revoked_at.is_not(None),
                                                                     AuthSession.expires_at > now)
        async with self._sessions() as session:
            return {session_id: expires for session_id, expires in (await session.execute(query)).all()}


def _with_username() -> Select[AuthSession, str]:
    return select(AuthSession, User.username).join(User, User.id == AuthSession.user_id)


def _record(row: AuthSession, username: str) -> SessionRecord:
    return SessionRecord(row.id, row.user_id, username, SessionKind(row.kind), row.created_at, row.last_seen_at,
                         row.expires_at, row.client, row.user_agent, row.revoked_at, row.revoked_by)


class InMemorySessionStore:
    """Sessions in a dict, for an API built without a database (`create_app`'s default)."""

    def __init__(self) -> None:
        self._rows: dict[str, SessionRecord] = {}

    async def create(self, new: NewSession) -> SessionRecord:
        record = SessionRecord(_new_id(), new.user_id, new.username, new.kind, new.created_at, new.created_at,
                               new.expires_at, _cut(new.client, CLIENT_LENGTH),
                               _cut(new.user_agent, USER_AGENT_LENGTH))
        self._rows[record.id] = record
        return record

    async def get(self, session_id: str) -> SessionRecord | None:
        return self._rows.get(session_id)

    async def list_sessions(self, user_id: int | None, now: datetime) -> Sequence[SessionRecord]:
        found = [r for r in self._rows.values() if r.active_at(now) and user_id in (None, r.user_id)]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    async def touch(self, session_id: str, at: datetime) -> None:
        if (record := self._rows.get(session_id)) is not None:
            self._rows[session_id] = replace(record, last_seen_at=at)

    async def revoke(self, session_ids: Sequence[str], by: str, at: datetime) -> None:
        for session_id in session_ids:
            record = self._rows.get(session_id)
            if record is not None and record.revoked_at is None:
                self._rows[session_id] = replace(record, revoked_at=at, revoked_by=by)

    async def revoked_unexpired(self, now: datetime) -> dict[str, datetime]:
        return {r.id: r.expires_at for r in self._rows.values() if r.revoked_at is not None and now < r.expires_at}
