"""Helpers of the audit tests: reading the chain back, and forging rows the way an attacker would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.audit import AuditEntry, AuditEvent
from clearsight.audit.entry import chain_entry
from clearsight.audit.rows import CHECKPOINTS, ENTRIES, ENTRY_COLUMNS, entry_from_row, entry_values
from clearsight.registry.models import utc_now


async def stored_entries(engine: AsyncEngine) -> list[AuditEntry]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(*ENTRY_COLUMNS).order_by(ENTRIES.c.seq))).all()
    return [entry_from_row(row) for row in rows]


async def checkpoint_kinds(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as connection:
        query = select(CHECKPOINTS.c.kind, CHECKPOINTS.c.seq).order_by(CHECKPOINTS.c.id)
        rows = (await connection.execute(query)).all()
    return [(str(row.kind), int(row.seq)) for row in rows]


async def execute(engine: AsyncEngine, sql: str, **parameters: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), parameters)


async def append_forged(engine: AsyncEngine, actor: str = "intruder") -> AuditEntry:
    """An entry correctly chained after the head (hash and prev_hash right), as anyone with SQL access can."""
    entries = await stored_entries(engine)
    head_seq, head_hash = (entries[-1].seq, entries[-1].hash) if entries else (0, "0" * 64)
    forged = chain_entry(head_seq + 1, AuditEvent("login.success", actor, utc_now()).normalised(), head_hash)
    async with engine.begin() as connection:
        await connection.execute(insert(ENTRIES), [entry_values(forged)])
    return forged
