"""An audit log in memory: the same chain and the same search, for tests and for an API built without a database.

Nothing is signed and nothing survives the process; `clearsight serve` uses `AuditLog` on the database.
It keeps the newest `capacity` entries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from clearsight.audit.entry import GENESIS_HASH, AuditEntry, AuditEvent, JsonObject, chain_entry
from clearsight.audit.search import AuditPage, AuditQuery
from clearsight.registry.models import utc_now

DEFAULT_CAPACITY = 10_000


class InMemoryAuditLog:
    def __init__(self, *, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], datetime] = utc_now) -> None:
        self.entries: deque[AuditEntry] = deque(maxlen=capacity)
        self._clock = clock
        self._head_seq = 0
        self._head_hash = GENESIS_HASH

    async def record(
        self,
        action: str,
        *,
        actor: str,
        target: str | None = None,
        client: str | None = None,
        grant: str | None = None,
        reason: str | None = None,
        details: JsonObject | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        event = AuditEvent(str(action), actor, at or self._clock(), target, client, grant, reason, details or {})
        entry = chain_entry(self._head_seq + 1, event.normalised(), self._head_hash)
        self._head_seq, self._head_hash = entry.seq, entry.hash
        self.entries.append(entry)
        return entry

    async def search(self, query: AuditQuery, *, offset: int, limit: int) -> AuditPage:
        matches = [entry for entry in reversed(self.entries) if _matches(query, entry)]
        return AuditPage(len(matches), tuple(matches[offset:offset + limit]))

    async def iter_entries(self, query: AuditQuery) -> AsyncIterator[AuditEntry]:
        for entry in list(self.entries):
            if _matches(query, entry):
                yield entry

    def actions(self) -> list[str]:
        """The actions recorded so far, oldest first (for tests)."""
        return [entry.action for entry in self.entries]


def _matches(query: AuditQuery, entry: AuditEntry) -> bool:
    return ((query.actor is None or entry.actor == query.actor)
            and (query.action is None or entry.action == str(query.action))
            and (query.target is None or entry.target == query.target)
            and (query.since is None or entry.at >= query.since)
            and (query.until is None or entry.at < query.until))
