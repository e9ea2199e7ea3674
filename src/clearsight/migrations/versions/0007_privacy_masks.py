"""Privacy masks: polygons per channel; exports remember on which channels the exporter could lift them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Hand-written to match `clearsight.privacy.models` and `clearsight.registry.recording_models.Export`.
`privacy_masks.channel_id` has no foreign key on purpose (masks outlive a channel's catalog entry, as its
recordings do). `exports.masks_lifted` is a JSON list of channel IDs; existing exports get `[]`, so one built
after the upgrade applies every mask (the safe side).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MASK_NAME = 128
USERNAME = 64


def upgrade() -> None:
    op.create_table(
        "privacy_masks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(MASK_NAME), nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.String(USERNAME), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(USERNAME), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_masks"),
    )
    op.create_index("ix_privacy_masks_channel_id", "privacy_masks", ["channel_id"])
    op.add_column("exports", sa.Column("masks_lifted", sa.Text(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("masks_lifted")
    op.drop_index("ix_privacy_masks_channel_id", table_name="privacy_masks")
    op.drop_table("privacy_masks")
