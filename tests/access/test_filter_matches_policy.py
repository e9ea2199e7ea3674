"""The SQL permission filter admits exactly what `policy.authorize` allows, on random grants and channels.

A faster filter must not change who sees what: for random subjects and grants (every scope kind, classes,
hours of day, periods, revocations, values at the edges of the code ranges, keys that name no channel),
channel lists (by offset and by key, with their counts), device lists and the region tree's counts are
compared with the in-Python decision for every channel. Runs on SQLite, and on PostgreSQL when
CLEARSIGHT_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import (
    Action,
    ChannelClass,
    ChannelScope,
    Grant,
    HoursOfDay,
    ScopeClause,
    ScopeKind,
    Subject,
    authorize,
    visible_scope,
)
from clearsight.access.users import Role
from clearsight.db import session_factory
from clearsight.registry.models import Channel, Device, Region
from clearsight.registry.records import ChannelKey
from clearsight.registry.store import RegistryStore

NOW = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
ROUNDS = 30
CHANNELS = 360
DEVICES = ("34010000001320000001", "34090000001320000002", "35000000001320000003", "99000000001320000004",
           "34099900001320000005")
# A small tree with codes at the edges of the ranges ("3409"/"3410", "3499"/"35", "99…").
REGION_CODES = ("34", "3401", "340101", "34010101", "3409", "340999", "34099999", "3410", "341000", "3499",
                "349999", "35", "3500", "99", "9999", "999999", "99999999")
PREFIXES = (*REGION_CODES, "3", "340", "36", "98", "3498", "")
GROUPS = tuple(f"3401000000215000{n:04d}" for n in range(6))


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    device_id: str
    gb_id: str
    region_code: str | None
    business_group_id: str | None
    channel_class: str


async def _populate(store: RegistryStore, engine: AsyncEngine, rng: random.Random) -> list[Row]:
    rows = []
    for pk in range(1, CHANNELS + 1):
        device = DEVICES[pk % len(DEVICES)]
        rows.append(Row(pk, device, f"{device[:10]}131{pk:07d}", rng.choice((*REGION_CODES, None)),
                        rng.choice((*GROUPS, None, None)), rng.choice(tuple(ChannelClass)).value))
    now = datetime.now(UTC)
    async with session_factory(engine).begin() as session:
        await session.execute(insert(Region), [
            {"code": code, "name": code, "level": "x", "parent_code": code[:-2] or None} for code in REGION_CODES])
        await session.execute(insert(Device), [
            {"id": d, "name": f"d{n}", "online": n % 2 == 0, "transport": "udp", "remote_host": "192.0.2.1",
             "remote_port": 5060, "created_at": now, "updated_at": now} for n, d in enumerate(DEVICES)])
        await session.execute(insert(Channel), [
            {"id": r.id, "device_id": r.device_id, "gb_id": r.gb_id, "name": f"c{r.id}", "region_code": r.region_code,
             "business_group_id": r.business_group_id, "channel_class": r.channel_class, "online": r.id % 3 == 0,
             "updated_at": now} for r in rows])
    return rows


def _scope_values(kind: ScopeKind, rng: random.Random) -> tuple[str, ...]:
    count = rng.randint(1, 4)
    if kind is ScopeKind.REGION:
        return tuple(rng.choice(PREFIXES) for _ in range(count))
    if kind is ScopeKind.BUSINESS_GROUP:
        return tuple(rng.choice((*GROUPS, "3401000000215999999")) for _ in range(count))
    ids = [str(rng.randint(1, CHANNELS + 20)) for _ in range(rng.randint(1, 40))]
    return (*ids, *rng.sample(("007", "0", "12a", "٣", "-5", str(CHANNELS + 1)), rng.randint(0, 2)))


def _grant(number: int, rng: random.Random) -> Grant:
    kind = rng.choice(tuple(ScopeKind))
    for_user = rng.random() < 0.3
    hours = None
    if rng.random() < 0.2:
        hours = HoursOfDay(rng.randrange(0, 24 * 60, 30), rng.randrange(30, 24 * 60 + 1, 30),
                           rng.choice(("UTC", "Asia/Shanghai")))
    return Grant(
        id=f"g{number:03d}", department_id=None if for_user else rng.randint(1, 3),
        user_id=rng.randint(1, 3) if for_user else None,
        actions=frozenset(rng.sample(tuple(Action), rng.randint(1, 3))), scope_kind=kind,
        scope_values=_scope_values(kind, rng), max_class=rng.choice(tuple(ChannelClass)), created_by="admin",
        created_at=NOW - timedelta(days=30), hours=hours,
        valid_from=NOW + timedelta(hours=rng.choice((-5, 5))) if rng.random() < 0.1 else None,
        valid_until=NOW + timedelta(hours=rng.choice((-1, 1))) if rng.random() < 0.15 else None,
        revoked_at=NOW - timedelta(hours=1) if rng.random() < 0.1 else None)


def _allowed(subject: Subject, rows: list[Row], grants: list[Grant], actions: tuple[Action, ...]) -> set[int]:
    return {r.id for r in rows if any(authorize(subject, a, r, grants, NOW).allowed for a in actions)}


async def _listed_by_key(store: RegistryStore, scope: ChannelScope, limit: int) -> list[int]:
    ids: list[int] = []
    after: ChannelKey | None = None
    while True:
        page = await store.list_channels_after(after, limit=limit, scope=scope)
        ids.extend(c.id for c in page.items)
        if page.next_after is None:
            return ids
        after = page.next_after


async def _devices_by_key(store: RegistryStore, limit: int, **filters: Any) -> list[str]:
    """Every device ID walked page by page after the key; every page but the last is full."""
    ids: list[str] = []
    after: str | None = None
    while True:
        page = await store.list_devices_after(after, limit=limit, **filters)
        ids.extend(d.id for d in page.items)
        if page.next_after is None:
            return ids
        assert len(page.items) == limit and page.next_after == ids[-1], filters
        after = page.next_after


async def test_sql_filter_admits_exactly_what_the_policy_allows(db_engine: AsyncEngine) -> None:
    rng = random.Random(28181)
    store = RegistryStore(session_factory(db_engine))
    rows = await _populate(store, db_engine, rng)
    by_id = {r.id: r for r in rows}
    compared = 0
    for round_number in range(ROUNDS):
        grants = [_grant(n, rng) for n in range(rng.randint(1, 12))]
        subject = Subject(rng.randint(1, 3), "someone", rng.choice((Role.VIEWER, Role.OPERATOR)), rng.randint(1, 3))
        for action in (None, *Action):
            scope = visible_scope(subject, grants, NOW, action)
            assert scope is not None
            expected = _allowed(subject, rows, grants, tuple(Action) if action is None else (action,))
            context = f"round {round_number}, {action}, grants {grants}"
            by_key = await _listed_by_key(store, scope, rng.choice((7, 50, 500)))
            assert set(by_key) == expected, context
            assert len(by_key) == len(expected), context
            assert by_key == sorted(by_key, key=lambda pk: (by_id[pk].device_id, by_id[pk].gb_id)), context
            counted = await store.list_channels(offset=0, limit=1000, scope=scope)
            assert [c.id for c in counted.items] == by_key and counted.total == len(expected), context
            if action is None:
                devices = await store.list_devices(offset=0, limit=100, scope=scope)
                assert {d.id for d in devices.items} == {by_id[pk].device_id for pk in expected}, context
                for limit in (1, 2, len(DEVICES)):
                    assert await _devices_by_key(store, limit, scope=scope) == [d.id for d in devices.items], context
                assert _counts(await store.region_tree(scope)) == _expected_counts(rows, expected), context
            if action is Action.MANAGE:  # device actions need the action on every channel of the device
                for device in DEVICES:
                    every = all(r.id in expected for r in rows if r.device_id == device)
                    assert await store.device_in_scope(device, scope, every_channel=True) == every, context
            compared += 1
    assert compared == ROUNDS * (1 + len(Action))


def _counts(nodes: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    stack = list(nodes)  # type: ignore[call-overload]
    while stack:
        node = stack.pop()
        counts[node.code] = node.channel_count
        stack.extend(node.children)
    return counts


def _expected_counts(rows: list[Row], visible: set[int]) -> dict[str, int]:
    return {code: sum(1 for r in rows if r.id in visible and r.region_code is not None
                      and r.region_code.startswith(code)) for code in REGION_CODES}


async def test_keyset_pages_resume_after_the_key_with_every_filter(db_engine: AsyncEngine) -> None:
    store = RegistryStore(session_factory(db_engine))
    rows = await _populate(store, db_engine, random.Random(7))
    everything = await store.list_channels(offset=0, limit=1000)
    order = [c.id for c in everything.items]
    for limit in (1, 13, 359, 360, 361):
        first = await store.list_channels_after(None, limit=limit, count=True)
        assert first.total == len(rows) and [c.id for c in first.items] == order[:limit]
        assert (first.next_after is None) == (limit >= len(rows))
    middle = everything.items[100]
    after = await store.list_channels_after(ChannelKey(middle.device_id, middle.gb_id), limit=5)
    assert [c.id for c in after.items] == order[101:106] and after.total is None
    online = await store.list_channels_after(None, limit=1000, online=True, region="34")
    assert {c.id for c in online.items} == {r.id for r in rows if r.id % 3 == 0 and (r.region_code or "")[:2] == "34"}


async def test_device_keyset_pages_hold_the_offset_listing_with_every_filter(db_engine: AsyncEngine) -> None:
    store = RegistryStore(session_factory(db_engine))
    await _populate(store, db_engine, random.Random(11))
    # Three channels of three devices (channel pk % 5 picks the device), whatever their class.
    scope = ChannelScope((ScopeClause(ScopeKind.CHANNELS, frozenset({"5", "7", "13"}), ChannelClass.SENSITIVE),))
    assert {d.id for d in (await store.list_devices(offset=0, limit=100, scope=scope)).items} == {
        DEVICES[0], DEVICES[2], DEVICES[3]}
    for online, region, name, in_scope in itertools.product((None, True, False), (None, "34", "3401", "35"),
                                                          (None, "d1", "x"), (None, scope)):
        filters: dict[str, Any] = {"online": online, "region": region, "name_contains": name, "scope": in_scope}
        listed = await store.list_devices(offset=0, limit=100, **filters)
        for limit in range(1, len(DEVICES) + 2):
            assert await _devices_by_key(store, limit, **filters) == [d.id for d in listed.items], (limit, filters)
        first = await store.list_devices_after(None, limit=1, count=True, **filters)
        assert first.total == listed.total, filters
    every = await store.list_devices(offset=0, limit=100)
    assert [d.id for d in every.items] == sorted(DEVICES)
    after = await store.list_devices_after(sorted(DEVICES)[1], limit=2)
    assert [d.id for d in after.items] == sorted(DEVICES)[2:4] and after.total is None
