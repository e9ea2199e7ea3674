"""Alembic environment for Clearsight, configured in code by `clearsight.db.alembic_config()`.

The database URL (sync driver) arrives in `config.attributes["url"]`; a caller that already holds a
connection may pass it as `config.attributes["connection"]` instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from clearsight.access import credential_models  # noqa: F401 - registers the session and API token tables
from clearsight.access import models as access_models  # noqa: F401 - registers the access tables
from clearsight.audit import models as audit_models  # noqa: F401 - registers the audit tables
from clearsight.privacy import models as privacy_models  # noqa: F401 - registers the privacy mask table
from clearsight.registry import (
    admission_models,  # noqa: F401 - registers the device admission table
    recording_models,  # noqa: F401 - registers the recording tables
)
from clearsight.registry.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> URL | str:
    url: URL | str | None = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database URL: build the configuration with clearsight.db.alembic_config()")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL of the migrations instead of running them (`alembic upgrade --sql`)."""
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection or on a new one to the configured URL."""
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(_database_url(), poolclass=NullPool)
    try:
        with engine.connect() as new_connection:
            _configure(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
