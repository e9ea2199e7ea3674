"""The API's device playback sessions: one hub stream per viewer, and the signed URLs of its streams.

Each `POST /channels/{id}/device-playback` opens its own stream (hub key ``playback:{channel}:{session}``, never
shared: two viewers of the same recording may pause and seek independently). `DevicePlaybacks` remembers who
opened which session, for which channel, and which GB28181 session carries it. The stream URLs carry a token of
their own JWT audience naming the session, so it cannot be used for live view nor a live-view token here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import FastAPI

from clearsight.api.ports import PlaybackSession
from clearsight.api.tokens import CLOCK_LEEWAY, MIN_SECRET_BYTES, TOKEN_ALGORITHM, InvalidToken
from clearsight.api.viewer_streams import Viewer

logger = logging.getLogger(__name__)

PLAYBACK_AUDIENCE = "clearsight:device-playback"
REQUIRED_CLAIMS = ("sub", "ps", "ch", "exp", "aud")
SESSION_ID_BYTES = 16  # 22 URL-safe characters: unguessable
MAX_VIEWS = 10_000  # sessions remembered at once; ended ones are pruned first


def playback_stream_key(channel_id: int, session_id: str) -> str:
    return f"playback:{channel_id}:{session_id}"


@dataclass(frozen=True, slots=True)
class PlaybackGrant:
    username: str
    session_id: str
    channel_id: int
    expires_at: datetime
    grant_id: str | None = None  # the access grant the session was opened under; None for administrators


class PlaybackTokenService:
    """Tokens naming one playback session, under their own JWT `audience` (device or recorded playback)."""

    def __init__(self, secret_key: str, ttl_seconds: int, *, audience: str = PLAYBACK_AUDIENCE,
                 clock: Callable[[], datetime] | None = None) -> None:
        if len(secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret_key must be at least {MIN_SECRET_BYTES} bytes for {TOKEN_ALGORITHM}")
        if ttl_seconds <= 0:
            raise ValueError("stream token lifetime must be positive")
        self._key = secret_key
        self.audience = audience
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock or (lambda: datetime.now(UTC))

    def issue(self, username: str, session_id: str, channel_id: int,
              grant_id: str | None = None) -> tuple[str, datetime]:
        expires_at = self._clock().replace(microsecond=0) + self.ttl
        claims: dict[str, str | int] = {"sub": username, "ps": session_id, "ch": channel_id, "aud": self.audience,
                                        "exp": int(expires_at.timestamp())}
        if grant_id is not None:
            claims["gr"] = grant_id
        return jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM), expires_at

    def verify(self, token: str, session_id: str) -> PlaybackGrant:
        """The grant in `token`, which must name `session_id`; raises InvalidToken."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[TOKEN_ALGORITHM], audience=self.audience,
                                leeway=CLOCK_LEEWAY, options={"require": list(REQUIRED_CLAIMS)})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims["ps"] != session_id:
            raise InvalidToken("token is for another playback session")
        grant_id = claims.get("gr")
        if not isinstance(claims["sub"], str) or not isinstance(claims["ch"], int) or not (
                grant_id is None or isinstance(grant_id, str)):
            raise InvalidToken("malformed claims")
        return PlaybackGrant(claims["sub"], session_id, claims["ch"], datetime.fromtimestamp(claims["exp"], UTC),
                             grant_id)


@dataclass(slots=True)
class PlaybackView:
    """One viewer's playback: `session_id` is the API's name for it, `playback` the GB28181 session carrying it
    (None while the hub opens it; kept after it ended, for its close reason)."""

    session_id: str
    channel_id: int
    username: str
    start: datetime
    end: datetime
    playback: PlaybackSession | None = None
    auth_session: str | None = None  # the viewer's sign-in session; its end refuses the stream URLs
    grant_id: str | None = None  # the access grant it was opened under (audit)
    websockets: int = 0  # open WebSocket streams of it

    @property
    def stream_key(self) -> str:
        return playback_stream_key(self.channel_id, self.session_id)

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.username, self.auth_session)


class DevicePlaybacks:
    def __init__(self, tokens: PlaybackTokenService) -> None:
        self.tokens = tokens
        self._views: dict[str, PlaybackView] = {}

    def new(self, channel_id: int, username: str, start: datetime, end: datetime,
            alive: Callable[[PlaybackView], bool]) -> PlaybackView:
        """A new view (not yet carried by a GB28181 session); ended views are forgotten when there are many."""
        if len(self._views) >= MAX_VIEWS:
            for ended in [v for v in self._views.values() if not alive(v)]:
                del self._views[ended.session_id]
        view = PlaybackView(secrets.token_urlsafe(SESSION_ID_BYTES), channel_id, username, start, end)
        self._views[view.session_id] = view
        return view

    def get(self, session_id: str) -> PlaybackView | None:
        return self._views.get(session_id)

    def forget(self, session_id: str) -> None:
        self._views.pop(session_id, None)


def install(app: FastAPI, *, secret_key: str, token_ttl: int) -> None:
    """Give `app` its playback sessions (`create_app` calls this)."""
    app.state.device_playbacks = DevicePlaybacks(PlaybackTokenService(secret_key, token_ttl))


def device_playbacks_of(app: FastAPI) -> DevicePlaybacks:
    found = getattr(app.state, "device_playbacks", None)
    if not isinstance(found, DevicePlaybacks):
        raise RuntimeError("app.state.device_playbacks is not set; build the app with create_app()")
    return found
