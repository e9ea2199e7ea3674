"""The API's playback sessions of the platform's own recordings, and the signed URLs of their streams.

`POST /channels/{id}/playback` makes a `RecordedSession`: who opened it under which grant, its engine
(`RecordedPlayback`: position, speed, paused, kept across WebSocket reconnections) and its HLS plan. The stream
URLs carry a token of their own JWT audience naming the session, so a live or device-playback token does not
open it, nor its token those. A session no stream has used for `IDLE_TIMEOUT` seconds is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import FastAPI

from clearsight.api.device_playbacks import PlaybackTokenService
from clearsight.api.viewer_streams import Viewer
from clearsight.recording.playback import RecordedPlayback
from clearsight.recording.playback_hls import HlsPlan

logger = logging.getLogger(__name__)

RECORDED_PLAYBACK_AUDIENCE = "clearsight:recorded-playback"
SESSION_ID_BYTES = 16  # 22 URL-safe characters: unguessable
IDLE_TIMEOUT = 120.0  # seconds without an open WebSocket or an HLS fetch before a session is forgotten
MAX_SESSIONS = 10_000
HLS_PLAN_TTL = 2.0  # seconds an unfinished HLS plan is reused before the index is read again
TAKE_OVER_TIMEOUT = 5.0  # seconds a new WebSocket waits for the one it replaces to let go


@dataclass(slots=True)
class RecordedSession:
    session_id: str
    channel_id: int
    username: str
    grant_id: str | None
    started_at: datetime  # where the session began (the actual start)
    playback: RecordedPlayback
    auth_session: str | None = None  # the viewer's sign-in session; its end ends the stream and refuses its URLs
    last_used: float = field(default_factory=time.monotonic)
    hls_plan: HlsPlan | None = None
    hls_planned_at: float = 0.0
    hls_used: bool = False
    streaming: asyncio.Event = field(default_factory=asyncio.Event)  # a WebSocket streams it now
    released: asyncio.Event = field(default_factory=asyncio.Event)  # that WebSocket has let go
    ended: str | None = None  # why the session ended (DELETE); its WebSocket says so

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.username, self.auth_session)

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def idle(self, now: float) -> bool:
        return not self.streaming.is_set() and now - self.last_used > IDLE_TIMEOUT

    async def take_over(self) -> bool:
        """Make the session free for a new WebSocket: the one streaming it (a stale connection) is stopped.
        False when it did not let go in time."""
        if self.streaming.is_set():
            self.released.clear()
            self.playback.stop("another connection took this playback over")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), TAKE_OVER_TIMEOUT)
        return not self.streaming.is_set()


class RecordedPlaybacks:
    def __init__(self, tokens: PlaybackTokenService, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.tokens = tokens
        self._sessions: dict[str, RecordedSession] = {}
        self._clock = clock

    def new(self, channel_id: int, viewer: Viewer, grant_id: str | None, playback: RecordedPlayback,
            started_at: datetime) -> RecordedSession:
        self.expire_idle()
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.last_used)
            self.forget(oldest.session_id)
        session = RecordedSession(secrets.token_urlsafe(SESSION_ID_BYTES), channel_id, viewer.username, grant_id,
                                  started_at, playback, viewer.session_id)
        self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> RecordedSession | None:
        session = self._sessions.get(session_id)
        if session is not None and session.idle(self._clock()):
            self.forget(session_id)
            return None
        return session

    def forget(self, session_id: str) -> RecordedSession | None:
        return self._sessions.pop(session_id, None)

    def expire_idle(self) -> list[RecordedSession]:
        now = self._clock()
        idle = [s for s in self._sessions.values() if s.idle(now)]
        for session in idle:
            del self._sessions[session.session_id]
            logger.info("recorded playback %s of channel %d expired (idle)", session.session_id, session.channel_id)
        return idle

    def __len__(self) -> int:
        return len(self._sessions)


def install(app: FastAPI, *, secret_key: str, token_ttl: int) -> None:
    """Give `app` its recorded playback sessions (`create_app` calls this)."""
    tokens = PlaybackTokenService(secret_key, token_ttl, audience=RECORDED_PLAYBACK_AUDIENCE)
    app.state.recorded_playbacks = RecordedPlaybacks(tokens)


def recorded_playbacks_of(app: FastAPI) -> RecordedPlaybacks:
    found = getattr(app.state, "recorded_playbacks", None)
    if not isinstance(found, RecordedPlaybacks):
        raise RuntimeError("app.state.recorded_playbacks is not set; build the app with create_app()")
    return found
