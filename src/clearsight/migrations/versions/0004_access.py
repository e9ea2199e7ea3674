"""Access control: departments, users' and channels' departments, channel classes, grants, share requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09

Hand-written to match `clearsight.registry.models` (Department, User.department_id, Channel.channel_class,
Channel.owner_department_id) and `clearsight.access.models`. On SQLite the new foreign-key columns are added
in batch mode (a table rebuild); migrations run on a connection without `PRAGMA foreign_keys`, so the
rebuild does not cascade deletes into the tables referring to `channels` and `users`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = 255
REGION = 8
GRANT_ID = 32
USERNAME = 64
ACTIONS = 128
ZONE = 64


def _add_department_column(table: str, column: str) -> None:
    fk = f"fk_{table}_{column}_departments"
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch.create_foreign_key(fk, "departments", [column], ["id"], ondelete="SET NULL")
    op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(TEXT), nullable=False),
        sa.Column("home_region_code", sa.String(REGION), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.UniqueConstraint("name", name="uq_departments_name"),
    )
    _add_department_column("users", "department_id")
    _add_department_column("channels", "owner_department_id")
    op.add_column("channels", sa.Column("channel_class", sa.String(16), server_default="public", nullable=False))
    op.create_table(
        "share_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("requester_department_id", sa.Integer(), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(USERNAME), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        sa.Column("actions", sa.String(ACTIONS), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(USERNAME), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("grant_id", sa.String(GRANT_ID), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["requester_department_id"], ["departments.id"],
                                name="fk_share_requests_requester_department_id_departments", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_department_id"], ["departments.id"],
                                name="fk_share_requests_owner_department_id_departments", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_share_requests"),
    )
    op.create_index("ix_share_requests_requester_department_id", "share_requests", ["requester_department_id"])
    op.create_index("ix_share_requests_owner_department_id", "share_requests", ["owner_department_id"])
    op.create_index("ix_share_requests_state", "share_requests", ["state"])
    op.create_table(
        "access_grants",
        sa.Column("id", sa.String(GRANT_ID), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actions", sa.String(ACTIONS), nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_values", sa.JSON(), nullable=False),
        sa.Column("max_class", sa.String(16), nullable=False),
        sa.Column("hours_start", sa.Integer(), nullable=True),
        sa.Column("hours_end", sa.Integer(), nullable=True),
        sa.Column("hours_zone", sa.String(ZONE), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(USERNAME), nullable=True),
        sa.Column("share_request_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(TEXT), nullable=True),
        sa.Column("created_by", sa.String(USERNAME), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name="fk_access_grants_department_id_departments", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_access_grants_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["share_request_id"], ["share_requests.id"],
                                name="fk_access_grants_share_request_id_share_requests", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_access_grants"),
    )
    op.create_index("ix_access_grants_department_id", "access_grants", ["department_id"])
    op.create_index("ix_access_grants_user_id", "access_grants", ["user_id"])
    op.create_index("ix_access_grants_share_request_id", "access_grants", ["share_request_id"])


def downgrade() -> None:
    op.drop_table("access_grants")
    op.drop_table("share_requests")
    op.drop_column("channels", "channel_class")
    for table, column in (("channels", "owner_department_id"), ("users", "department_id")):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_{column}_departments", type_="foreignkey")
            batch.drop_column(column)
    op.drop_table("departments")
