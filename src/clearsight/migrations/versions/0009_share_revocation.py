"""Share requests keep who revoked them, when and why.

Revision ID: 0009
Revises: 0008 (0007 until 0008 is in main)
Create Date: 2026-12-01

Hand-written to match `clearsight.access.models.ShareRequest` (revoked_by, revoked_at, revoke_reason). Plain
nullable columns: `ADD COLUMN` on both SQLite and PostgreSQL, no table rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERNAME = 64


def upgrade() -> None:
    op.add_column("share_requests", sa.Column("revoked_by", sa.String(USERNAME), nullable=True))
    op.add_column("share_requests", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("share_requests", sa.Column("revoke_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("share_requests") as batch:
        batch.drop_column("revoke_reason")
        batch.drop_column("revoked_at")
        batch.drop_column("revoked_by")
