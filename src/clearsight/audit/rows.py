"""Between stored rows and `AuditEntry` / `Checkpoint` values, and the chain head as the database has it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from clearsight.audit.checkpoints import Checkpoint, CheckpointKind
from clearsight.audit.entry import GENESIS_HASH, AuditEntry, canonical_json
from clearsight.audit.models import AuditCheckpointRow, AuditEntryRow
from clearsight.registry.models import Base

ENTRIES: Table = Base.metadata.tables[AuditEntryRow.__tablename__]
CHECKPOINTS: Table = Base.metadata.tables[AuditCheckpointRow.__tablename__]
# Rows selected with ENTRY_COLUMNS / CHECKPOINT_COLUMNS (their arity is the columns').
AnyRow = Row[*tuple[Any, ...]]
ENTRY_COLUMNS = (ENTRIES.c.seq, ENTRIES.c.at, ENTRIES.c.actor, ENTRIES.c.action, ENTRIES.c.target, ENTRIES.c.client,
                 ENTRIES.c.grant_id, ENTRIES.c.reason, ENTRIES.c.details, ENTRIES.c.prev_hash, ENTRIES.c.hash)
CHECKPOINT_COLUMNS = (CHECKPOINTS.c.seq, CHECKPOINTS.c.hash, CHECKPOINTS.c.kind, CHECKPOINTS.c.signed_at,
                      CHECKPOINTS.c.key_fingerprint, CHECKPOINTS.c.signature)


def entry_values(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action, "target": entry.target,
            "client": entry.client, "grant_id": entry.grant, "reason": entry.reason,
            "details": canonical_json(entry.details), "prev_hash": entry.prev_hash, "hash": entry.hash}


def entry_from_row(row: AnyRow) -> AuditEntry:
    """The entry of a row selected with ENTRY_COLUMNS; unparsable details come back as {"unparsable": text}."""
    try:
        details = json.loads(row.details)
    except (TypeError, ValueError):
        details = None
    if not isinstance(details, dict):
        details = {"unparsable": row.details}  # altered in the database: its hash will not match
    return AuditEntry(row.seq, row.at, row.actor, row.action, row.target, row.client, row.grant_id, row.reason,
                      details, row.prev_hash, row.hash)


def checkpoint_values(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"seq": checkpoint.seq, "hash": checkpoint.hash, "kind": str(checkpoint.kind),
            "signed_at": checkpoint.signed_at, "key_fingerprint": checkpoint.key_fingerprint,
            "signature": checkpoint.signature}


def checkpoint_from_row(row: AnyRow) -> Checkpoint:
    kind: CheckpointKind | str
    try:
        kind = CheckpointKind(row.kind)
    except ValueError:
        kind = row.kind
    return Checkpoint(row.seq, row.hash, kind, row.signed_at, row.key_fingerprint, row.signature)


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """(sequence, hash) of the newest entry, or (0, GENESIS_HASH) for an empty chain."""
    row = (await session.execute(select(ENTRIES.c.seq, ENTRIES.c.hash).order_by(ENTRIES.c.seq.desc())
                                 .limit(1))).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


async def last_checkpoint(session: AsyncSession) -> Checkpoint | None:
    row = (await session.execute(select(*CHECKPOINT_COLUMNS).order_by(CHECKPOINTS.c.id.desc()).limit(1))).first()
    return None if row is None else checkpoint_from_row(row)


async def entry_hash_at(session: AsyncSession, seq: int) -> str | None:
    hash_ = await session.scalar(select(ENTRIES.c.hash).where(ENTRIES.c.seq == seq))
    return None if hash_ is None else str(hash_)
