"""Where recordings go: storage paths from `CLEARSIGHT_RECORDING_PATHS`, their quotas, free space and usage.

A storage path is `NAME=PATH[:QUOTA]` (`main=/srv/video:2T`); several are comma-separated. QUOTA is bytes
or a number with K, M, G or T (powers of 1024); without one only the disk's free space limits the path.
A relative PATH is taken relative to the data directory. An empty setting means one path `default` at
`<data_dir>/recordings`.

`StoragePool` knows how many bytes each path holds: the index's sum (refreshed by the retention sweep and
kept current as segments close or go) plus what writers have put into the segments still open. It picks the
path for a new segment (the channel's own storage if it has room, else the one with most room), and says
how far each path is over its limits. Writers call it from worker threads, so it takes a lock.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

DEFAULT_STORAGE_NAME = "default"
DEFAULT_STORAGE_DIR = "recordings"  # under the data directory
MIN_FREE_BYTES = 1024**3  # a disk with less free space than this is treated as full
# Room a path must have to take a new segment: a minute of a 8 Mbit/s stream.
SEGMENT_RESERVE_BYTES = 60 * 8_000_000 // 8
QUOTA_HIGH_WATER = 0.95  # the quota sweep starts deleting above this share of a quota…
QUOTA_LOW_WATER = 0.90  # …and deletes down to this share
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_QUOTA = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class StorageSpecError(ValueError):
    """`CLEARSIGHT_RECORDING_PATHS` cannot be read; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class StoragePath:
    name: str
    root: Path
    quota: int | None  # bytes; None: only the disk's free space limits it


class DiskSpace(NamedTuple):
    total: int
    used: int
    free: int


DiskUsage = Callable[[Path], DiskSpace]


def parse_quota(text: str) -> int:
    """`2T`, `500G`, `1.5M`, `1048576` → bytes (powers of 1024)."""
    match = _QUOTA.match(text.strip())
    if match is None:
        raise StorageSpecError(f"quota {text!r} is not a size like 500G or 1048576")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def parse_storage_paths(spec: str, data_dir: Path) -> list[StoragePath]:
    """The storage paths a `recording_paths` setting names (see the module docstring)."""
    entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
    if not entries:
        return [StoragePath(DEFAULT_STORAGE_NAME, data_dir / DEFAULT_STORAGE_DIR, None)]
    paths: list[StoragePath] = []
    for entry in entries:
        name, sep, rest = entry.partition("=")
        name = name.strip()
        if not sep or not rest.strip():
            raise StorageSpecError(f"entry {entry!r} is not NAME=PATH[:QUOTA]")
        if not _NAME.match(name):
            raise StorageSpecError(f"storage name {name!r} must be 1-64 letters, digits, '_' or '-'")
        if any(p.name == name for p in paths):
            raise StorageSpecError(f"storage name {name!r} appears twice")
        location, colon, quota_text = rest.rpartition(":")
        quota: int | None = None
        if colon and _QUOTA.match(quota_text.strip()):
            quota = parse_quota(quota_text)
            if quota <= 0:
                raise StorageSpecError(f"storage {name!r}: the quota must be more than 0")
        else:
            location = rest
        root = Path(location.strip()).expanduser()
        paths.append(StoragePath(name, root if root.is_absolute() else data_dir / root, quota))
    return paths


def disk_space(path: Path) -> DiskSpace:
    """The disk holding `path` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return DiskSpace(usage.total, usage.used, usage.free)


@dataclass(frozen=True, slots=True)
class StorageState:
    """One path's figures at one moment."""

    name: str
    quota: int | None
    used: int  # bytes of recordings (indexed plus open segments)
    disk_free: int
    excess: int  # bytes to delete now to get back under the limits (0: within them)
    headroom: int  # bytes that may still be written before a limit is reached


class StoragePool:
    """The configured storage paths and their usage; thread-safe."""

    def __init__(self, paths: Sequence[StoragePath], *, disk_usage: DiskUsage = disk_space,
                 min_free_bytes: int = MIN_FREE_BYTES, segment_reserve: int = SEGMENT_RESERVE_BYTES) -> None:
        if not paths:
            raise StorageSpecError("no storage path configured")
        self.paths = {path.name: path for path in paths}
        self._disk_usage = disk_usage
        self.min_free_bytes = min_free_bytes
        self.segment_reserve = segment_reserve
        self._lock = threading.Lock()
        self._indexed: dict[str, int] = dict.fromkeys(self.paths, 0)
        self._open: dict[str, tuple[str, int]] = {}  # segment path → (storage, bytes written so far)

    def get(self, name: str) -> StoragePath | None:
        return self.paths.get(name)

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    # --- usage -------------------------------------------------------------------------------------
    def set_indexed(self, used: dict[str, int]) -> None:
        """What the index holds per storage path (closed segments), as the retention sweep read it."""
        with self._lock:
            for name in self.paths:
                self._indexed[name] = used.get(name, 0)

    def indexed_changed(self, name: str, delta: int) -> None:
        with self._lock:
            if name in self._indexed:
                self._indexed[name] += delta

    def open_written(self, segment: str, name: str, size: int) -> None:
        """An open segment now holds `size` bytes."""
        with self._lock:
            self._open[segment] = (name, size)

    def open_closed(self, segment: str) -> None:
        """The segment is closed (and its size is in the index), or gone."""
        with self._lock:
            self._open.pop(segment, None)

    def used(self, name: str) -> int:
        with self._lock:
            return self._used(name)

    def _used(self, name: str) -> int:
        return self._indexed.get(name, 0) + sum(size for storage, size in self._open.values() if storage == name)

    def state(self, name: str) -> StorageState:
        path = self.paths[name]
        free = self._disk_free(path)
        used = self.used(name)
        excess = max(0, self.min_free_bytes - free)
        headroom = free - self.min_free_bytes
        if path.quota is not None:
            if used > path.quota * QUOTA_HIGH_WATER:
                excess = max(excess, used - int(path.quota * QUOTA_LOW_WATER))
            headroom = min(headroom, path.quota - used)
        return StorageState(name, path.quota, used, free, excess, max(0, headroom))

    def states(self) -> list[StorageState]:
        return [self.state(name) for name in self.paths]

    def _disk_free(self, path: StoragePath) -> int:
        try:
            return self._disk_usage(path.root).free
        except OSError:
            return 0  # an unreachable disk (unmounted, gone) takes nothing

    # --- placement ---------------------------------------------------------------------------------
    def choose(self, preferred: str | None = None) -> StoragePath | None:
        """The path for a new segment: `preferred` when it has room, else the one with most room; None: all full."""
        states = {state.name: state for state in self.states()}
        needed = max(1, self.segment_reserve)
        if preferred is not None and preferred in states and states[preferred].headroom >= needed:
            return self.paths[preferred]
        best = max(states.values(), key=lambda state: state.headroom)
        if best.headroom < needed:
            return None
        return self.paths[best.name]


def ensure_roots(paths: Iterable[StoragePath]) -> None:
    for path in paths:
        os.makedirs(path.root, exist_ok=True)
