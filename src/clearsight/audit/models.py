"""Persistence models of the audit log: the hash-chained entries and their signed checkpoints.

Neither table has a foreign key: the log outlives users, channels and devices it names. Rows are only ever
inserted. Every change here needs a migration in `clearsight/migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.audit.entry import (
    ACTION_LENGTH,
    ACTOR_LENGTH,
    CLIENT_LENGTH,
    GRANT_LENGTH,
    HASH_LENGTH,
    TARGET_LENGTH,
)
from clearsight.registry.models import Base, UtcDateTime

CHECKPOINT_KIND_LENGTH = 16
SIGNATURE_LENGTH = 128  # an Ed25519 signature (64 bytes), hex


class AuditEntryRow(Base):
    """One entry of the chain; `hash` is SHA-256 over its canonical form (`audit.entry`)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_actor_seq", "actor", "seq"),
        Index("ix_audit_entries_target_seq", "target", "seq"),
        Index("ix_audit_entries_action_seq", "action", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH))
    target: Mapped[str | None] = mapped_column(String(TARGET_LENGTH))
    client: Mapped[str | None] = mapped_column(String(CLIENT_LENGTH))
    grant_id: Mapped[str | None] = mapped_column(String(GRANT_LENGTH))  # the grant it was allowed under
    reason: Mapped[str | None] = mapped_column(Text)  # as stated by the user
    details: Mapped[str] = mapped_column(Text)  # canonical JSON object
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditCheckpointRow(Base):
    """An Ed25519 signature by the platform key over (kind, sequence, hash, time) of the chain's head."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_seq", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)  # 0: the empty chain
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    kind: Mapped[str] = mapped_column(String(CHECKPOINT_KIND_LENGTH))  # start | periodic | stop | resync
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    key_fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    signature: Mapped[str] = mapped_column(String(SIGNATURE_LENGTH))
