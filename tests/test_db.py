"""`WriteTransactions`: the stores' write transactions, queued on SQLite and concurrent on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import WriteTransactions, session_factory

WRITERS = 3


async def test_writes_are_queued_on_sqlite_and_concurrent_on_postgresql(db_engine: AsyncEngine) -> None:
    writes = WriteTransactions(session_factory(db_engine))
    inside = most = 0

    async def write() -> None:
        nonlocal inside, most
        async with writes.begin() as session:
            await session.execute(text("SELECT 1"))
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(WRITERS)))
    sqlite = db_engine.dialect.name == "sqlite"
    assert writes.serialized is sqlite
    assert most == (1 if sqlite else WRITERS)


async def test_a_failed_write_lets_the_next_one_in(db_engine: AsyncEngine) -> None:
    writes = WriteTransactions(session_factory(db_engine))
    with pytest.raises(ZeroDivisionError):
        async with writes.begin():
            _ = 1 / 0
    async with asyncio.timeout(5), writes.begin() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
