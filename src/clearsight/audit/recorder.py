"""What code that records to, or reads, the audit log depends on: `AuditLog` / `AuditSearch` in the platform,
`InMemoryAuditLog` in tests. Packages that audit what they do (API routers, exports, share requests) take an
`AuditRecorder`, never the database log itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from clearsight.audit.entry import AuditEntry, JsonObject
from clearsight.audit.search import AuditPage, AuditQuery


class AuditRecorder(Protocol):
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
        """Append one entry and return it once stored; raises `AuditUnavailable` when it cannot be."""
        ...


class AuditReader(Protocol):
    async def search(self, query: AuditQuery, *, offset: int, limit: int) -> AuditPage:
        """Matching entries, newest first; `total` counts every match."""
        ...

    def iter_entries(self, query: AuditQuery) -> AsyncIterator[AuditEntry]:
        """Every matching entry, oldest first."""
        ...
