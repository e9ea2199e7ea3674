"""The migrated schema is exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access import models as access_models  # noqa: F401 - registers the access tables
from clearsight.audit import models as audit_models  # noqa: F401 - registers the audit tables
from clearsight.db import upgrade_database
from clearsight.privacy import models as privacy_models  # noqa: F401 - registers the privacy mask table
from clearsight.registry import (
    admission_models,  # noqa: F401 - registers the device admission table
    recording_models,  # noqa: F401 - registers the recording tables
)
from clearsight.registry.models import Base

TABLES = {"devices", "channels", "regions", "catalog_groups", "users", "recording_policies", "recording_segments",
          "recording_gaps", "legal_holds", "exports", "audit_entries", "audit_checkpoints",
          "departments", "access_grants", "share_requests", "auth_sessions", "api_tokens",
          "privacy_masks", "device_admissions"}


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_models(db_engine: AsyncEngine) -> None:
    async with db_engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_migration_creates_exactly_the_tables(db_engine: AsyncEngine) -> None:
    async with db_engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables == TABLES | {"alembic_version"}


async def test_upgrade_is_idempotent(database_url: str, db_engine: AsyncEngine) -> None:
    await asyncio.to_thread(upgrade_database, database_url)
    async with db_engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == "0009"


async def test_sqlite_connections_use_wal_and_foreign_keys(db_engine: AsyncEngine) -> None:
    if db_engine.dialect.name != "sqlite":
        return
    async with db_engine.connect() as connection:
        assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert await connection.scalar(text("PRAGMA busy_timeout")) == 5000
