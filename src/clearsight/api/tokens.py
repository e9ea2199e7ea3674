"""Issuing and verifying the API's bearer tokens (JWT, HS256).

Every token names the server-side session it belongs to (`sid`); `api.sessions.SessionGuard` refuses the
tokens of a revoked session. API tokens (`cs_…`, `api.api_token_auth`) are not JWTs; they become the same
`Principal`, with their scopes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from clearsight.api.ports import UserRecord

TOKEN_ALGORITHM = "HS256"
# RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (256 bits for HS256).
MIN_SECRET_BYTES = 32
# Tokens name their audience so that other HS256 tokens signed with the same secret (stream URLs,
# share links) cannot be replayed as API tokens (RFC 7519 §4.1.3).
TOKEN_AUDIENCE = "clearsight:api"
# Tolerated clock difference between nodes when checking `exp` and `iat` (RFC 7519 §4.1.4).
CLOCK_LEEWAY = timedelta(seconds=5)
REQUIRED_CLAIMS = ("sub", "role", "exp", "iat", "jti", "aud", "sid")


class InvalidToken(Exception):
    """The bearer token is malformed, forged, expired or lacks a claim."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request, as stated by a verified token."""

    user_id: str
    username: str
    role: str
    token_id: str
    expires_at: datetime | None  # None: an API token without expiry
    session_id: str | None = None  # the sign-in session (None for API tokens)
    scopes: frozenset[str] | None = None  # what an API token may do; None: everything the user may
    api_token_id: str | None = None

    @property
    def interactive(self) -> bool:
        """Signed in with a password (a session), not a machine's API token."""
        return self.api_token_id is None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenService:
    """Signs tokens for authenticated users and turns presented tokens back into principals."""

    def __init__(
        self, secret_key: str, ttl_seconds: int, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        if len(secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret_key must be at least {MIN_SECRET_BYTES} bytes for {TOKEN_ALGORITHM}")
        if ttl_seconds <= 0:
            raise ValueError("token_ttl must be positive")
        self._key = secret_key
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def now(self) -> datetime:
        return self._clock().replace(microsecond=0)

    def issue(self, user: UserRecord, session_id: str, issued_at: datetime | None = None) -> IssuedToken:
        """A token for `user` in session `session_id`, valid for the TTL from `issued_at` (default: now)."""
        issued_at = issued_at if issued_at is not None else self.now()
        expires_at = issued_at + self._ttl
        principal = Principal(
            user_id=str(user.id),
            username=user.username,
            role=str(user.role),
            token_id=uuid.uuid4().hex,
            expires_at=expires_at,
            session_id=session_id,
        )
        claims = {
            "sub": principal.user_id,
            "preferred_username": principal.username,
            "role": principal.role,
            "aud": TOKEN_AUDIENCE,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": principal.token_id,
            "sid": session_id,
        }
        token = jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM)
        return IssuedToken(access_token=token, expires_in=int(self._ttl.total_seconds()), principal=principal)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[TOKEN_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                leeway=CLOCK_LEEWAY,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        role = claims["role"]
        username = claims.get("preferred_username", claims["sub"])
        if not isinstance(role, str) or not isinstance(username, str) or not isinstance(claims["sid"], str):
            raise InvalidToken("role, preferred_username and sid must be strings")
        return Principal(
            user_id=claims["sub"],
            username=username,
            role=role,
            token_id=claims["jti"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            session_id=claims["sid"],
        )
