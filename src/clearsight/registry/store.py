"""The registry's persistence: devices, their catalogs (channels and groups), and the region tree.

All access is async and hands out frozen records, never ORM objects. Bulk writes (a catalog of
thousands of channels, a batch of keepalives) are one transaction of executemany statements.

Every writing method starts its transaction with a write (on the device row where there is one): on
SQLite that takes the write lock up front, so a transaction never has to upgrade a stale read snapshot
(which fails at once with "database is locked"); on PostgreSQL it serialises catalog writes per device.

Region filters take a civil-code prefix (2, 4, 6 or 8 digits; trailing "00" pairs are dropped, so
"34020000" means the city "3402"). A channel is in region R when its civil code's region node starts
with R. A device is in region R when its ID (whose first 8 digits are its centre code) starts with R, or
when any of its channels is in R.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.access.channel_filter import scope_condition
from clearsight.access.policy import ChannelScope
from clearsight.db import WriteTransactions
from clearsight.gb28181.regions import InvalidCivilCode, region_path
from clearsight.registry import catalog_writer as writer
from clearsight.registry import channel_query
from clearsight.registry.catalog_rows import (
    CHANNEL_COLUMNS,
    GROUP_COLUMNS,
    channel_values,
    group_values,
    latest_by_id,
    region_code_of,
    valid_item_id,
)
from clearsight.registry.catalog_writer import CHANNELS, DEVICES, GROUPS, rowcount
from clearsight.registry.channel_query import REGION_CODE_LENGTHS, ChannelFilter, DeviceFilter
from clearsight.registry.errors import InvalidRegion, UnknownDevice
from clearsight.registry.models import GB_ID_LENGTH, Channel, Device, Group, Region, UtcDateTime, utc_now
from clearsight.registry.records import (
    CatalogDiff,
    CatalogEvent,
    CatalogEventType,
    ChannelKey,
    ChannelRecord,
    ChannelRecordIn,
    DeviceRecord,
    GroupKind,
    GroupRecord,
    GroupRecordIn,
    KeySlice,
    Page,
    PresenceUpdate,
    RegionNode,
    RegistrationRecord,
    Transport,
)

logger = logging.getLogger(__name__)

R = TypeVar("R")
K = TypeVar("K")

MAX_PAGE_SIZE = 1000
# Rows per transaction when writing many devices' registrations or presence at once.
REGISTRATION_BATCH = 500
PRESENCE_BATCH = 1000
_CHANNEL_RECORD_FIELDS = tuple(ChannelRecord.__dataclass_fields__)
_DEVICE_RECORD_FIELDS = tuple(name for name in DeviceRecord.__dataclass_fields__ if name != "has_password")


class RegistryStore:
    """Devices, channels, groups and regions in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._write = WriteTransactions(sessions).begin  # a write transaction; on SQLite, one at a time

    def write_transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A write transaction queued with the registry's own (on SQLite one writer at a time)."""
        return self._write()

    def read_session(self) -> AsyncSession:
        """A session for reads (`async with`), not queued behind writes."""
        return self._sessions()

    # --- devices ---

    async def upsert_device(
        self,
        device_id: str,
        *,
        name: str | None = None,
        transport: str,
        remote_host: str,
        remote_port: int,
        registered_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Record one (re-)registration: the device is online, reachable at the given address."""
        await self.record_registrations(
            [RegistrationRecord(device_id, transport, remote_host, remote_port, registered_at, expires_at)])
        if name is not None:
            await self._update_device(device_id, name=name)
        logger.debug("device %s registered from %s:%s/%s", device_id, remote_host, remote_port, transport)

    async def record_registrations(self, registrations: Sequence[RegistrationRecord]) -> None:
        """Many devices' registrations, in transactions of REGISTRATION_BATCH rows (a site restart brings
        thousands back at once; one row per transaction would take seconds)."""
        now = utc_now()
        for start in range(0, len(registrations), REGISTRATION_BATCH):
            batch = registrations[start:start + REGISTRATION_BATCH]
            rows = []
            for r in batch:
                if not 0 < len(r.device_id) <= GB_ID_LENGTH:
                    raise ValueError(f"device ID {r.device_id!r} is not a GB ID")
                rows.append({"id": r.device_id, "transport": Transport(r.transport.lower()).value,
                             "remote_host": r.remote_host, "remote_port": r.remote_port, "online": True,
                             "registered_at": r.registered_at, "expires_at": r.expires_at,
                             "last_keepalive": r.registered_at, "updated_at": now, "created_at": now})
            async with self._write() as session:
                insert = writer.insert_for(session, DEVICES).values(rows)
                updated = {name: insert.excluded[name] for name in rows[0] if name not in ("id", "created_at")}
                await session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=updated))

    async def get_device(self, device_id: str) -> DeviceRecord | None:
        async with self._sessions() as session:
            device = await session.get(Device, device_id)
            return _device_record(device) if device is not None else None

    async def device_password(self, device_id: str) -> str | None:
        """The device's own password, or None (unknown device or none set: use the default)."""
        async with self._sessions() as session:
            return await session.scalar(select(Device.password).where(Device.id == device_id))

    async def device_passwords(self) -> dict[str, str]:
        """Every device's own password, by device ID (for an in-memory lookup at start)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Device.id, Device.password).where(Device.password.is_not(None))
            )
            return {device_id: password for device_id, password in rows if password is not None}

    async def set_device_password(self, device_id: str, password: str | None) -> None:
        """Set (or with None clear) the device's own password."""
        await self._update_device(device_id, password=password)

    async def update_device_info(
        self,
        device_id: str,
        name: str | None,
        manufacturer: str | None,
        model: str | None,
        firmware: str | None,
    ) -> None:
        """Store a DeviceInfo response."""
        await self._update_device(
            device_id, name=name, manufacturer=manufacturer, model=model, firmware=firmware
        )

    async def apply_presence(self, updates: Sequence[PresenceUpdate]) -> None:
        """Many devices' online state and last keepalive; unknown devices are skipped.

        Written in transactions of PRESENCE_BATCH rows, yielding to the event loop between them, so that
        flushing 100,000 keepalive times never stalls signalling for long.
        """
        for start in range(0, len(updates), PRESENCE_BATCH):
            if start:
                await asyncio.sleep(0)
            await self._apply_presence_batch(updates[start:start + PRESENCE_BATCH])

    async def _apply_presence_batch(self, updates: Sequence[PresenceUpdate]) -> None:
        if not updates:
            return
        statement = (
            update(DEVICES)
            .where(DEVICES.c.id == bindparam("b_id"))
            .values(
                online=bindparam("b_online"),
                last_keepalive=func.coalesce(
                    bindparam("b_keepalive", type_=UtcDateTime()), DEVICES.c.last_keepalive
                ),
                updated_at=bindparam("b_now", type_=UtcDateTime()),
            )
        )
        now = utc_now()
        rows = [
            {"b_id": u.device_id, "b_online": u.online, "b_keepalive": u.last_keepalive, "b_now": now}
            for u in updates
        ]
        async with self._write() as session:
            await session.execute(statement, rows)

    async def delete_device(self, device_id: str) -> bool:
        """Forget a device with its channels and groups; False when there was none."""
        async with self._write() as session:
            result = await session.execute(delete(DEVICES).where(DEVICES.c.id == device_id))
            return rowcount(result) > 0

    async def list_devices(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> Page[DeviceRecord]:
        """Devices ordered by ID from `offset`, with the number of matches; `region` as described in the module
        docstring; only those with a channel `scope` admits (the caller's grants, `clearsight.access`) when given.

        Deep offsets cost a walk over every skipped match: `list_devices_after` pages by key instead."""
        _check_page(offset, limit)
        conditions = self._device_filter(online, name_contains, region, scope).conditions()
        async with self._sessions() as session:
            total = await session.scalar(channel_query.device_count(conditions))
            rows = await session.scalars(channel_query.device_page(conditions, offset=offset, limit=limit))
            return Page(total or 0, offset, limit, tuple(_device_record(d) for d in rows))

    async def list_devices_after(
        self,
        after: str | None,
        *,
        limit: int = 100,
        count: bool = False,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> KeySlice[DeviceRecord, str]:
        """The next `limit` devices after the device ID `after` (from the first with None), in `list_devices`'
        order and with its filters; the number of all matches only when `count`. Each page costs about the same."""
        _check_page(0, limit)
        conditions = self._device_filter(online, name_contains, region, scope).conditions()
        async with self._sessions() as session:
            total = await session.scalar(channel_query.device_count(conditions)) if count else None
            rows = list(await session.scalars(channel_query.device_page(conditions, limit=limit + 1, after=after)))
        return _key_slice(total, limit, [_device_record(d) for d in rows], lambda device: device.id)

    @staticmethod
    def _device_filter(online: bool | None, name_contains: str | None, region: str | None,
                       scope: ChannelScope | None) -> DeviceFilter:
        return DeviceFilter(online=online, name_contains=name_contains,
                            region=_region_prefix(region) if region is not None else None, scope=scope)

    async def device_in_scope(self, device_id: str, scope: ChannelScope, *, every_channel: bool = False) -> bool:
        """Whether the device has a channel `scope` admits; with `every_channel`, also none that it does not."""
        condition: ColumnElement[bool] = exists().where(Channel.device_id == device_id, scope_condition(scope))
        if every_channel:  # NOT IN the admitted keys: a NULL region code must count as outside, not as unknown
            admitted = select(Channel.id).where(Channel.device_id == device_id, scope_condition(scope))
            condition = condition & ~exists().where(Channel.device_id == device_id, Channel.id.not_in(admitted))
        async with self._sessions() as session:
            return bool(await session.scalar(select(condition)))

    # --- channels ---

    async def get_channel(self, channel_pk: int) -> ChannelRecord | None:
        async with self._sessions() as session:
            channel = await session.get(Channel, channel_pk)
            return _channel_record(channel) if channel is not None else None

    async def find_channel(self, device_id: str, gb_id: str) -> ChannelRecord | None:
        """A channel by its device and its own GB ID."""
        async with self._sessions() as session:
            channel = await session.scalar(
                select(Channel).where(Channel.device_id == device_id, Channel.gb_id == gb_id)
            )
            return _channel_record(channel) if channel is not None else None

    async def list_channels(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> Page[ChannelRecord]:
        """Channels ordered by device and GB ID from `offset`, with the number of matches; `region` is a
        civil-code prefix; only those `scope` admits (the caller's grants, `clearsight.access`) when given.

        Deep offsets cost a walk over every skipped match: `list_channels_after` pages by key instead."""
        _check_page(offset, limit)
        conditions = self._channel_filter(device_id, online, name_contains, region, scope).conditions()
        async with self._sessions() as session:
            total = await session.scalar(channel_query.channel_count(conditions))
            rows = await session.scalars(channel_query.channel_page(conditions, offset=offset, limit=limit))
            return Page(total or 0, offset, limit, tuple(_channel_record(c) for c in rows))

    async def list_channels_after(
        self,
        after: ChannelKey | None,
        *,
        limit: int = 100,
        count: bool = False,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> KeySlice[ChannelRecord, ChannelKey]:
        """The next `limit` channels after `after` (from the first with None), in `list_channels`' order and
        with its filters; the number of all matches only when `count`. Each page costs about the same."""
        _check_page(0, limit)
        conditions = self._channel_filter(device_id, online, name_contains, region, scope).conditions()
        key = (after.device_id, after.gb_id) if after is not None else None
        async with self._sessions() as session:
            total = await session.scalar(channel_query.channel_count(conditions)) if count else None
            rows = list(await session.scalars(channel_query.channel_page(conditions, limit=limit + 1, after=key)))
        return _key_slice(total, limit, [_channel_record(c) for c in rows],
                          lambda channel: ChannelKey(channel.device_id, channel.gb_id))

    @staticmethod
    def _channel_filter(device_id: str | None, online: bool | None, name_contains: str | None, region: str | None,
                        scope: ChannelScope | None) -> ChannelFilter:
        return ChannelFilter(online=online, name_contains=name_contains,
                             region=_region_prefix(region) if region is not None else None, scope=scope,
                             device_id=device_id)

    async def list_groups(
        self, *, offset: int = 0, limit: int = 100, device_id: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupRecord]:
        """Business groups and virtual organisations, ordered by device and GB ID."""
        _check_page(offset, limit)
        conditions: list[ColumnElement[bool]] = []
        if device_id is not None:
            conditions.append(Group.device_id == device_id)
        if kind is not None:
            conditions.append(Group.kind == kind.value)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Group).where(*conditions))
            rows = await session.scalars(
                select(Group).where(*conditions).order_by(Group.device_id, Group.gb_id).offset(offset).limit(limit)
            )
            items = tuple(
                GroupRecord(g.id, g.device_id, g.gb_id, GroupKind(g.kind), g.name, g.parent_id, g.business_group_id)
                for g in rows
            )
            return Page(total or 0, offset, limit, items)

    async def set_channels_online(self, device_id: str, online: bool) -> int:
        """Mark all of a device's channels on- or offline; returns how many changed."""
        async with self._write() as session:
            result = await session.execute(
                update(CHANNELS)
                .where(CHANNELS.c.device_id == device_id, CHANNELS.c.online.is_not(online))
                .values(online=online, updated_at=utc_now())
            )
            return rowcount(result)

    async def replace_catalog(
        self, device_id: str, channels: Sequence[ChannelRecordIn], groups: Sequence[GroupRecordIn]
    ) -> CatalogDiff:
        """Make the device's stored catalog exactly `channels` and `groups`, in one transaction.

        Unchanged rows are not rewritten; channels and groups not given are deleted; the device's
        channel count and the region tree are brought up to date.
        """
        wanted_channels, rejected = latest_by_id(channels)
        wanted_groups, rejected_groups = latest_by_id(groups)
        now = utc_now()
        async with self._write() as session:
            await writer.touch_device(session, device_id, now)
            channel_diff = await writer.replace_rows(
                session,
                CHANNELS,
                CHANNEL_COLUMNS,
                device_id,
                {gb_id: channel_values(item) for gb_id, item in wanted_channels.items()},
                now,
            )
            group_diff = await writer.replace_rows(
                session,
                GROUPS,
                GROUP_COLUMNS,
                device_id,
                {gb_id: group_values(item) for gb_id, item in wanted_groups.items()},
                None,
            )
            await session.execute(
                update(DEVICES).where(DEVICES.c.id == device_id).values(channel_count=len(wanted_channels))
            )
            await writer.ensure_regions(
                session, (region_code_of(c.civil_code) for c in wanted_channels.values())
            )
        diff = CatalogDiff(
            added=channel_diff[0] + group_diff[0],
            updated=channel_diff[1] + group_diff[1],
            removed=channel_diff[2] + group_diff[2],
            rejected=tuple(rejected + rejected_groups),
        )
        logger.info(
            "device %s catalog stored: %d channels, %d groups (+%d ~%d -%d)",
            device_id,
            len(wanted_channels),
            len(wanted_groups),
            len(diff.added),
            len(diff.updated),
            len(diff.removed),
        )
        return diff

    async def apply_catalog_events(self, device_id: str, events: Sequence[CatalogEvent]) -> CatalogDiff:
        """Apply catalog change notifications in order (ON/OFF, ADD/UPDATE, DEL) in one transaction."""
        added: list[str] = []
        updated: list[str] = []
        removed: list[str] = []
        rejected: list[str] = []
        now = utc_now()
        async with self._write() as session:
            await writer.touch_device(session, device_id, now)
            for event in events:
                kind, item = event.event, event.item
                if kind in (CatalogEventType.ON, CatalogEventType.OFF):
                    online = kind is CatalogEventType.ON
                    if await writer.set_channel_online(session, device_id, event.gb_id, online):
                        updated.append(event.gb_id)
                elif kind in (CatalogEventType.ADD, CatalogEventType.UPDATE):
                    if item is None or item.gb_id != event.gb_id or not valid_item_id(item.gb_id):
                        rejected.append(event.gb_id)
                        continue
                    outcome = await writer.upsert_item(session, device_id, item, now)
                    if outcome == "added":
                        added.append(item.gb_id)
                    elif outcome == "updated":
                        updated.append(item.gb_id)
                elif kind is CatalogEventType.DEL:
                    if await writer.delete_item(session, device_id, event.gb_id):
                        removed.append(event.gb_id)
                else:
                    logger.info("device %s channel %s reports %s", device_id, event.gb_id, kind)
            await writer.recount_channels(session, device_id)
        return CatalogDiff(tuple(added), tuple(updated), tuple(removed), tuple(rejected))

    # --- regions ---

    async def region_tree(self, scope: ChannelScope | None = None) -> list[RegionNode]:
        """The region tree, provinces first, with channel and online counts including descendants (counting
        only the channels `scope` admits, when given)."""
        async with self._sessions() as session:
            result = await session.execute(channel_query.region_counts(scope))
            per_code = [(code, channels, online) for code, channels, online in result if code is not None]
            regions = (await session.execute(
                select(Region.code, Region.name, Region.level, Region.parent_code).order_by(Region.code))).all()
        counts = channel_query.roll_up(per_code)
        rows = [(code, name, level, parent, *counts.get(code, (0, 0))) for code, name, level, parent in regions]
        children: dict[str | None, list[tuple[Any, ...]]] = {}
        known = {row[0] for row in rows}
        for row in rows:
            parent = row[3] if row[3] in known else None
            children.setdefault(parent, []).append(tuple(row))

        def build(row: tuple[Any, ...]) -> RegionNode:
            code, name, level, _parent, channel_count, online_count = row
            kids = tuple(build(child) for child in children.get(code, []))
            return RegionNode(code, name, level, int(channel_count), int(online_count), kids)

        return [build(row) for row in children.get(None, [])]

    async def _update_device(self, device_id: str, **values: Any) -> None:
        async with self._write() as session:
            result = await session.execute(
                update(DEVICES).where(DEVICES.c.id == device_id).values(updated_at=utc_now(), **values)
            )
            if rowcount(result) == 0:
                raise UnknownDevice(device_id)


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE_SIZE}, got {limit}")


def _key_slice(total: int | None, limit: int, rows: list[R], key: Callable[[R], K]) -> KeySlice[R, K]:
    """A keyset page from up to `limit + 1` rows read after the key: the extra row says there is a next page."""
    items = tuple(rows[:limit])
    return KeySlice(total, limit, items, key(items[-1]) if len(rows) > limit else None)


def _region_prefix(region: str) -> str:
    if len(region) not in REGION_CODE_LENGTHS:
        raise InvalidRegion(region, "expected 2, 4, 6 or 8 digits")
    try:
        return region_path(region)[-1]
    except InvalidCivilCode as error:
        raise InvalidRegion(region, error.reason) from None


def _device_record(device: Device) -> DeviceRecord:
    values = {name: getattr(device, name) for name in _DEVICE_RECORD_FIELDS}
    return DeviceRecord(has_password=device.password is not None, **values)


def _channel_record(channel: Channel) -> ChannelRecord:
    return ChannelRecord(**{name: getattr(channel, name) for name in _CHANNEL_RECORD_FIELDS})
