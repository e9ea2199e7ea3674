"""Device admission: unknown devices held for approval or rejected (`device_admissions`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Hand-written to match `clearsight.registry.admission_models`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GB_ID = 20
TEXT = 255
USERNAME = 64


def upgrade() -> None:
    op.create_table(
        "device_admissions",
        sa.Column("device_id", sa.String(GB_ID), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("remote_host", sa.String(64), nullable=False),
        sa.Column("remote_port", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(TEXT), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(USERNAME), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name="pk_device_admissions"),
    )
    op.create_index("ix_device_admissions_state", "device_admissions", ["state"])


def downgrade() -> None:
    op.drop_index("ix_device_admissions_state", table_name="device_admissions")
    op.drop_table("device_admissions")
