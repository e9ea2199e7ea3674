"""Share search benchmark: `GET /share-requests/channels` (`ShareableChannels.search`) at scale.

Populates a fresh database exactly as `bench/access.py` does (--channels channels, default 100,000, on 20
departments whose home regions are provinces or cities; 5 % of channels sensitive), then times, for users of
several departments, the search as the API serves it: no filter (first page, and a page deep in by cursor),
a name matching many channels, a name matching one, a name matching none (the whole table is read), and a
region prefix; limit 50, each --repeat times. Prints p50/p99 per case and the machine. Nothing is asserted.

    .venv/bin/python bench/share_discovery.py
    .venv/bin/python bench/share_discovery.py --database-url postgresql+psycopg://postgres@127.0.0.1:55447/clearsight_test
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.access import DEPARTMENTS, _machine, _percentile, populate  # noqa: E402
from clearsight.access.share_discovery import ShareableChannels  # noqa: E402
from clearsight.access.store import AccessStore  # noqa: E402
from clearsight.cli import run_async  # noqa: E402
from clearsight.db import create_engine, session_factory, upgrade_database  # noqa: E402


async def bench(database_url: str, channels: int, sample: int, repeat: int, seed: int) -> None:
    await asyncio.to_thread(upgrade_database, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    await populate(sessions, channels, 0, random.Random(seed))
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    print(f"populated {channels} channels, {DEPARTMENTS} departments in {time.perf_counter() - started:.1f} s")
    store = AccessStore(sessions)
    search = ShareableChannels(store)
    users = [1 + (k * 7) % DEPARTMENTS for k in range(sample)]
    deep = channels * 3 // 4
    cases: dict[str, Callable[[Any], Awaitable[Any]]] = {
        "first page": lambda s: search.search(s, limit=50),
        f"page after channel {deep}": lambda s: search.search(s, limit=50, cursor=deep),
        "name, many matches ('camera 1')": lambda s: search.search(s, name="camera 1", limit=50),
        "name, one match ('camera 1999-4')": lambda s: search.search(s, name="camera 1999-4", limit=50),
        "name, no match ('zzz')": lambda s: search.search(s, name="zzz", limit=50),
        "region '3401'": lambda s: search.search(s, region="3401", limit=50),
    }
    for label, call in cases.items():
        times: list[float] = []
        found = 0
        for user_id in users:
            subject = await store.subject(user_id)
            assert subject is not None
            for _ in range(repeat):
                begun = time.perf_counter()
                page = await call(subject)
                times.append((time.perf_counter() - begun) * 1000)
                found = max(found, len(page.items))
        print(f"{label:40s} p50 {_percentile(times, 0.5):7.1f} ms  p99 {_percentile(times, 0.99):7.1f} ms  "
              f"(up to {found} items, {len(times)} calls)")
    print(_machine())
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000, help="channels (default 100,000)")
    parser.add_argument("--sample", type=int, default=5, help="users of different departments (default 5)")
    parser.add_argument("--repeat", type=int, default=5, help="calls per user and case (default 5)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        run_async(bench(url, args.channels, args.sample, args.repeat, args.seed))


if __name__ == "__main__":
    main()
