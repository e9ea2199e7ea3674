"""Sample the receiver with py-spy during the measured window and rank where its CPU goes.

`PySpyRecorder` runs `py-spy record --pid <this process> --format raw --function` (collapsed stacks, one
line per distinct stack with its sample count) for the window; `hot_spots` reads that file and ranks functions
by self time (the innermost frame of a sample: time in C called from that function is counted to it) and by
inclusive time (anywhere on the stack). Idle samples (the event loop waiting in epoll) are not recorded, so
shares are of the busy time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PY_SPY_RATE = 100  # samples per second (py-spy's default)
ROOT_CHAIN_SHARE = 0.9  # frames on more of the stacks than this are the program's entry chain


@dataclass(frozen=True, slots=True)
class HotSpot:
    function: str
    self_share: float  # of all busy samples
    inclusive_share: float


def py_spy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class PySpyRecorder:
    def __init__(self, output: Path, seconds: float) -> None:
        self.output = output
        self.seconds = seconds
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = py_spy_path()
        if executable is None:
            raise FileNotFoundError("py-spy is not installed (.venv/bin/pip install py-spy)")
        command = [executable, "record", "--pid", str(os.getpid()), "--rate", str(PY_SPY_RATE), "--duration",
                   str(max(1, round(self.seconds))), "--format", "raw", "--function", "--nonblocking",
                   "--output", str(self.output)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, timeout: float = 60.0) -> str:
        """Wait for py-spy to write its file; returns what it printed on stderr."""
        if self._process is None:
            return ""
        try:
            _, err = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, err = self._process.communicate()
        return err.decode(errors="replace")


def _short(frame: str) -> str:
    """`func (path/to/file.py:12)` → `func (file.py:12)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.rstrip(')')).name})" if where else name


def hot_spots(raw: Path, top: int = 15) -> tuple[int, list[HotSpot], list[HotSpot]]:
    """(busy samples, top functions by self time, top functions by inclusive time) of a py-spy raw file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";") if frame and not frame.startswith("process ")
                  and not frame.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def rank(counter: Counter[str], cut: float) -> list[HotSpot]:
        ranked = [HotSpot(name, own[name] / total, inclusive[name] / total) for name, _ in counter.most_common()]
        return [spot for spot in ranked if spot.inclusive_share < cut][:top]

    if total == 0:
        return 0, [], []
    # The chain from <module> to the event loop's run() is on (almost) every stack: left out of the inclusive list.
    return total, rank(own, 1.01), rank(inclusive, ROOT_CHAIN_SHARE)
