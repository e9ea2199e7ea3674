"""Access control benchmark: channel lists and region counts filtered by the caller's grants.

Populates a fresh database (SQLite in a temporary directory, WAL as `clearsight serve` opens it, or the one
given with --database-url) with bulk inserts: --channels channels (default 100,000) on devices of 50
channels across 16 provinces × 8 cities × 6 counties, classes mostly public (85 % public, 10 % restricted,
5 % sensitive), 70 % of channels in one of 300 business groups; 20 departments (home region a province or
a city), 400 users in them; --grants grants (default 1,000): half region prefixes (province, city or
county), a quarter business groups (1–5), a quarter channel lists (10–200 channels), 80 % for a department
and 20 % for a user, a few with hours of day, an end date or revoked.

Then for a sample of users of different departments, each request is timed as the API serves it:
`AccessControl.subject` + `AccessControl.scope` (what `api/channel_access.py: list_scope` does), then
- page 1 (`RegistryStore.list_channels(offset=0, …)`: the page and the count, as `GET /channels` without cursor),
  and page 1 without the count (`list_channels_after(None, …)`, as `GET /channels?count=false`),
- a middle and the last page by cursor (`list_channels_after(key, …)`, as `GET /channels?cursor=…`, no count),
- the same middle and last pages by offset (the older `?offset=` paging, still served, with its count),
at limits 50 and 100, plus `region_tree(scope=…)` and the first page of `list_devices(scope=…)` (with its count,
and without it by `list_devices_after(None, …)`, as the console reads `GET /devices?count=false`); each
--repeat times. Prints p50/p99 per case, the query plans of the slowest cursor case, and the machine.
Nothing is asserted: figures go to docs/benchmarks.md.

    .venv/bin/python bench/access.py
    .venv/bin/python bench/access.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/clearsight_test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host_platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clearsight.access.channel_filter import scope_condition  # noqa: E402
from clearsight.access.models import AccessGrant  # noqa: E402
from clearsight.access.policy import ChannelScope, Subject  # noqa: E402
from clearsight.access.service import AccessControl  # noqa: E402
from clearsight.access.store import AccessStore  # noqa: E402
from clearsight.cli import run_async  # noqa: E402
from clearsight.db import create_engine, session_factory, upgrade_database  # noqa: E402
from clearsight.registry.channel_query import channel_page  # noqa: E402
from clearsight.registry.models import Channel, Department, Device, Region, User, utc_now  # noqa: E402
from clearsight.registry.records import ChannelKey  # noqa: E402
from clearsight.registry.store import RegistryStore  # noqa: E402

PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41")
CITIES_PER_PROVINCE = 8
COUNTIES_PER_CITY = 6
CHANNELS_PER_DEVICE = 50
BUSINESS_GROUPS = 300
DEPARTMENTS = 20
USERS = 400
BATCH = 5000
ACTIONS = ("live", "playback", "export", "ptz", "manage")


class _NoAudit:
    async def record(self, *args: Any, **kwargs: Any) -> Any:
        return None


def _machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), host_platform.processor()) if Path("/proc/cpuinfo").exists() \
        else host_platform.processor()
    return (f"machine: {cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"load average {load}; {host_platform.system()} {host_platform.release()}; "
            f"Python {host_platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sqlalchemy.__version__}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _counties() -> list[str]:
    return [f"{p}{c:02d}{k:02d}" for p in PROVINCES for c in range(1, CITIES_PER_PROVINCE + 1)
            for k in range(1, COUNTIES_PER_CITY + 1)]


async def _bulk(sessions: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with sessions.begin() as session:
            await session.execute(insert(table), rows[start:start + BATCH])


async def populate(sessions: Any, channels: int, grants: int, rng: random.Random) -> dict[str, Any]:
    now = utc_now()
    counties = _counties()
    regions: list[dict[str, Any]] = []
    for p in PROVINCES:
        regions.append({"code": p, "name": f"Province {p}", "parent_code": None, "level": "province"})
        for c in range(1, CITIES_PER_PROVINCE + 1):
            city = f"{p}{c:02d}"
            regions.append({"code": city, "name": f"City {city}", "parent_code": p, "level": "city"})
            for k in range(1, COUNTIES_PER_CITY + 1):
                county = f"{city}{k:02d}"
                regions.append({"code": county, "name": f"County {county}", "parent_code": city, "level": "county"})
    await _bulk(sessions, Region.__table__, regions)

    groups = [f"{counties[g % len(counties)]}00215{g:07d}" for g in range(BUSINESS_GROUPS)]
    devices: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    device_count = (channels + CHANNELS_PER_DEVICE - 1) // CHANNELS_PER_DEVICE
    for d in range(device_count):
        county = counties[d % len(counties)]
        device_id = f"{county}00118{d:07d}"
        n = min(CHANNELS_PER_DEVICE, channels - d * CHANNELS_PER_DEVICE)
        devices.append({"id": device_id, "name": f"NVR {d}", "transport": "udp", "remote_host": "192.0.2.1",
                        "remote_port": 5060, "online": True, "channel_count": n, "created_at": now,
                        "updated_at": now})
        for i in range(n):
            pk = d * CHANNELS_PER_DEVICE + i + 1
            draw = rng.random()
            channel_class = "public" if draw < 0.85 else "restricted" if draw < 0.95 else "sensitive"
            rows.append({"id": pk, "device_id": device_id, "gb_id": f"{county}00131{pk:07d}",
                         "name": f"Camera {d}-{i}", "civil_code": f"{county}00", "region_code": county,
                         "business_group_id": rng.choice(groups) if rng.random() < 0.7 else None,
                         "online": rng.random() < 0.9, "channel_class": channel_class, "updated_at": now})
    await _bulk(sessions, Device.__table__, devices)
    await _bulk(sessions, Channel.__table__, rows)

    homes = [rng.choice(PROVINCES) if d % 3 == 0
             else f"{rng.choice(PROVINCES)}{rng.randint(1, CITIES_PER_PROVINCE):02d}" for d in range(DEPARTMENTS)]
    await _bulk(sessions, Department.__table__, [
        {"id": d + 1, "name": f"Department {d + 1}", "home_region_code": homes[d], "created_at": now}
        for d in range(DEPARTMENTS)])
    await _bulk(sessions, User.__table__, [
        {"id": u + 1, "username": f"user{u + 1}", "password_hash": "x", "role": "viewer" if u % 4 else "operator",
         "is_active": True, "department_id": u % DEPARTMENTS + 1, "created_at": now} for u in range(USERS)])

    grant_rows: list[dict[str, Any]] = []
    for _ in range(grants):
        department = rng.randint(1, DEPARTMENTS)
        home = homes[department - 1]
        kind_draw = rng.random()
        if kind_draw < 0.5:
            kind = "region"
            # mostly inside the department's home region, some elsewhere
            base = home if rng.random() < 0.7 else rng.choice(PROVINCES)
            depth = rng.choice((2, 4, 6))
            code = base[:depth]
            while len(code) < depth:
                code += f"{rng.randint(1, CITIES_PER_PROVINCE if len(code) == 2 else COUNTIES_PER_CITY):02d}"
            values: list[str] = [code]
        elif kind_draw < 0.75:
            kind = "business_group"
            values = rng.sample(groups, rng.randint(1, 5))
        else:
            kind = "channels"
            values = [str(v) for v in rng.sample(range(1, channels + 1), rng.randint(10, 200))]
        for_user = rng.random() < 0.2
        hours = rng.random() < 0.05
        grant_rows.append({
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "department_id": None if for_user else department,
            "user_id": rng.choice(range(department, USERS + 1, DEPARTMENTS)) if for_user else None,
            "actions": ",".join(sorted({*rng.sample(ACTIONS, rng.randint(1, 3)), "live"})),
            "scope_kind": kind, "scope_values": values,
            "max_class": rng.choices(("public", "restricted", "sensitive"), (70, 25, 5))[0],
            "hours_start": 0 if hours else None, "hours_end": 24 * 60 if hours else None,
            "hours_zone": "Asia/Shanghai" if hours else None,
            "valid_until": now + timedelta(days=rng.randint(1, 90)) if rng.random() < 0.1 else None,
            "revoked_at": now - timedelta(days=1) if rng.random() < 0.03 else None,
            "created_by": "admin", "created_at": now})
    await _bulk(sessions, AccessGrant.__table__, grant_rows)
    return {"departments": homes}


CPU_TIMES: dict[int, list[float]] = {}  # id(latency list) -> the process CPU time of each request


async def _time(repeat: int, call: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """Wall time per request; the process's CPU time per request (SQLite runs in aiosqlite's thread of this
    process, so it counts) goes to CPU_TIMES: on a loaded machine it is what the request costs on a free core."""
    latencies: list[float] = []
    cpu: list[float] = []
    result = None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await call()
        latencies.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    CPU_TIMES[id(latencies)] = cpu
    return latencies, result


async def _explain(engine: Any, scope: ChannelScope, after: ChannelKey | None, limit: int) -> None:
    conditions = [scope_condition(scope)]
    key = (after.device_id, after.gb_id) if after is not None else None
    queries = {"count": select(func.count()).select_from(Channel).where(*conditions),
               "page 1": channel_page(conditions, limit=limit + 1),
               "cursor page": channel_page(conditions, limit=limit + 1, after=key)}
    async with engine.connect() as connection:
        for label, query in queries.items():
            compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            rows = (await connection.execute(text(prefix + str(compiled)))).all()
            print(f"-- plan of the {label} query (limit {limit}):")
            for row in rows:
                print("   ", row[-1])


async def _key_before(registry: RegistryStore, scope: ChannelScope, offset: int) -> ChannelKey | None:
    """The key a cursor for the page at `offset` holds (the last channel of the page before)."""
    if offset == 0:
        return None
    row = (await registry.list_channels(offset=offset - 1, limit=1, scope=scope)).items[0]
    return ChannelKey(row.device_id, row.gb_id)


async def bench(database_url: str, channels: int, grants: int, sample: int, repeat: int, seed: int) -> None:
    await asyncio.to_thread(upgrade_database, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    rng = random.Random(seed)
    started = time.perf_counter()
    await populate(sessions, channels, grants, rng)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    print(f"populated {channels} channels, {grants} grants, {DEPARTMENTS} departments, {USERS} users "
          f"in {time.perf_counter() - started:.1f} s")

    registry = RegistryStore(sessions)
    access = AccessControl(AccessStore(sessions), _NoAudit(),
                           clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    # users of different departments: user k belongs to department (k - 1) % DEPARTMENTS + 1
    users = [1 + (k * 7) % DEPARTMENTS + DEPARTMENTS * (k % 3) for k in range(sample)]

    async def scope_of(user_id: int) -> tuple[Subject, ChannelScope | None]:
        subject = await access.subject(user_id)
        assert subject is not None
        return subject, await access.scope(subject)

    results: dict[str, list[float]] = {}
    cpu_results: dict[str, list[float]] = {}
    slowest: tuple[float, ChannelScope, ChannelKey | None, int] | None = None
    labels = [f"{kind}/{limit}" for limit in (50, 100) for kind in ("page 1", "p1 nocount", "cur mid", "cur last",
                                                                     "off mid", "off last")]
    print(f"{'user':>6} {'dept':>4} {'grants':>6} {'clauses':>7} {'visible':>8} {'scope':>6}  "
          + " ".join(f"{label:>12}" for label in labels) + f" {'tree':>7} {'devices':>7}   (p50 ms)")
    for user_id in users:
        subject, scope = await scope_of(user_id)
        assert scope is not None
        own = await access.store.grants_for(subject, access.now())
        scope_lat, _ = await _time(repeat, lambda u=user_id: scope_of(u))  # type: ignore[misc]
        results.setdefault("scope (subject + grants + visible_scope)", []).extend(scope_lat)
        cpu_results.setdefault("scope (subject + grants + visible_scope)", []).extend(CPU_TIMES[id(scope_lat)])
        total = (await registry.list_channels(offset=0, limit=1, scope=scope)).total
        cells = []
        for limit in (50, 100):
            last_offset = max(0, (total - 1) // limit * limit)
            middle = (total // 2) // limit * limit
            cases: list[tuple[str, Callable[..., Awaitable[Any]]]] = []

            async def first(u: int = user_id, lim: int = limit) -> Any:
                _, s = await scope_of(u)
                return await registry.list_channels(offset=0, limit=lim, scope=s)
            cases.append((f"page 1 (page + count), limit {limit}", first))

            async def first_uncounted(u: int = user_id, lim: int = limit) -> Any:
                _, s = await scope_of(u)
                return await registry.list_channels_after(None, limit=lim, scope=s)
            cases.append((f"page 1 without count (count=false), limit {limit}", first_uncounted))
            for label, offset in (("middle", middle), ("last", last_offset)):
                key = await _key_before(registry, scope, offset)

                async def by_cursor(u: int = user_id, k: ChannelKey | None = key, lim: int = limit) -> Any:
                    _, s = await scope_of(u)
                    return await registry.list_channels_after(k, limit=lim, scope=s)
                cases.append((f"cursor, {label} page, limit {limit}", by_cursor))

                async def by_offset(u: int = user_id, o: int = offset, lim: int = limit) -> Any:
                    _, s = await scope_of(u)
                    return await registry.list_channels(offset=o, limit=lim, scope=s)
                cases.append((f"offset (older paging), {label} page, limit {limit}", by_offset))
                if label == "last":
                    last_key = key
            ordered = [cases[0], cases[1], cases[2], cases[4], cases[3], cases[5]]
            for label, call in ordered:
                lat, _ = await _time(repeat, call)
                results.setdefault(label, []).extend(lat)
                cpu_results.setdefault(label, []).extend(CPU_TIMES[id(lat)])
                cells.append(_percentile(lat, 0.5))
                p99 = _percentile(lat, 0.99)
                if label.startswith("cursor") and (slowest is None or p99 > slowest[0]):
                    slowest = (p99, scope, last_key, limit)

        async def tree(u: int = user_id) -> Any:
            _, s = await scope_of(u)
            return await registry.region_tree(scope=s)
        lat, _ = await _time(max(3, repeat // 4), tree)
        results.setdefault("region tree (counts filtered)", []).extend(lat)
        cpu_results.setdefault("region tree (counts filtered)", []).extend(CPU_TIMES[id(lat)])
        cells.append(_percentile(lat, 0.5))

        async def devices(u: int = user_id) -> Any:
            _, s = await scope_of(u)
            return await registry.list_devices(offset=0, limit=50, scope=s)
        lat, _ = await _time(max(3, repeat // 4), devices)
        results.setdefault("device list, page 1, limit 50", []).extend(lat)
        cpu_results.setdefault("device list, page 1, limit 50", []).extend(CPU_TIMES[id(lat)])
        cells.append(_percentile(lat, 0.5))

        async def devices_uncounted(u: int = user_id) -> Any:
            _, s = await scope_of(u)
            return await registry.list_devices_after(None, limit=50, scope=s)
        uncounted, _ = await _time(max(3, repeat // 4), devices_uncounted)
        label = "device list, page 1 without count (cursor), limit 50"
        results.setdefault(label, []).extend(uncounted)
        cpu_results.setdefault(label, []).extend(CPU_TIMES[id(uncounted)])
        print(f"{user_id:>6} {subject.department_id:>4} {len(own):>6} {len(scope.clauses):>7} {total:>8} "
              f"{_percentile(scope_lat, 0.5) * 1000:>6.1f}  " + " ".join(f"{c * 1000:>12.1f}" for c in cells[:-2])
              + f" {cells[-2] * 1000:>7.1f} {cells[-1] * 1000:>7.1f}", flush=True)

    print(f"\nall sampled users ({len(users)}), {repeat} requests each per case (request = scope + query):")
    print(f"{'case':<52} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU p50':>8} {'CPU p99':>8}")
    for label, lat in results.items():
        cpu = cpu_results[label]
        print(f"{label:<52} {len(lat):>8} {_percentile(lat, 0.5) * 1000:>8.1f} "
              f"{_percentile(lat, 0.99) * 1000:>8.1f} {max(lat) * 1000:>8.1f} "
              f"{_percentile(cpu, 0.5) * 1000:>8.1f} {_percentile(cpu, 0.99) * 1000:>8.1f}")
    # the unfiltered list (an administrator) for comparison
    lat, _ = await _time(repeat, lambda: registry.list_channels(offset=0, limit=50))
    print(f"{'administrator (no scope), page 1, limit 50':<52} {len(lat):>8} "
          f"{_percentile(lat, 0.5) * 1000:>8.1f} "
          f"{_percentile(lat, 0.99) * 1000:>8.1f} {max(lat) * 1000:>8.1f}")
    if slowest is not None:
        print(f"\nslowest cursor case: p99 {slowest[0] * 1000:.1f} ms")
        await _explain(engine, slowest[1], slowest[2], slowest[3])
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=100_000, help="channels (default 100,000)")
    parser.add_argument("--grants", type=int, default=1000, help="grants (default 1,000)")
    parser.add_argument("--users", type=int, default=8, help="sampled users (default 8)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per user and case (default 20)")
    parser.add_argument("--seed", type=int, default=28181)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args()
    print(_machine())
    with tempfile.TemporaryDirectory(prefix="clearsight-access-bench-") as temporary:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(temporary) / 'clearsight.db'}"
        print(f"database: {sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)}")
        run_async(bench(url, args.channels, args.grants, args.users, args.repeat, args.seed))


if __name__ == "__main__":
    main()
