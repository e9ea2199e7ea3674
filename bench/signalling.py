"""Signalling benchmark: N simulated devices register with digest, then keep alive.

Runs `clearsight serve` as its own process (SQLite in a temp dir) and the simulated devices in
`--workers` other processes, all on 127.0.0.1. Prints registrations/s, keepalive round-trip p50/p99
(measured at the devices, so it includes the simulator's own queueing), the platform's CPU and RSS,
and its memory per device. It asserts nothing: figures go to docs/benchmarks.md.

    .venv/bin/python bench/signalling.py --devices 10000
    .venv/bin/python bench/signalling.py --devices 100000 --keepalive-interval 60 --keepalive-seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform as host_platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.processes import PLATFORM_ID, PlatformProcess, free_port  # noqa: E402

from bench.keepalive_probe import KeepaliveProbe  # noqa: E402

BASE_DEVICE = 34020000001320000000
PASSWORD = "device-secret-1"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _metric(text: str, name: str) -> float:
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


def _worker(index: int, devices: int, first: int, sip_port: int, keepalive_interval: float,
            keepalive_seconds: float, start_at: float, go: Any, results: mp.Queue[dict[str, Any]]) -> None:
    from clearsight.cli import run_async
    from clearsight.sim.simulator import Simulator, SimulatorConfig

    async def run() -> dict[str, Any]:
        config = SimulatorConfig(
            platform_host="127.0.0.1", platform_port=sip_port, platform_id=PLATFORM_ID, password=PASSWORD,
            devices=devices, channels=0, base_device_id=str(BASE_DEVICE + first),
            base_channel_id="34020000001310000001", keepalive_interval=keepalive_interval,
            register_concurrency=500)
        simulator = Simulator(config)
        await simulator.start()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        began = time.perf_counter()
        registered = await simulator.register_all()
        elapsed = time.perf_counter() - began
        simulator.start_keepalives()
        # Keepalives are measured in steady state: once the platform has fetched every device's
        # DeviceInfo and catalog (the parent process watches that and sets `go`).
        while not go.is_set():  # noqa: ASYNC110 - a multiprocessing event, not an asyncio one
            await asyncio.sleep(0.1)
        simulator.keepalive_latencies.clear()
        await asyncio.sleep(keepalive_seconds)
        keepalives = list(simulator.keepalive_latencies)
        await simulator.close()
        return {"registered": registered, "register_seconds": elapsed, "keepalives": keepalives,
                "register_latencies": simulator.registration_latencies}

    results.put(run_async(run()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="simulator processes (default 2)")
    parser.add_argument("--keepalive-interval", type=float, default=60.0)
    parser.add_argument("--keepalive-seconds", type=float, default=90.0,
                        help="how long to measure keepalives after registration")
    parser.add_argument("--database-url", help="default: SQLite in a temp dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = PlatformProcess(Path(tmp), free_port(), free_port(), database_url=args.database_url,
                                 extra_env={"CLEARSIGHT_DEVICE_PASSWORD": PASSWORD,
                                            # every simulated device comes from 127.0.0.1: not a flood
                                            "CLEARSIGHT_SIP_LIMIT_EXEMPT": "127.0.0.0/8",
                                            "CLEARSIGHT_KEEPALIVE_INTERVAL": str(int(args.keepalive_interval)),
                                            "CLEARSIGHT_LOG_LEVEL": "WARNING"})
        server.start()
        assert server.proc is not None
        proc = psutil.Process(server.proc.pid)
        rss_before = proc.memory_info().rss
        cpu_before = proc.cpu_times()
        results: mp.Queue[dict[str, Any]] = mp.Queue()
        per = args.devices // args.workers
        start_at = time.time() + 2.0
        go = mp.Event()
        workers = [mp.Process(target=_worker, args=(i, per + (args.devices % args.workers if i == 0 else 0),
                                                   i * per + (0 if i == 0 else args.devices % args.workers),
                                                   server.sip_port, args.keepalive_interval,
                                                   args.keepalive_seconds, start_at, go, results))
                   for i in range(args.workers)]
        for w in workers:
            w.start()
        # Watch registrations from the platform's side: /metrics devices online.
        client = server.client()
        t0 = max(start_at, time.time())
        time.sleep(max(0.0, start_at - time.time()))
        reg_done_at = None
        cpu_at_reg = None
        while reg_done_at is None and time.time() - t0 < 600:
            if _metric(client.get("/metrics").text, "clearsight_devices_online") >= args.devices:
                reg_done_at = time.time()
                cpu_at_reg = proc.cpu_times()
            time.sleep(0.05)
        rss_registered = proc.memory_info().rss
        probe = KeepaliveProbe("127.0.0.1", server.sip_port, PLATFORM_ID, PASSWORD)
        probe.register()
        probe.start()
        sync_wait_started = time.time()
        while _metric(client.get("/metrics").text, "clearsight_device_syncs_pending") > 0:
            time.sleep(0.2)
        sync_seconds = time.time() - sync_wait_started
        rss_synced = proc.memory_info().rss
        go.set()
        probe.latencies.clear()
        keepalive_cpu_start = proc.cpu_times()
        keepalive_wall_start = time.time()
        time.sleep(args.keepalive_seconds)
        keepalive_cpu_end = proc.cpu_times()
        keepalive_wall = time.time() - keepalive_wall_start
        probe.stop()
        outputs = [results.get(timeout=900) for _ in workers]
        rss_end = proc.memory_info().rss
        for w in workers:
            w.join(30)
        server.stop()

    registered = sum(o["registered"] for o in outputs)
    keepalives = [x for o in outputs for x in o["keepalives"]]
    reg_wall = (reg_done_at - t0) if reg_done_at else float("nan")
    reg_cpu = ((cpu_at_reg.user + cpu_at_reg.system) - (cpu_before.user + cpu_before.system)
               if cpu_at_reg else float("nan"))
    ka_cpu = (keepalive_cpu_end.user + keepalive_cpu_end.system) - (
        keepalive_cpu_start.user + keepalive_cpu_start.system)
    print(f"machine: {host_platform.node()} {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {host_platform.python_version()}")
    print(f"devices: {args.devices} ({registered} registered), simulator processes: {args.workers}")
    print(f"registration: all online at the platform after {reg_wall:.2f} s "
          f"= {args.devices / reg_wall:,.0f} registrations/s; platform CPU {reg_cpu:.2f} s")
    print(f"registration latency at the device (REGISTER→401→REGISTER→200): p50 "
          f"{1000 * _percentile([x for o in outputs for x in o['register_latencies']], 0.5):.1f} ms")
    print(f"after registration, DeviceInfo + catalog of every device fetched in {sync_seconds:.1f} s "
          f"(RSS then {rss_synced / 2**20:.0f} MiB)")
    print(f"keepalives at the simulated devices: {len(keepalives)} in {keepalive_wall:.0f} s; round trip p50 "
          f"{1000 * _percentile(keepalives, 0.5):.2f} ms, p99 {1000 * _percentile(keepalives, 0.99):.2f} ms, "
          f"max {1000 * max(keepalives, default=float('nan')):.1f} ms")
    print(f"keepalive round trip seen by a lone prober (own thread, plain socket): "
          f"{len(probe.latencies)} samples, p50 {1000 * _percentile(probe.latencies, 0.5):.2f} ms, "
          f"p99 {1000 * _percentile(probe.latencies, 0.99):.2f} ms, max "
          f"{1000 * max(probe.latencies, default=float('nan')):.1f} ms, lost {probe.lost}")
    print(f"platform CPU during keepalive phase: {100 * ka_cpu / keepalive_wall:.1f} % of one core "
          f"({len(keepalives) / keepalive_wall:,.0f} keepalives/s)")
    print(f"platform RSS: {rss_before / 2**20:.0f} MiB idle, {rss_registered / 2**20:.0f} MiB registered, "
          f"{rss_end / 2**20:.0f} MiB at end; {(rss_registered - rss_before) / args.devices:,.0f} bytes/device")
    if keepalives:
        print(f"keepalive mean {1000 * statistics.fmean(keepalives):.2f} ms")


if __name__ == "__main__":
    main()
