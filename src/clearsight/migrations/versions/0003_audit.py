"""Audit log: hash-chained entries and their signed checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

Hand-written to match `clearsight.audit.models`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASH = 64
ACTOR = 255
ACTION = 64
TARGET = 255
CLIENT = 64
GRANT = 64
KIND = 16
SIGNATURE = 128


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(ACTOR), nullable=False),
        sa.Column("action", sa.String(ACTION), nullable=False),
        sa.Column("target", sa.String(TARGET), nullable=True),
        sa.Column("client", sa.String(CLIENT), nullable=True),
        sa.Column("grant_id", sa.String(GRANT), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(HASH), nullable=False),
        sa.Column("hash", sa.String(HASH), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_actor_seq", "audit_entries", ["actor", "seq"])
    op.create_index("ix_audit_entries_target_seq", "audit_entries", ["target", "seq"])
    op.create_index("ix_audit_entries_action_seq", "audit_entries", ["action", "seq"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(HASH), nullable=False),
        sa.Column("kind", sa.String(KIND), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_fingerprint", sa.String(HASH), nullable=False),
        sa.Column("signature", sa.String(SIGNATURE), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_entries_action_seq", table_name="audit_entries")
    op.drop_index("ix_audit_entries_target_seq", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_seq", table_name="audit_entries")
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.drop_table("audit_entries")
