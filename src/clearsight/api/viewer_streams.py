"""Open viewer connections by whom they were handed to, so that the end of a sign-in ends them.

Every WebSocket stream (live view, device playback, recorded playback) is registered while it runs under its
`Viewer`: the user and the sign-in session its stream token was handed to (none for an API token). Ending a
session ends the streams opened with it; disabling an account ends every stream of the user, API tokens'
included. A stream registered after its session or account already ended (revoked while the stream was being
opened, after its token was checked) is ended at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from clearsight.media.consumer import Consumer, StreamEnd

logger = logging.getLogger(__name__)

SESSION_ENDED = "session ended"
ACCOUNT_DISABLED = "account disabled"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whom a stream was handed to."""

    username: str
    session_id: str | None  # the sign-in session; None when handed out to an API token


class StreamsByViewer:
    """Open streams per sign-in session and per user; `ended(viewer)` says why a viewer's streams are refused
    now (None: they are not)."""

    def __init__(self, ended: Callable[[Viewer], str | None] = lambda viewer: None) -> None:
        self._by_session: dict[str, set[Consumer]] = {}
        self._by_user: dict[str, set[Consumer]] = {}
        self._ended = ended

    @contextlib.contextmanager
    def watching(self, viewer: Viewer, consumer: Consumer) -> Iterator[None]:
        keys = [(self._by_user, viewer.username)]
        if viewer.session_id is not None:
            keys.append((self._by_session, viewer.session_id))
        for index, key in keys:
            index.setdefault(key, set()).add(consumer)
        reason = self._ended(viewer)
        if reason is not None:
            consumer.offer(StreamEnd(reason))
        try:
            yield
        finally:
            for index, key in keys:
                consumers = index.get(key, set())
                consumers.discard(consumer)
                if not consumers:
                    index.pop(key, None)

    def end_session(self, session_id: str) -> int:
        """End the streams opened with the session; returns how many."""
        return self._end(self._by_session.pop(session_id, set()), SESSION_ENDED, f"session {session_id}")

    def end_user(self, username: str) -> int:
        """End every stream of the user, whatever credential opened it; returns how many."""
        return self._end(self._by_user.pop(username, set()), ACCOUNT_DISABLED, f"user {username}")

    @staticmethod
    def _end(consumers: set[Consumer], reason: str, whose: str) -> int:
        for consumer in consumers:
            consumer.offer(StreamEnd(reason))
        if consumers:
            logger.info("%s: %d open stream(s) ended (%s)", whose, len(consumers), reason)
        return len(consumers)
