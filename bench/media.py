"""Media-plane benchmark: N simulated 2 Mbit/s 720p H.264 25 fps cameras ingested and fanned out, one viewer each.

A sender process (bench/media_sender.py) encodes one 720p clip at about 2 Mbit/s once, then replays it with
fresh timestamps as GB/T 28181 PS over RTP/UDP to N ports of 127.0.0.1 in real time (one burst per frame,
streams staggered over a GOP), noting when each frame's last packet left.

This process is the platform (bench/media_receiver.py): per stream the product's `RtpReceiver` feeding the
real `StreamHub` (fMP4 fragments) and one `Consumer` drained as a WebSocket viewer would be, on uvloop as
`clearsight serve` runs. After `--warmup` seconds it measures `--seconds` of steady state: its own CPU
(user + system) per stream as % of one core, RSS, packets sent and received, loss (RTP sequence accounting
and the kernel's per-socket drops), fragments delivered, and latency from a frame's last packet leaving
the sender to its fragment reaching the viewer.

Then, with `--baseline` (the default), the same kind of streams go to the usual one-process-per-camera design
(bench/media_baseline.py): a relay strips the RTP headers and pipes each stream's PS into its own
`ffmpeg -c copy` writing fragmented MP4, read and discarded. The ffmpeg processes' CPU is summed; the
relay's is reported apart. Both share the machine's cores with the sender. Nothing is asserted: figures go
to docs/benchmarks.md.

    .venv/bin/python bench/media.py                      # 200 streams, then the baseline with 200
    .venv/bin/python bench/media.py --streams 100 --baseline-streams 50
    .venv/bin/python bench/media.py --streams 200 --no-baseline --py-spy /tmp/receiver.raw
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.media_baseline import BaselineRelay, ffmpeg_command  # noqa: E402
from bench.media_host import (  # noqa: E402
    load_average,
    machine_lines,
    own_cpu_seconds,
    percentile,
    udp_sockets,
)
from bench.media_profile import PySpyRecorder, hot_spots  # noqa: E402
from bench.media_receiver import ReceiverPlant  # noqa: E402
from bench.media_sender import FPS, GOP_SECONDS, ClipInfo, SendJob, SendResult, StreamLog, run_sender  # noqa: E402
from clearsight.cli import run_async  # noqa: E402

LEAD_IN = 1.0  # seconds from handing the sender its job to stream 0's first frame
DRAIN = 1.5  # seconds after the sender stops before the final counts (the receive queues empty)
BASE_SSRC = 0x0100_0000  # GB/T 28181 style SSRCs are 10 decimal digits; any 32-bit values do here
SATURATED_PERCENT = 90.0  # one event loop thread above this share of a core is not keeping up


@dataclass(slots=True)
class Snapshot:
    at: float
    cpu: float
    packets: int = 0
    lost: int = 0
    kernel_drops: int = 0
    rx_queue_max: int = 0
    frames_out: int = 0  # fragments drained by the viewers / bytes out for the baseline
    rss: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    load: str = ""


@dataclass(slots=True)
class Latency:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        if not seconds:
            return cls(0, float("nan"), float("nan"), float("nan"))
        return cls(len(seconds), 1000 * percentile(seconds, 0.5), 1000 * percentile(seconds, 0.99),
                   1000 * max(seconds))

    def text(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms"


@dataclass(slots=True)
class PhaseFigures:
    """One phase's measured figures (the platform, or the baseline)."""

    name: str
    streams: int
    window_seconds: float
    cpu_percent: float  # of one core, the measured process(es), whole window
    rss_mib: float
    packets_sent: int  # in the window, by the sender's log
    packets_received: int  # in the window
    lost: int  # RTP sequence accounting, in the window
    kernel_drops: int  # receive buffer overflows, in the window
    rx_queue_max: int  # bytes queued in the fullest socket at the window's end
    frames_sent: int  # in the window
    frames_out: int  # fragments drained (platform); unused for the baseline
    total_sent: int  # the whole run
    total_received: int
    total_lost: int
    total_kernel_drops: int
    open_failures: int = 0
    relay_cpu_percent: float = 0.0  # baseline only
    output_kbps: float = 0.0  # baseline only: fMP4 bytes ffmpeg wrote
    latency: Latency | None = None
    demux_latency: Latency | None = None
    hub_latency: Latency | None = None
    unmatched: int = 0
    sender_cpu_percent: float = 0.0
    sender_late_frames: int = 0
    sender_max_lateness_ms: float = 0.0
    sender_errors: int = 0
    load_start: str = ""
    load_end: str = ""
    rss_idle_mib: float = 0.0
    notes: str = ""
    uss_mib: float = 0.0  # baseline only

    @property
    def cpu_per_stream(self) -> float:
        return self.cpu_percent / self.streams

    @property
    def cpu_us_per_packet(self) -> float:
        """CPU per packet received: the cost of the work done, whether or not the process kept up."""
        cpu_seconds = self.cpu_percent / 100 * self.window_seconds
        return 1e6 * cpu_seconds / self.packets_received if self.packets_received else float("nan")

    @property
    def cpu_per_stream_at_full_rate(self) -> float:
        """% of one core one stream needs at the rate it was sent: CPU per packet x packets sent per stream."""
        return self.cpu_us_per_packet * self.packets_sent / self.window_seconds / self.streams / 1e4

    @property
    def loss(self) -> int:
        return max(self.total_lost, 0) + self.total_kernel_drops


def _ssrcs(count: int) -> list[int]:
    return [BASE_SSRC + i for i in range(count)]


def _frames_between(logs: list[StreamLog], start: float, end: float) -> int:
    return sum(1 for log in logs for t in log.sent_at if start <= t < end)


def _sender_fields(result: SendResult, figures: PhaseFigures) -> None:
    figures.sender_cpu_percent = 100 * result.cpu_seconds / max(result.wall_seconds, 1e-9)
    figures.sender_late_frames = result.late_frames
    figures.sender_max_lateness_ms = 1000 * result.max_lateness
    figures.sender_errors = result.send_errors


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


def _platform_snapshot(plant: ReceiverPlant, me: psutil.Process) -> Snapshot:
    sockets = udp_sockets(set(plant.ports))
    snap = Snapshot(at=time.monotonic(), cpu=own_cpu_seconds(), rss=me.memory_info().rss, load=load_average())
    for receiver in plant.receivers:
        snap.packets += receiver.stats.packets
        snap.lost += receiver.stats.lost
    snap.frames_out = sum(consumer.fragments_sent for consumer in plant.consumers)
    snap.kernel_drops = sum(state.drops for state in sockets.values())
    snap.rx_queue_max = max((state.rx_queue for state in sockets.values()), default=0)
    return snap


async def measure_platform(args: argparse.Namespace, jobs: mp.Queue[SendJob | None],
                           results: mp.Queue[Any]) -> PhaseFigures:
    me = psutil.Process()
    rss_idle = me.memory_info().rss
    ssrcs = _ssrcs(args.streams)
    plant = await ReceiverPlant.bind(ssrcs, ready_timeout=GOP_SECONDS + 10.0)
    start_at = time.monotonic() + LEAD_IN
    window_start = start_at + GOP_SECONDS + args.warmup
    window_end = window_start + args.seconds
    jobs.put(SendJob(plant.ports, ssrcs, start_at, window_end + 1.0))
    failures = await plant.open_all()
    await _sleep_until(window_start)
    profiler = PySpyRecorder(Path(args.py_spy), args.seconds) if args.py_spy else None
    first = _platform_snapshot(plant, me)
    plant.record(True)
    if profiler is not None:
        profiler.start()
    await _sleep_until(window_end)
    plant.record(False)
    last = _platform_snapshot(plant, me)
    await _sleep_until(window_end + 1.0 + DRAIN)
    final = _platform_snapshot(plant, me)
    sent: SendResult = await asyncio.to_thread(results.get, True, 300)
    await plant.close()
    if profiler is not None:
        err = await asyncio.to_thread(profiler.wait)
        if err.strip():
            print(f"py-spy: {err.strip().splitlines()[-1]}")

    logs = sent.streams
    latencies: list[float] = []
    demux: list[float] = []
    hub: list[float] = []
    unmatched = 0
    for log, times in zip(logs, plant.times, strict=True):
        sent_at = dict(zip(log.timestamps, log.sent_at, strict=True))
        for timestamp, reached in times.fragment_timestamps():
            left = sent_at.get(timestamp)
            out = times.frames_out.get(timestamp)
            if left is None or out is None:
                unmatched += 1
                continue
            latencies.append(reached - left)
            demux.append(out - left)
            hub.append(reached - out)
    wall = last.at - first.at
    figures = PhaseFigures(
        name="Clearsight (RtpReceiver → StreamHub → Consumer)", streams=args.streams, window_seconds=wall,
        cpu_percent=100 * (last.cpu - first.cpu) / wall, rss_mib=last.rss / 2**20,
        packets_sent=sum(log.packets_between(first.at, last.at) for log in logs),
        packets_received=last.packets - first.packets, lost=last.lost - first.lost,
        kernel_drops=last.kernel_drops - first.kernel_drops, rx_queue_max=last.rx_queue_max,
        frames_sent=_frames_between(logs, first.at, last.at), frames_out=last.frames_out - first.frames_out,
        total_sent=sent.packets, total_received=final.packets, total_lost=final.lost,
        total_kernel_drops=final.kernel_drops, open_failures=failures,
        latency=Latency.of(latencies), demux_latency=Latency.of(demux), hub_latency=Latency.of(hub),
        unmatched=unmatched, load_start=first.load, load_end=last.load, rss_idle_mib=rss_idle / 2**20)
    _sender_fields(sent, figures)
    return figures


def measure_baseline(args: argparse.Namespace, jobs: mp.Queue[SendJob | None], results: mp.Queue[Any],
                     streams: int) -> PhaseFigures:
    snaps: list[Snapshot] = []
    with tempfile.TemporaryFile() as stderr:
        relay = BaselineRelay(streams, args.ffmpeg, stderr)

        def snapshot() -> None:
            ports = set(relay.ports)
            sockets = udp_sockets(ports)
            memory = relay.ffmpeg_memory()
            snaps.append(Snapshot(
                at=time.monotonic(), cpu=own_cpu_seconds(), packets=sum(s.packets for s in relay.streams),
                lost=sum(s.gaps for s in relay.streams), kernel_drops=sum(s.drops for s in sockets.values()),
                rx_queue_max=max((s.rx_queue for s in sockets.values()), default=0),
                frames_out=sum(s.out_bytes for s in relay.streams), rss=memory[0],
                extra={"uss": memory[1], "ffmpeg_cpu": relay.ffmpeg_cpu_seconds(),
                       "relay_dropped": sum(s.dropped_bytes for s in relay.streams),
                       "ended": sum(s.ended for s in relay.streams)},
                load=load_average()))

        start_at = time.monotonic() + LEAD_IN
        window_start = start_at + GOP_SECONDS + args.warmup
        window_end = window_start + args.seconds
        jobs.put(SendJob(relay.ports, _ssrcs(streams), start_at, window_end + 1.0))
        relay.run(window_end + 1.0 + DRAIN, [(window_start, snapshot), (window_end, snapshot)])
        snapshot()
        sent: SendResult = results.get(True, 300)
        relay.close()
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace").strip()
    if errors:
        print(f"ffmpeg said ({len(errors.splitlines())} lines), first: {errors.splitlines()[0]}")
    first, last, final = snaps
    wall = last.at - first.at
    logs = sent.streams
    figures = PhaseFigures(
        name="baseline (relay → ffmpeg -c copy → fMP4, one process per camera)", streams=streams,
        window_seconds=wall, cpu_percent=100 * (last.extra["ffmpeg_cpu"] - first.extra["ffmpeg_cpu"]) / wall,
        rss_mib=last.rss / 2**20, packets_sent=sum(log.packets_between(first.at, last.at) for log in logs),
        packets_received=last.packets - first.packets, lost=last.lost - first.lost,
        kernel_drops=last.kernel_drops - first.kernel_drops, rx_queue_max=last.rx_queue_max,
        frames_sent=_frames_between(logs, first.at, last.at), frames_out=0, total_sent=sent.packets,
        total_received=final.packets, total_lost=final.lost, total_kernel_drops=final.kernel_drops,
        relay_cpu_percent=100 * (last.cpu - first.cpu) / wall,
        output_kbps=(last.frames_out - first.frames_out) * 8 / wall / 1000 / streams,
        load_start=first.load, load_end=last.load, uss_mib=last.extra["uss"] / 2**20)
    figures.notes = (f"relay dropped {int(final.extra['relay_dropped'])} bytes (ffmpeg not reading), "
                     f"{int(final.extra['ended'])} ffmpeg outputs ended early")
    _sender_fields(sent, figures)
    return figures


def _ratio(platform: PhaseFigures, baseline: PhaseFigures) -> float:
    ffmpeg = baseline.cpu_per_stream_at_full_rate
    return platform.cpu_per_stream_at_full_rate / ffmpeg if ffmpeg else float("nan")


def _row(label: str, *cells: str) -> str:
    return "| " + " | ".join((label, *cells)) + " |"


def report(clip: ClipInfo, platform: PhaseFigures, baseline: PhaseFigures | None, args: argparse.Namespace) -> None:
    phases = [platform] + ([baseline] if baseline else [])
    print()
    print(f"clip: {clip.frames} frames 1280x720 at {FPS} fps, {clip.kbps:,.0f} kbit/s H.264 (keyframes "
          f"{clip.keyframe_bytes:,} B, other frames {clip.frame_bytes:,} B on average), encoded once in "
          f"{clip.encode_seconds:.1f} s")
    print(f"window: {args.seconds:g} s after {args.warmup:g} s of warm-up")
    print()
    print(_row("figure", *(f"{p.name}, {p.streams} streams" for p in phases)))
    print(_row("---", *("---" for _ in phases)))
    print(_row("CPU, measured process(es)", *(f"{p.cpu_percent:.1f} % of one core" for p in phases)))
    if platform.cpu_percent > SATURATED_PERCENT:
        print(_row("⚠ the platform's event loop is saturated (one core): it cannot keep up, the per-stream "
                   "figure understates the need", *["" for _ in phases]))
    print(_row("**CPU per stream**", *(f"**{p.cpu_per_stream:.2f} %** of one core" for p in phases)))
    print(_row("CPU per packet received", *(f"{p.cpu_us_per_packet:.1f} µs" for p in phases)))
    print(_row("CPU per stream at the rate sent (per packet x packets sent)",
               *(f"{p.cpu_per_stream_at_full_rate:.2f} % of one core" for p in phases)))
    if baseline:
        print(_row("relay CPU per stream (Python, not in the lines above)", "—",
                   f"{baseline.relay_cpu_percent / baseline.streams:.2f} %"))
        ratio = _ratio(platform, baseline)
        print(_row("CPU per stream at the rate sent, Clearsight / ffmpeg", f"**{ratio:.2f}**", "1"))
    print(_row("RSS", f"{platform.rss_mib:.0f} MiB ({platform.rss_idle_mib:.0f} MiB before the streams; "
                      f"{(platform.rss_mib - platform.rss_idle_mib) * 1024 / platform.streams:.0f} KiB per stream)",
               *([f"{baseline.rss_mib:.0f} MiB RSS, {baseline.uss_mib:.0f} MiB USS, all ffmpeg "
                  f"({baseline.uss_mib * 1024 / baseline.streams:,.0f} KiB unshared each)"] if baseline else [])))
    print(_row("packets sent → received in the window",
               *(f"{p.packets_sent:,} → {p.packets_received:,} ({p.packets_sent / p.window_seconds / p.streams:.0f}"
                 f" /s per stream)" for p in phases)))
    print(_row("lost in the window (RTP sequence) + kernel drops",
               *(f"{max(p.lost, 0)} + {p.kernel_drops}" for p in phases)))
    print(_row("**loss over the whole run** (sent → received; RTP lost + kernel drops)",
               *(f"{p.total_sent:,} → {p.total_received:,}; **{p.loss}** ({max(p.total_lost, 0)} + "
                 f"{p.total_kernel_drops})" for p in phases)))
    print(_row("fullest socket queue at the window's end", *(f"{p.rx_queue_max:,} B" for p in phases)))
    print(_row("frames sent → fragments at the viewers, in the window",
               f"{platform.frames_sent:,} → {platform.frames_out:,} ({platform.open_failures} streams failed "
               f"to open)", *([f"fMP4 out {baseline.output_kbps:,.0f} kbit/s per stream (fragment per GOP)"]
                              if baseline else [])))
    if platform.latency and platform.demux_latency and platform.hub_latency:
        print(_row("latency: last packet sent → fragment at the viewer", platform.latency.text(),
                   *(["not measured"] if baseline else [])))
        print(_row("… of which sent → frame out of the demuxer (at the marker bit)",
                   platform.demux_latency.text(), *(["—"] if baseline else [])))
        print(_row("… of which demuxer → viewer (fragment written at once)",
                   platform.hub_latency.text(), *(["—"] if baseline else [])))
        if platform.unmatched:
            print(_row("fragments not matched to a sent frame", str(platform.unmatched), *([""] if baseline else [])))
    print(_row("sender CPU; frames sent > 20 ms late; max lateness",
               *(f"{p.sender_cpu_percent:.0f} %; {p.sender_late_frames}; {p.sender_max_lateness_ms:.0f} ms"
                 for p in phases)))
    print(_row("load average at the window's start → end", *(f"{p.load_start} → {p.load_end}" for p in phases)))
    if baseline is not None:
        print(f"\nbaseline: {baseline.notes}")
        if baseline.streams != platform.streams:
            print(f"baseline ran {baseline.streams} streams, the platform {platform.streams}: compare per stream")
    zero = platform.loss == 0 and platform.open_failures == 0
    print(f"\ntargets: {platform.streams} streams with 0 loss: {'met' if zero else 'NOT met'}", end="")
    if platform.streams < 200:
        print(" (the target is 200)", end="")
    if baseline is not None and baseline.cpu_per_stream:
        ratio = _ratio(platform, baseline)
        print(f"; CPU per stream ≤ 1/3 of the baseline's: {ratio:.2f} → {'met' if ratio <= 1 / 3 else 'NOT met'}",
              end="")
    print()


def print_profile(path: Path) -> None:
    total, by_self, by_inclusive = hot_spots(path)
    if not total:
        print(f"py-spy: no samples in {path}")
        return
    print(f"\nreceiver profile (py-spy, {total} busy samples at 100/s; C time counted to the Python caller)")
    print(_row("self time", "share", "function"))
    print(_row("---", "---", "---"))
    for spot in by_self:
        print(_row("", f"{100 * spot.self_share:.1f} %", spot.function))
    print(_row("inclusive", "share", "function"))
    for spot in by_inclusive:
        print(_row("", f"{100 * spot.inclusive_share:.1f} %", spot.function))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200, help="cameras for the platform (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window (default 30)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the window (default 10)")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the one-ffmpeg-per-camera baseline after the platform (default on)")
    parser.add_argument("--baseline-streams", type=int, default=None,
                        help="cameras for the baseline (default: as --streams; fewer to spare the machine, "
                             "then compare per stream)")
    parser.add_argument("--ffmpeg", default="/usr/bin/ffmpeg")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the receiver with py-spy during the window "
                                                         "(raw stacks to FILE) and print its hot spots")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    baseline_streams = args.baseline_streams or args.streams

    for line in machine_lines(args.ffmpeg):
        print(line)
    print(f"load average (1/5/15 min) at start: {load_average()}; logical CPUs {os.cpu_count()}")
    print(f"platform: {args.streams} streams; baseline: "
          f"{baseline_streams if args.baseline else 'off'} ({' '.join(ffmpeg_command(args.ffmpeg)[1:])})")

    context = mp.get_context("spawn")
    jobs: mp.Queue[SendJob | None] = context.Queue()
    results: mp.Queue[Any] = context.Queue()
    sender = context.Process(target=run_sender, args=(jobs, results), name="media-sender", daemon=True)
    sender.start()
    try:
        clip: ClipInfo = results.get(True, 300)
        platform = run_async(measure_platform(args, jobs, results))
        baseline = measure_baseline(args, jobs, results, baseline_streams) if args.baseline else None
    finally:
        jobs.put(None)
        sender.join(30)
        if sender.is_alive():
            sender.terminate()
    report(clip, platform, baseline, args)
    if args.py_spy:
        print_profile(Path(args.py_spy))
    if args.json:
        data = {"clip": asdict(clip), "platform": asdict(platform), "baseline": asdict(baseline) if baseline else None,
                "args": vars(args)}
        Path(args.json).write_text(json.dumps(data, indent=2, default=str))


if __name__ == "__main__":
    main()
