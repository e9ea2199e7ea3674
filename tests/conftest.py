"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import create_engine, session_factory, upgrade_database
from clearsight.registry.store import RegistryStore

# --- database fixtures ---
# Tests run on SQLite (a fresh file per test) unless CLEARSIGHT_TEST_DATABASE_URL names a PostgreSQL
# database (see scripts/pg-test-cluster); then each test gets a fresh schema in it, dropped afterwards.

TEST_DATABASE_URL_ENV = "CLEARSIGHT_TEST_DATABASE_URL"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for one test (not migrated)."""
    base = os.environ.get(TEST_DATABASE_URL_ENV)
    if not base:
        yield f"sqlite+aiosqlite:///{tmp_path / 'clearsight.db'}"
        return
    url = make_url(base)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the migrated test database."""
    await asyncio.to_thread(upgrade_database, database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def registry_store(db_engine: AsyncEngine) -> RegistryStore:
    return RegistryStore(session_factory(db_engine))
