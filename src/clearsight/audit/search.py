"""Reading the audit log: searches (newest first, paginated) and whole ranges for export (oldest first)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.audit.entry import AuditEntry
from clearsight.audit.rows import ENTRIES, ENTRY_COLUMNS, entry_from_row

EXPORT_PAGE_SIZE = 2000  # entries per query while exporting


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters, all optional and combined: exact actor, action and target; `since` ≤ time < `until`."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.actor is not None:
            conditions.append(ENTRIES.c.actor == self.actor)
        if self.action is not None:
            conditions.append(ENTRIES.c.action == str(self.action))
        if self.target is not None:
            conditions.append(ENTRIES.c.target == self.target)
        if self.since is not None:
            conditions.append(ENTRIES.c.at >= self.since)
        if self.until is not None:
            conditions.append(ENTRIES.c.at < self.until)
        return conditions


@dataclass(frozen=True, slots=True)
class AuditPage:
    total: int
    items: tuple[AuditEntry, ...]


class AuditSearch:
    """Read-only access to the audit log in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def search(self, query: AuditQuery, *, offset: int, limit: int) -> AuditPage:
        """Matching entries, newest first; `total` counts every match."""
        conditions = query.conditions()
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(ENTRIES).where(*conditions))
            rows = (await session.execute(_select(conditions).order_by(ENTRIES.c.seq.desc())
                                          .offset(offset).limit(limit))).all()
        return AuditPage(int(total or 0), tuple(entry_from_row(row) for row in rows))

    async def iter_entries(self, query: AuditQuery) -> AsyncIterator[AuditEntry]:
        """Every matching entry, oldest first, read in pages (keyset on the sequence number)."""
        conditions = query.conditions()
        after = 0
        while True:
            async with self._sessions() as session:
                rows = (await session.execute(_select([*conditions, ENTRIES.c.seq > after])
                                              .order_by(ENTRIES.c.seq).limit(EXPORT_PAGE_SIZE))).all()
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < EXPORT_PAGE_SIZE:
                return
            after = int(rows[-1].seq)


def _select(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    return select(*ENTRY_COLUMNS).where(*conditions)
