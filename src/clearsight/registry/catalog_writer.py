"""Catalog writes inside a transaction the caller holds: bulk replacement, single items, regions.

Statements are Core on the tables (executemany for bulk), upserts use ON CONFLICT (SQLite and
PostgreSQL alike), so a catalog of thousands of items costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from clearsight.registry.catalog_rows import (
    CHANNEL_COLUMNS,
    GROUP_COLUMNS,
    channel_values,
    differs,
    group_values,
    region_rows,
)
from clearsight.registry.errors import UnknownDevice
from clearsight.registry.models import Base, utc_now
from clearsight.registry.records import ChannelRecordIn, GroupRecordIn

DELETE_CHUNK = 500  # IDs per DELETE … IN (…), well under SQLite's bound-parameter limit

DEVICES: Table = Base.metadata.tables["devices"]
CHANNELS: Table = Base.metadata.tables["channels"]
GROUPS: Table = Base.metadata.tables["catalog_groups"]
REGIONS: Table = Base.metadata.tables["regions"]


def insert_for(session: AsyncSession, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can say ON CONFLICT, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: object) -> int:
    """Rows matched by an UPDATE/DELETE (session.execute is typed as returning a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


async def touch_device(session: AsyncSession, device_id: str, now: datetime) -> None:
    """A write on the device row, as a transaction's first statement; raises UnknownDevice.

    On SQLite this takes the write lock at once, so the transaction never has to upgrade a read
    snapshot (which fails immediately with "database is locked" when another writer got in between);
    on PostgreSQL it serialises catalog writes per device.
    """
    result = await session.execute(update(DEVICES).where(DEVICES.c.id == device_id).values(updated_at=now))
    if rowcount(result) == 0:
        raise UnknownDevice(device_id)


async def upsert_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Insert or update rows of `table` keyed by (device_id, gb_id), setting `columns` (executemany)."""
    if not rows:
        return
    insert = insert_for(session, table)
    statement = insert.on_conflict_do_update(
        index_elements=["device_id", "gb_id"], set_={name: insert.excluded[name] for name in columns}
    )
    await session.execute(statement, rows)


async def replace_rows(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    device_id: str,
    wanted: dict[str, dict[str, Any]],
    now: datetime | None,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Make the device's rows in `table` exactly `wanted` (by gb_id); returns (added, updated, removed).

    Unchanged rows are left alone. `now`, when given, is written to `updated_at` of changed rows.
    """
    stored_rows = await session.execute(
        select(table.c.gb_id, *(table.c[name] for name in columns)).where(table.c.device_id == device_id)
    )
    stored = {row.gb_id: row._mapping for row in stored_rows}
    added = [gb_id for gb_id in wanted if gb_id not in stored]
    updated = [gb_id for gb_id in wanted if gb_id in stored and differs(stored[gb_id], wanted[gb_id])]
    removed = [gb_id for gb_id in stored if gb_id not in wanted]
    stamp = {"updated_at": now} if now is not None else {}
    await upsert_rows(
        session,
        table,
        [*columns, *stamp],
        [{"device_id": device_id, "gb_id": gb_id, **wanted[gb_id], **stamp} for gb_id in (*added, *updated)],
    )
    for start in range(0, len(removed), DELETE_CHUNK):
        chunk = removed[start : start + DELETE_CHUNK]
        await session.execute(delete(table).where(table.c.device_id == device_id, table.c.gb_id.in_(chunk)))
    return tuple(added), tuple(updated), tuple(removed)


async def ensure_regions(session: AsyncSession, region_codes: Iterable[str | None]) -> None:
    """Insert the region-tree nodes on the way to each code (existing nodes keep their names)."""
    rows = [
        {"code": r.code, "name": r.name, "parent_code": r.parent_code, "level": r.level}
        for r in region_rows(region_codes)
    ]
    if rows:
        insert = insert_for(session, REGIONS)
        await session.execute(insert.on_conflict_do_nothing(index_elements=["code"]), rows)


async def set_channel_online(session: AsyncSession, device_id: str, gb_id: str, online: bool) -> bool:
    """Set one channel's status; False when it is unknown or already so."""
    result = await session.execute(
        update(CHANNELS)
        .where(CHANNELS.c.device_id == device_id, CHANNELS.c.gb_id == gb_id, CHANNELS.c.online.is_not(online))
        .values(online=online, updated_at=utc_now())
    )
    return rowcount(result) > 0


async def upsert_item(
    session: AsyncSession, device_id: str, item: ChannelRecordIn | GroupRecordIn, now: datetime
) -> str:
    """Store one catalog item; returns "added", "updated" or "unchanged"."""
    if isinstance(item, ChannelRecordIn):
        table, columns, values = CHANNELS, CHANNEL_COLUMNS, channel_values(item)
        stamp: dict[str, Any] = {"updated_at": now}
    else:
        table, columns, values = GROUPS, GROUP_COLUMNS, group_values(item)
        stamp = {}
    stored = (
        await session.execute(
            select(*(table.c[name] for name in columns)).where(
                table.c.device_id == device_id, table.c.gb_id == item.gb_id
            )
        )
    ).first()
    if stored is not None and not differs(stored._mapping, values):
        return "unchanged"
    row = {"device_id": device_id, "gb_id": item.gb_id, **values, **stamp}
    await upsert_rows(session, table, [*columns, *stamp], [row])
    if isinstance(item, ChannelRecordIn):
        await ensure_regions(session, [values["region_code"]])
    return "added" if stored is None else "updated"


async def delete_item(session: AsyncSession, device_id: str, gb_id: str) -> bool:
    """Delete the channel (or else the group) with this GB ID; False when the device has neither."""
    for table in (CHANNELS, GROUPS):
        result = await session.execute(
            delete(table).where(table.c.device_id == device_id, table.c.gb_id == gb_id)
        )
        if rowcount(result) > 0:
            return True
    return False


async def recount_channels(session: AsyncSession, device_id: str) -> None:
    """Set the device's channel_count from its stored channels."""
    count = select(func.count(CHANNELS.c.id)).where(CHANNELS.c.device_id == device_id).scalar_subquery()
    await session.execute(update(DEVICES).where(DEVICES.c.id == device_id).values(channel_count=count))
