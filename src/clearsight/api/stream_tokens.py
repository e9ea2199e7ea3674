"""Short-lived signed tokens carried in stream URLs (WebSocket, HLS), where no Authorization header goes.

A stream token names one channel, one user and the grant the access was allowed under (none for
administrators), so the stream paths can check that the grant still holds; it is signed with the
platform's secret under its own JWT audience, so it cannot be used as an API token, nor an API token as a
stream token. It also names the sign-in session it was handed to (`sid`), so that ending the session
refuses the token and ends the streams opened with it (`api.sessions.SessionGuard`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from clearsight.api.tokens import CLOCK_LEEWAY, MIN_SECRET_BYTES, TOKEN_ALGORITHM, InvalidToken

STREAM_AUDIENCE = "clearsight:stream"
REQUIRED_CLAIMS = ("sub", "ch", "exp", "aud")


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What a verified stream token allows: `username` may receive channel `channel_id` until `expires_at`."""

    username: str
    channel_id: int
    expires_at: datetime
    grant_id: str | None = None  # the access grant the token was issued under; None for administrators
    session_id: str | None = None  # the sign-in session it was handed to; None for API tokens


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StreamTokenService:
    def __init__(self, secret_key: str, ttl_seconds: int, *, clock: Callable[[], datetime] = _utc_now) -> None:
        if len(secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret_key must be at least {MIN_SECRET_BYTES} bytes for {TOKEN_ALGORITHM}")
        if ttl_seconds <= 0:
            raise ValueError("stream token lifetime must be positive")
        self._key = secret_key
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock

    def issue(self, username: str, channel_id: int, grant_id: str | None = None,
              session_id: str | None = None) -> tuple[str, datetime]:
        expires_at = self._clock().replace(microsecond=0) + self.ttl
        claims: dict[str, str | int] = {"sub": username, "ch": channel_id, "aud": STREAM_AUDIENCE,
                                        "exp": int(expires_at.timestamp())}
        if grant_id is not None:
            claims["gr"] = grant_id
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM), expires_at

    def verify(self, token: str, channel_id: int) -> StreamGrant:
        """The grant in `token`, which must be valid for `channel_id`; raises InvalidToken."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[TOKEN_ALGORITHM], audience=STREAM_AUDIENCE,
                                leeway=CLOCK_LEEWAY, options={"require": list(REQUIRED_CLAIMS)})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims["ch"] != channel_id:
            raise InvalidToken(f"token is for channel {claims['ch']}, not {channel_id}")
        if not isinstance(claims["sub"], str):
            raise InvalidToken("sub must be a string")
        grant_id, session_id = claims.get("gr"), claims.get("sid")
        if not isinstance(grant_id, str | None) or not isinstance(session_id, str | None):
            raise InvalidToken("gr and sid must be strings")
        return StreamGrant(claims["sub"], channel_id, datetime.fromtimestamp(claims["exp"], UTC), grant_id,
                           session_id)
