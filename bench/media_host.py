"""What the media benchmark reads from the host: the machine, CPU time, and the kernel's view of UDP sockets."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from dataclasses import dataclass
from importlib import metadata

import av
import psutil

PROC_NET_UDP = "/proc/net/udp"
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/udp prints it (little-endian hex)


@dataclass(frozen=True, slots=True)
class UdpSocketState:
    rx_queue: int  # bytes waiting in the receive buffer
    drops: int  # datagrams the kernel dropped for this socket (receive buffer full)


def udp_sockets(ports: set[int]) -> dict[int, UdpSocketState]:
    """The kernel's counters for this machine's UDP sockets bound to 127.0.0.1 on `ports`."""
    found: dict[int, UdpSocketState] = {}
    with open(PROC_NET_UDP) as table:
        next(table)
        for line in table:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            port = int(port_hex, 16)
            if address == LOOPBACK_HEX and port in ports:
                rx_queue = int(fields[4].split(":")[1], 16)
                found[port] = UdpSocketState(rx_queue=rx_queue, drops=int(fields[12]))
    return found


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of another process (not its children); 0 once it is gone."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def cpu_model() -> str:
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def uvloop_version() -> str | None:
    try:
        return metadata.version("uvloop")
    except metadata.PackageNotFoundError:
        return None


def ffmpeg_version(ffmpeg: str) -> str:
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except OSError as exc:
        return f"not runnable: {exc}"
    return out.splitlines()[0] if out else "unknown"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine_lines(ffmpeg: str) -> list[str]:
    uvloop = uvloop_version()
    return [
        f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, PyAV {av.__version__} (its libavformat "
        f"{'.'.join(map(str, av.library_versions['libavformat']))}),"
        f" uvloop {'yes, ' + uvloop if uvloop else 'no'}; {ffmpeg_version(ffmpeg)}",
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
