"""Initial schema: devices, channels, catalog groups, regions and users.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Hand-written to match `clearsight.registry.models` (a test compares the two on SQLite and PostgreSQL).
Timestamps are `timestamp with time zone`, always UTC; SQLite stores them naive and the models' UtcDateTime
type makes them aware again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GB_ID = 20
TEXT = 255
PARENT_PATH = 255
REGION_CODE = 8


def _timestamp(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(GB_ID), nullable=False),
        sa.Column("name", sa.String(TEXT), nullable=True),
        sa.Column("manufacturer", sa.String(TEXT), nullable=True),
        sa.Column("model", sa.String(TEXT), nullable=True),
        sa.Column("firmware", sa.String(TEXT), nullable=True),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("remote_host", sa.String(64), nullable=False),
        sa.Column("remote_port", sa.Integer(), nullable=False),
        sa.Column("password", sa.String(128), nullable=True),
        sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False),
        _timestamp("registered_at", nullable=True),
        _timestamp("expires_at", nullable=True),
        _timestamp("last_keepalive", nullable=True),
        sa.Column("channel_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
    )
    op.create_index("ix_devices_online", "devices", ["online"])

    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(GB_ID), nullable=False),
        sa.Column("gb_id", sa.String(GB_ID), nullable=False),
        sa.Column("name", sa.String(TEXT), server_default="", nullable=False),
        sa.Column("manufacturer", sa.String(TEXT), nullable=True),
        sa.Column("model", sa.String(TEXT), nullable=True),
        sa.Column("owner", sa.String(TEXT), nullable=True),
        sa.Column("civil_code", sa.String(GB_ID), nullable=True),
        sa.Column("region_code", sa.String(REGION_CODE), nullable=True),
        sa.Column("address", sa.String(TEXT), nullable=True),
        sa.Column("parental", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("parent_id", sa.String(PARENT_PATH), nullable=True),
        sa.Column("business_group_id", sa.String(GB_ID), nullable=True),
        sa.Column("secrecy", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("ptz_type", sa.Integer(), nullable=True),
        _timestamp("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_channels_device_id_devices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_channels"),
        sa.UniqueConstraint("device_id", "gb_id", name="uq_channels_device_id_gb_id"),
    )
    op.create_index("ix_channels_civil_code", "channels", ["civil_code"])
    op.create_index("ix_channels_name", "channels", ["name"])
    op.create_index("ix_channels_online", "channels", ["online"])
    op.create_index(
        "ix_channels_region_code",
        "channels",
        ["region_code"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )

    op.create_table(
        "regions",
        sa.Column("code", sa.String(REGION_CODE), nullable=False),
        sa.Column("name", sa.String(TEXT), nullable=False),
        sa.Column("parent_code", sa.String(REGION_CODE), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_regions"),
    )
    op.create_index("ix_regions_parent_code", "regions", ["parent_code"])

    op.create_table(
        "catalog_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(GB_ID), nullable=False),
        sa.Column("gb_id", sa.String(GB_ID), nullable=False),
        sa.Column("name", sa.String(TEXT), server_default="", nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(PARENT_PATH), nullable=True),
        sa.Column("business_group_id", sa.String(GB_ID), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_catalog_groups_device_id_devices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_groups"),
        sa.UniqueConstraint("device_id", "gb_id", name="uq_catalog_groups_device_id_gb_id"),
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _timestamp("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("catalog_groups")
    op.drop_index("ix_regions_parent_code", table_name="regions")
    op.drop_table("regions")
    op.drop_index("ix_channels_region_code", table_name="channels")
    op.drop_index("ix_channels_online", table_name="channels")
    op.drop_index("ix_channels_name", table_name="channels")
    op.drop_index("ix_channels_civil_code", table_name="channels")
    op.drop_table("channels")
    op.drop_index("ix_devices_online", table_name="devices")
    op.drop_table("devices")
