"""API tokens for machines: a secret shown once (`cs_…`), stored as its SHA-256, acting as its user within
its scopes until it expires or is revoked. What each scope admits is decided in `clearsight.api.security`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.credential_models import SECRET_PREFIX_LENGTH, ApiToken
from clearsight.access.users import Role, UserRecord
from clearsight.registry.models import User, utc_now

logger = logging.getLogger(__name__)

API_TOKEN_PREFIX = "cs_"  # tells an API token from a JWT in an Authorization header
SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(seconds=60)  # last_used_at is written at most this often per token


class ApiTokenScope(StrEnum):
    READ = "read"  # safe methods (GET) on every route the user may read
    WRITE = "write"  # unsafe methods (POST, PUT, DELETE) on every route the user may use
    METRICS_READ = "metrics:read"  # GET /metrics only: a Prometheus scrape credential


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    id: str
    user_id: int
    username: str
    name: str
    scopes: frozenset[ApiTokenScope]
    secret_prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class ApiTokenOwner:
    """A verified API token and the active user it acts as."""

    token: ApiTokenRecord
    user: UserRecord


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, user_id: int, name: str, scopes: frozenset[ApiTokenScope],
                     expires_at: datetime | None) -> tuple[ApiTokenRecord, str]:
        """A new token and its secret (returned here only; the database keeps its hash)."""
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        row = ApiToken(id=uuid.uuid4().hex, user_id=user_id, name=name, scopes=_joined(scopes),
                       secret_hash=secret_hash(secret), secret_prefix=secret[:SECRET_PREFIX_LENGTH],
                       created_at=utc_now(), expires_at=expires_at)
        async with self._sessions.begin() as session:
            session.add(row)
            username = await session.scalar(select(User.username).where(User.id == user_id))
        logger.info("API token %s (%s) created for user %d with scopes %s", row.id, name, user_id, row.scopes)
        return _record(row, username or "?"), secret

    async def get(self, token_id: str) -> ApiTokenRecord | None:
        async with self._sessions() as session:
            found = (await session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                                           .where(ApiToken.id == token_id))).first()
        return _record(*found) if found is not None else None

    async def list_tokens(self, user_id: int | None) -> Sequence[ApiTokenRecord]:
        """Every token (revoked and expired ones too), newest first; of `user_id` only when given."""
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id))).all()
        return [_record(row, username) for row, username in rows]

    async def revoke(self, token_id: str, by: str) -> ApiTokenRecord | None:
        """Revoke the token; None when there is no such token or it was already revoked."""
        async with self._sessions.begin() as session:
            result = await session.execute(update(ApiToken).where(ApiToken.id == token_id,
                                                                  ApiToken.revoked_at.is_(None))
                                           .values(revoked_at=utc_now(), revoked_by=by))
        if result.rowcount == 0:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
            return None
        logger.info("API token %s revoked by %s", token_id, by)
        return await self.get(token_id)

    async def authenticate(self, secret: str, now: datetime) -> ApiTokenOwner | None:
        """The token with this secret if it is active and its user too; records its use."""
        query = (select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                 .where(ApiToken.secret_hash == secret_hash(secret)))
        async with self._sessions() as session:
            found = (await session.execute(query)).first()
        if found is None:
            return None
        row, user = found
        record = _record(row, user.username)
        if not record.active_at(now) or not user.is_active:
            logger.info("API token %s refused: %s", row.id, "user disabled" if not user.is_active
                        else "revoked or expired")
            return None
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            async with self._sessions.begin() as session:
                await session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        return ApiTokenOwner(record, UserRecord(user.id, user.username, Role(user.role), user.is_active,
                                                user.created_at))


def _joined(scopes: frozenset[ApiTokenScope]) -> str:
    return ",".join(sorted(scope.value for scope in scopes))


def _record(row: ApiToken, username: str) -> ApiTokenRecord:
    scopes = frozenset(ApiTokenScope(value) for value in row.scopes.split(",") if value)
    return ApiTokenRecord(row.id, row.user_id, username, row.name, scopes, row.secret_prefix, row.created_at,
                          row.expires_at, row.last_used_at, row.revoked_at, row.revoked_by)
