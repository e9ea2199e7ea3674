"""Audit log benchmark: append throughput of the one writer, the latency callers see, and verification speed.

Runs the product's `AuditLog` (batched single writer, hash chain, periodic Ed25519 checkpoints) on a fresh
SQLite file (WAL, synchronous=NORMAL, as `clearsight serve` opens it) or on the database given with
--database-url, on uvloop when installed:

1. sequential: one caller awaiting each `record()` in turn (each entry its own transaction);
2. concurrent: --callers tasks each awaiting `record()` in a loop (they share batches; latency per call);
3. bulk: `record_many()` of 1,000 events at a time;
4. verification of the whole chain (`verify_chain`, as `clearsight audit verify` runs it).

Entries look like live-view records (actor, GB ID target, client address, small details). Nothing is
asserted: figures go to docs/benchmarks.md.

    .venv/bin/python bench/audit.py
    .venv/bin/python bench/audit.py --entries 200000 --callers 500
    .venv/bin/python bench/audit.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host_platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil
import sqlalchemy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clearsight.audit import AuditAction, AuditEvent, AuditLog, CheckpointPolicy, verify_chain  # noqa: E402
from clearsight.cli import run_async  # noqa: E402
from clearsight.db import create_engine, session_factory, upgrade_database  # noqa: E402
from clearsight.registry.models import utc_now  # noqa: E402
from clearsight.signing import load_or_create_signing_key  # noqa: E402

BULK_SIZE = 1000
CHANNEL = "34020000001310000001"


def _machine() -> str:
    try:
        import uvloop

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "asyncio"
    return (f"machine: {host_platform.node()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {host_platform.system()} {host_platform.release()}; "
            f"Python {host_platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {loop}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _timed(log: AuditLog, label: str, entries: int, run: Callable[[], Awaitable[list[float]]]) -> None:
    batches = log.batches_written
    cpu = psutil.Process().cpu_times()
    started = time.perf_counter()
    latencies = await run()
    elapsed = time.perf_counter() - started
    used = psutil.Process().cpu_times()
    cpu_s = (used.user - cpu.user) + (used.system - cpu.system)
    line = (f"{label:<34} {entries:>8} entries in {elapsed:6.2f} s = {entries / elapsed:>8,.0f} entries/s, "
            f"CPU {cpu_s / entries * 1e6:4.0f} µs/entry")
    line += f", {entries / max(1, log.batches_written - batches):.0f} entries/transaction"
    if latencies:
        line += (f"; per call p50 {_percentile(latencies, 0.5) * 1000:.2f} ms, "
                 f"p99 {_percentile(latencies, 0.99) * 1000:.2f} ms")
    print(line, flush=True)


async def _record(log: AuditLog, n: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    await log.record(AuditAction.LIVE_START, actor=f"user{n % 50}", target=CHANNEL, client="192.0.2.10",
                     details={"channel_id": n % 1000, "device_id": "34020000001320000001"})
    latencies.append(time.perf_counter() - started)


async def bench(database_url: str, data_dir: Path, entries: int, callers: int) -> None:
    await asyncio.to_thread(upgrade_database, database_url)
    engine = create_engine(database_url)
    key = load_or_create_signing_key(data_dir / "signing_key.pem")
    log = AuditLog(session_factory(engine), key, policy=CheckpointPolicy())
    await log.start()
    sequential = max(1, entries // 20)

    async def one_by_one() -> list[float]:
        latencies: list[float] = []
        for n in range(sequential):
            await _record(log, n, latencies)
        return latencies

    async def concurrent() -> list[float]:
        latencies: list[float] = []
        share = entries // callers

        async def caller(c: int) -> None:
            for n in range(share):
                await _record(log, c * share + n, latencies)

        await asyncio.gather(*(caller(c) for c in range(callers)))
        return latencies

    async def bulk() -> list[float]:
        for _ in range(entries // BULK_SIZE):
            now = utc_now()
            await log.record_many(AuditEvent("snapshot", "bulk", now, CHANNEL, "192.0.2.11") for _ in range(BULK_SIZE))
        return []

    try:
        await _timed(log, "sequential (1 caller)", sequential, one_by_one)
        await _timed(log, f"concurrent ({callers} callers)", entries // callers * callers, concurrent)
        await _timed(log, f"bulk (record_many of {BULK_SIZE})", entries // BULK_SIZE * BULK_SIZE, bulk)
    finally:
        await log.close()
    total = log.head[0]
    checkpoints_started = time.perf_counter()
    report = await verify_chain(engine, key.public_bytes)
    elapsed = time.perf_counter() - checkpoints_started
    print(f"{'verify_chain':<34} {report.entries:>8} entries in {elapsed:6.2f} s = "
          f"{report.entries / elapsed:>8,.0f} entries/s; {report.checkpoints} checkpoints; intact: {report.intact}")
    if engine.dialect.name == "sqlite" and engine.url.database:
        size = await asyncio.to_thread(lambda: Path(str(engine.url.database)).stat().st_size)
        print(f"database file: {size / 2**20:.1f} MiB for {total} entries ({size / max(total, 1):.0f} bytes/entry)")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="entries per phase (default 100,000)")
    parser.add_argument("--callers", type=int, default=200, help="concurrent callers (default 200)")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args()
    print(_machine())
    with tempfile.TemporaryDirectory(prefix="clearsight-audit-bench-") as temporary:
        data_dir = Path(temporary)
        url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'clearsight.db'}"
        print(f"database: {sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)}")
        run_async(bench(url, data_dir, args.entries, args.callers))


if __name__ == "__main__":
    main()
