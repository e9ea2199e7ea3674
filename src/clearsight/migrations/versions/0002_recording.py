"""Recording: policies, the segment index, gaps, legal holds and exports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Hand-written to match `clearsight.registry.recording_models`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GB_ID = 20
TEXT = 255
PATH = 1024
STORAGE_NAME = 64
EXPORT_ID = 32


def _timestamp(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "recording_policies",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("storage", sa.String(STORAGE_NAME), nullable=True),
        _timestamp("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name="fk_recording_policies_channel_id_channels",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("channel_id", name="pk_recording_policies"),
    )
    op.create_table(
        "recording_segments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("channel_gb_id", sa.String(GB_ID), nullable=False),
        sa.Column("storage", sa.String(STORAGE_NAME), nullable=False),
        sa.Column("path", sa.String(PATH), nullable=False),
        _timestamp("start_at", nullable=False),
        _timestamp("end_at", nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("codec", sa.String(64), nullable=False),
        sa.Column("keyframes", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recording_segments"),
        sa.UniqueConstraint("path", name="uq_recording_segments_path"),
    )
    op.create_index("ix_recording_segments_channel_start", "recording_segments", ["channel_id", "start_at"])
    op.create_index("ix_recording_segments_end_at", "recording_segments", ["end_at"])
    op.create_table(
        "recording_gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _timestamp("start_at", nullable=False),
        _timestamp("end_at", nullable=True),
        sa.Column("reason", sa.String(TEXT), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recording_gaps"),
    )
    op.create_index("ix_recording_gaps_channel_start", "recording_gaps", ["channel_id", "start_at"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _timestamp("start_at", nullable=False),
        _timestamp("end_at", nullable=False),
        sa.Column("reason", sa.String(TEXT), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("released_at", nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_channel_id", "legal_holds", ["channel_id"])
    op.create_table(
        "exports",
        sa.Column("id", sa.String(EXPORT_ID), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(TEXT), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        _timestamp("start_at", nullable=False),
        _timestamp("end_at", nullable=False),
        sa.Column("watermark", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("path", sa.String(PATH), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
    )
    op.create_index("ix_exports_created_at", "exports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_exports_created_at", table_name="exports")
    op.drop_table("exports")
    op.drop_index("ix_legal_holds_channel_id", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_index("ix_recording_gaps_channel_start", table_name="recording_gaps")
    op.drop_table("recording_gaps")
    op.drop_index("ix_recording_segments_end_at", table_name="recording_segments")
    op.drop_index("ix_recording_segments_channel_start", table_name="recording_segments")
    op.drop_table("recording_segments")
    op.drop_table("recording_policies")
