"""The SQL of channel and device lists and of the region tree's counts, filtered by what the caller may see.

The permission filter is `clearsight.access.channel_filter.scope_condition`; this module combines it with
the lists' own filters, pages by key (channels by `ChannelKey`: device, then GB ID; devices by ID; each the
list's order and a unique index) and counts. Profiled in docs/benchmarks.md (Access control).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, Integer, Select, case, exists, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from clearsight.access.channel_filter import scope_condition
from clearsight.access.policy import ChannelScope
from clearsight.registry.models import Channel, Device

Listed = TypeVar("Listed", Channel, Device)

REGION_CODE_LENGTHS = (2, 4, 6, 8)  # GB/T 2260: province, city, county, grass-roots unit


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What channel and device lists both ask for; `region` is a region-tree code (a prefix), `scope` the
    caller's."""

    online: bool | None = None
    name_contains: str | None = None
    region: str | None = None
    scope: ChannelScope | None = None

    def _online_and_name(self, model: type[Channel] | type[Device]) -> list[ColumnElement[bool]]:
        """The online state, and a name containing the text (LIKE wildcards escaped)."""
        conditions: list[ColumnElement[bool]] = []
        if self.online is not None:
            conditions.append(model.online.is_(self.online))
        if self.name_contains:
            conditions.append(model.name.icontains(self.name_contains, autoescape=True))
        return conditions


@dataclass(frozen=True, slots=True)
class ChannelFilter(ListFilter):
    """A channel list's filter: the channels `scope` admits, of one device when `device_id` is given."""

    device_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.scope is not None:
            conditions.append(scope_condition(self.scope))
        if self.device_id is not None:
            conditions.append(Channel.device_id == self.device_id)
        conditions.extend(self._online_and_name(Channel))
        if self.region is not None:
            conditions.append(Channel.region_code.startswith(self.region, autoescape=True))
        return conditions


@dataclass(frozen=True, slots=True)
class DeviceFilter(ListFilter):
    """A device list's filter: devices with a channel `scope` admits; `region` matched by the device's ID or by
    such a channel."""

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.scope is not None:
            conditions.append(devices_in_scope(self.scope))
        conditions.extend(self._online_and_name(Device))
        if self.region is not None:
            # Through its channels: only those the caller may see count.
            in_channels = exists().where(
                Channel.device_id == Device.id, Channel.region_code.startswith(self.region, autoescape=True),
                *([scope_condition(self.scope)] if self.scope is not None else []),
            )
            conditions.append(Device.id.startswith(self.region, autoescape=True) | in_channels)
        return conditions


def channel_count(conditions: list[ColumnElement[bool]]) -> Select[int]:
    return select(func.count()).select_from(Channel).where(*conditions)


def channel_page(conditions: list[ColumnElement[bool]], *, offset: int = 0, limit: int,
                 after: tuple[str, str] | None = None) -> Select[Channel]:
    """The channels in list order, from `offset` or after the key `after` (never both)."""
    # A row-value comparison: SQLite (3.15+) and PostgreSQL both seek the (device_id, gb_id) index.
    return _in_key_order(select(Channel).where(*conditions), (Channel.device_id, Channel.gb_id), offset=offset,
                         limit=limit, after=after)


def device_count(conditions: list[ColumnElement[bool]]) -> Select[int]:
    return select(func.count()).select_from(Device).where(*conditions)


def device_page(conditions: list[ColumnElement[bool]], *, offset: int = 0, limit: int,
                after: str | None = None) -> Select[Device]:
    """The devices in list order (by ID, the primary key), from `offset` or after the ID `after` (never both)."""
    return _in_key_order(select(Device).where(*conditions), (Device.id,), offset=offset, limit=limit,
                         after=(after,) if after is not None else None)


def _in_key_order(query: Select[Listed], key: tuple[InstrumentedAttribute[str], ...], *, offset: int, limit: int,
                  after: tuple[str, ...] | None) -> Select[Listed]:
    """`query` ordered by the unique `key` columns, from `offset` or after the key values `after`."""
    if after is not None:
        query = query.where(tuple_(*key) > tuple_(*after) if len(key) > 1 else key[0] > after[0])
    return query.order_by(*key).offset(offset or None).limit(limit)


def devices_in_scope(scope: ChannelScope) -> ColumnElement[bool]:
    """Devices with at least one channel `scope` admits. A correlated EXISTS: walking devices in order, each
    probe stops at the device's first visible channel, so a page costs ~1 ms; `IN (SELECT …)` first
    collected every visible channel (~200 ms CPU for 40,000 of them)."""
    return exists().where(Channel.device_id == Device.id, scope_condition(scope))


def region_counts(scope: ChannelScope | None) -> Select[str | None, int, int]:
    """Channels and online channels per region code (one pass; `roll_up` adds them to the ancestors)."""
    conditions: list[ColumnElement[bool]] = [Channel.region_code.is_not(None)]
    if scope is not None:
        conditions.append(scope_condition(scope))
    online = func.sum(case((Channel.online, 1), else_=0), type_=Integer)
    return (select(Channel.region_code, func.count(), online)
            .where(*conditions).group_by(Channel.region_code))


def roll_up(per_code: Iterable[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """(channels, online) per region node, each node counting its own codes and its descendants'."""
    totals: dict[str, tuple[int, int]] = {}
    for code, channels, online in per_code:
        for length in REGION_CODE_LENGTHS:
            if length > len(code):
                break
            node = code[:length]
            seen, up = totals.get(node, (0, 0))
            totals[node] = (seen + int(channels), up + int(online or 0))
    return totals
