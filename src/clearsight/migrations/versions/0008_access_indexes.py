"""Access control: indexes serving the permission filter of channel lists (docs/benchmarks.md, Access control).

Revision ID: 0008
Revises: 0005 (see below; 0007 once 0006 and 0007 are in main)
Create Date: 2026-12-01

Hand-written to match `clearsight.registry.models.Channel`: a grant's region subtree is a range of region
codes and its class bound an IN list, so `(region_code, channel_class)` answers both from the index; a
business-group grant is an IN list on `(business_group_id, channel_class)`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_channels_region_code_class", "channels", ["region_code", "channel_class"])
    op.create_index("ix_channels_business_group_class", "channels", ["business_group_id", "channel_class"])


def downgrade() -> None:
    op.drop_index("ix_channels_business_group_class", table_name="channels")
    op.drop_index("ix_channels_region_code_class", table_name="channels")
