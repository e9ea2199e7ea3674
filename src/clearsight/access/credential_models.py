"""Persistence models of sign-in credentials: server-side sessions and API tokens.

Neither row is deleted when revoked: `revoked_at`/`revoked_by` are stamped, so the audit's session and token
IDs always resolve. An API token's secret is never stored, only its SHA-256 (the secret is 256 random bits,
so a fast hash is enough: there is nothing to guess offline).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.registry.models import TEXT_LENGTH, Base, UtcDateTime, utc_now

CREDENTIAL_ID_LENGTH = 32  # uuid4 hex
USERNAME_LENGTH = 64
CLIENT_LENGTH = 64  # an IPv6 address with zone fits
USER_AGENT_LENGTH = 255  # longer User-Agent headers are cut
SCOPES_LENGTH = 64  # comma-separated `ApiTokenScope` values
SECRET_HASH_LENGTH = 64  # SHA-256, hex
SECRET_PREFIX_LENGTH = 10  # "cs_" and the secret's first characters, shown in lists to tell tokens apart


class AuthSession(Base):
    """One sign-in: every access token issued names its session (`sid`) and dies with it."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # bearer | cookie
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    client: Mapped[str | None] = mapped_column(String(CLIENT_LENGTH))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))


class ApiToken(Base):
    """A long-lived credential for machines, acting as its user within its scopes."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH))
    scopes: Mapped[str] = mapped_column(String(SCOPES_LENGTH))
    secret_hash: Mapped[str] = mapped_column(String(SECRET_HASH_LENGTH), unique=True)
    secret_prefix: Mapped[str] = mapped_column(String(SECRET_PREFIX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
