"""The database engine, sessions and migrations.

Two databases are supported with the same schema and the same test suite: SQLite (embedded default,
through aiosqlite, in WAL mode) and PostgreSQL (through psycopg 3, async). Migrations are Alembic's,
shipped inside the package (`clearsight/migrations/`) and configured in code, so they run from an
installed wheel without an `alembic.ini`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000  # how long a writer waits for SQLite's lock before "database is locked"

# URL drivers: the async one the platform runs on, and the sync one Alembic runs on.
_ASYNC_TO_SYNC = {
    "sqlite+aiosqlite": "sqlite",
    "sqlite": "sqlite",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
}
_SYNC_TO_ASYNC = {"sqlite": "sqlite+aiosqlite", "postgresql+psycopg": "postgresql+psycopg"}


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver Clearsight does not run on."""

    def __init__(self, drivername: str) -> None:
        super().__init__(
            f"unsupported database driver {drivername!r}: use sqlite+aiosqlite or postgresql+psycopg"
        )
        self.drivername = drivername


def create_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite or postgresql+psycopg; plain schemes are accepted).

    SQLite connections get WAL journaling, foreign keys and a busy timeout; the file's directory is
    created if missing. The sqlite3 module's own transaction handling (which starts a transaction only
    at the first INSERT/UPDATE/DELETE) is replaced by an explicit BEGIN, so that reads inside a
    transaction see one snapshot and SAVEPOINTs work.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_directory(parsed)
        engine = create_async_engine(parsed, **engine_options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **engine_options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; objects stay readable after commit (no implicit reload in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


class WriteTransactions:
    """Write transactions on `sessions`; on SQLite, one at a time.

    SQLite has one writer at a time; concurrent writers wait in its busy handler, which sleeps in growing
    steps (up to 100 ms). Queuing a store's writers on a lock instead keeps each write prompt. PostgreSQL
    writers run concurrently.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        self.serialized = bind is not None and bind.dialect.name == "sqlite"
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed on leaving (rolled back on an exception)."""
        if not self.serialized:
            async with self._sessions.begin() as session:
                yield session
            return
        async with self._lock, self._sessions.begin() as session:
            yield session


def async_url(url: str | URL) -> URL:
    """`url` with the async driver Clearsight runs on."""
    parsed = make_url(url)
    sync = _ASYNC_TO_SYNC.get(parsed.drivername)
    if sync is None:
        raise UnsupportedDatabase(parsed.drivername)
    return parsed.set(drivername=_SYNC_TO_ASYNC[sync])


def sync_url(url: str | URL) -> URL:
    """`url` with a synchronous driver, for Alembic: sqlite+aiosqlite → sqlite; psycopg serves both."""
    parsed = make_url(url)
    sync = _ASYNC_TO_SYNC.get(parsed.drivername)
    if sync is None:
        raise UnsupportedDatabase(parsed.drivername)
    return parsed.set(drivername=sync)


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for the packaged migrations against `url` (for `alembic.command.*`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option: a URL-encoded password's "%" would break ini interpolation.
    config.attributes["url"] = sync_url(url)
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (blocking: call it before the loop or in a thread)."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_directory(parsed)
    logger.info("migrating %s to %s", parsed.render_as_string(hide_password=True), revision)
    command.upgrade(alembic_config(parsed), revision)


def _ensure_sqlite_directory(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we say BEGIN ourselves (_begin_sqlite_transaction)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync only at checkpoints
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
