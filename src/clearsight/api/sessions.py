"""Whether a token's session still holds: signing in opens a session, logging out or revoking ends it.

`SessionGuard.check` runs on every authenticated request, so it costs no database read: revoked sessions are
kept in memory (session ID -> its tokens' expiry; forgotten once they would be refused as expired anyway),
filled from the database on first use and updated by every revocation before the database is, so a revoked
token is refused at once in this process. An expired session needs no lookup: its tokens expire with it.
`last_seen_at` is written at most once per `touch_interval` per session.

Streams handed out under a session (stream tokens carry its `sid`) are registered in `streams`
(`api/viewer_streams.py`), so that ending the session ends them, as revoking a grant does; disabling an account
(`set_account_active`) ends its sessions and every stream of the user, and refuses the user's stream tokens until
the account is enabled again. Disabled accounts are remembered in this process only: after a restart, stream
tokens handed to their API tokens (no session to refuse them) run out only at their expiry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from clearsight.access.sessions import NewSession, SessionKind, SessionRecord
from clearsight.api.ports import SessionsPort, UserRecord
from clearsight.api.tokens import InvalidToken, IssuedToken, Principal, TokenService
from clearsight.api.viewer_streams import ACCOUNT_DISABLED, SESSION_ENDED, StreamsByViewer, Viewer

logger = logging.getLogger(__name__)

TOUCH_INTERVAL = timedelta(seconds=60)  # resolution of a session's last_seen_at
MAX_TOUCHED = 50_000  # sessions whose last write time is remembered; past it the memory is cleared


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SessionGuard:
    def __init__(self, store: SessionsPort, tokens: TokenService, *, clock: Callable[[], datetime] = _utc_now,
                 touch_interval: timedelta = TOUCH_INTERVAL) -> None:
        self.store = store
        self._tokens = tokens
        self._clock = clock
        self._touch_interval = touch_interval
        self._revoked: dict[str, datetime] | None = None  # None until loaded from the store
        self._loading = asyncio.Lock()
        self._touched: dict[str, datetime] = {}
        self._disabled: set[str] = set()  # user names of accounts disabled in this process
        self.streams = StreamsByViewer(self.known_ended)

    async def open(self, user: UserRecord, kind: SessionKind, client: str | None,
                   user_agent: str | None) -> tuple[SessionRecord, IssuedToken]:
        """Start a session for `user` and issue its token (both end at the same instant)."""
        issued_at = self._tokens.now()
        record = await self.store.create(NewSession(int(user.id), user.username, kind, issued_at,
                                                    issued_at + self._tokens.ttl, client, user_agent))
        return record, self._tokens.issue(user, record.id, issued_at)

    async def check(self, principal: Principal) -> None:
        """Raise InvalidToken when the principal's session was revoked; note that it was seen."""
        session_id = principal.session_id
        if session_id is None:
            return
        revoked = await self._revocations()
        if session_id in revoked:
            raise InvalidToken(f"session {session_id} was revoked")
        now = self._clock()
        last = self._touched.get(session_id)
        if last is None or now - last >= self._touch_interval:
            if len(self._touched) >= MAX_TOUCHED:
                self._touched.clear()
            self._touched[session_id] = now
            await self.store.touch(session_id, now)

    def known_ended(self, viewer: Viewer) -> str | None:
        """Why streams handed to `viewer` are refused now, as far as known without a database read (for streams
        registered after their token was checked); None: they are not."""
        if viewer.username in self._disabled:
            return ACCOUNT_DISABLED
        known = viewer.session_id is not None and self._revoked is not None and viewer.session_id in self._revoked
        return SESSION_ENDED if known else None

    async def ended(self, viewer: Viewer) -> str | None:
        """Why a stream token handed to `viewer` is refused now (its session ended, its account was disabled)."""
        if viewer.session_id is not None and await self.is_revoked(viewer.session_id):
            return SESSION_ENDED
        return self.known_ended(viewer)

    async def is_revoked(self, session_id: str) -> bool:
        """Whether the session was revoked (stream tokens are checked with this)."""
        return session_id in await self._revocations()

    async def revoke(self, sessions: Sequence[SessionRecord], actor: str) -> int:
        """End `sessions` now (their tokens and streams); returns the number of streams ended."""
        revoked = await self._revocations()
        now = self._clock()
        for gone in [sid for sid, expires in revoked.items() if expires <= now]:
            del revoked[gone]  # their tokens are refused as expired anyway
        for record in sessions:
            revoked[record.id] = record.expires_at  # before the database: refused from this instant
            self._touched.pop(record.id, None)
        await self.store.revoke([record.id for record in sessions], actor, now)
        ended = sum(self.streams.end_session(record.id) for record in sessions)
        for record in sessions:
            logger.info("session %s of %s revoked by %s", record.id, record.username, actor)
        return ended

    async def revoke_user(self, user_id: int, actor: str, *, keep: str | None = None) -> list[SessionRecord]:
        """End every active session of the user but `keep`; returns those ended."""
        sessions = [s for s in await self.store.list_sessions(user_id, self._clock()) if s.id != keep]
        await self.revoke(sessions, actor)
        return sessions

    async def set_account_active(self, user_id: int, username: str, active: bool, actor: str) -> list[SessionRecord]:
        """After an account was enabled or disabled. Disabling ends every stream of the user (API tokens' too) and
        every session, and refuses the user's stream tokens until it is enabled again. Returns the sessions ended."""
        if active:
            self._disabled.discard(username)
            return []
        self._disabled.add(username)
        streams = self.streams.end_user(username)
        sessions = await self.revoke_user(user_id, actor)
        logger.info("account %s disabled by %s: %d session(s) and %d stream(s) ended", username, actor,
                    len(sessions), streams)
        return sessions

    async def active(self, session_id: str) -> SessionRecord | None:
        record = await self.store.get(session_id)
        return record if record is not None and record.active_at(self._clock()) else None

    async def _revocations(self) -> dict[str, datetime]:
        if self._revoked is None:
            async with self._loading:
                if self._revoked is None:
                    self._revoked = await self.store.revoked_unexpired(self._clock())
        return self._revoked
