"""Fixtures of the audit tests: a platform key and an audit log on the migrated test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clearsight.audit import AuditLog, CheckpointPolicy
from clearsight.db import session_factory
from clearsight.signing import SigningKey, load_or_create_signing_key


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    return load_or_create_signing_key(tmp_path / "signing_key.pem")


@pytest.fixture
def sessions(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(db_engine)


@pytest.fixture
async def audit_log(sessions: async_sessionmaker[AsyncSession], signing_key: SigningKey) -> AsyncIterator[AuditLog]:
    log = AuditLog(sessions, signing_key, policy=CheckpointPolicy(every_entries=50, every_seconds=3600))
    await log.start()
    try:
        yield log
    finally:
        await log.close()
