"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import create_engine, session_factory, upgrade_database
from clearsight.registry.store import RegistryStore

# --- database fixtures ---
# Tests run on SQLite (a fresh file per test) unless CLEARSIGHT_TEST_DATABASE_URL names a PostgreSQL
# database (see scripts/pg-test-cluster); then each test gets a fresh schema in it, dropped afterwards.

TEST_DATABASE_URL_ENV = "CLEARSIGHT_TEST_DATABASE_URL"

# On PostgreSQL only the tests that reach a database through one of these fixtures run: every other test
# would run on SQLite or on no database at all a second time, proving nothing new.
DATABASE_FIXTURES = frozenset({"database_url", "server_database"})


# The longest files go first, so that with two workers (scripts/test) neither is left running one alone at the end.
LONGEST_FILES = ("tests/integration/test_api_fuzz.py", "tests/integration/test_recording_crash.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FILES))
    if not os.environ.get(TEST_DATABASE_URL_ENV):
        return
    uses_database = [item for item in items if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if len(uses_database) < len(items):
        kept = set(uses_database)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = uses_database


def fresh_postgres_database(base_url: str) -> str:
    """A new empty database on the test cluster, so each platform process starts from nothing."""
    url = make_url(base_url)
    name = f"cs_it_{uuid.uuid4().hex[:12]}"
    admin = create_sync_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


ServerDatabase = Callable[[], str | None]


@pytest.fixture(scope="session")
def server_database() -> ServerDatabase:
    """Database URLs for platform processes: a fresh PostgreSQL database for each call when the suite runs
    on PostgreSQL, else None (the process makes its own SQLite file)."""
    base = os.environ.get(TEST_DATABASE_URL_ENV)
    return (lambda: fresh_postgres_database(base)) if base else (lambda: None)


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
