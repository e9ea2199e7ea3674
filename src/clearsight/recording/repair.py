"""Start-up repair of the segment index after a crash (kill -9, power loss): the index and the files agree again.

Run before any recorder starts. It:
1. closes every segment row left `open`: the file is cut back to its last whole fragment (a crash can leave
   half a fragment at the end), its end, size, keyframes and SHA-256 are read from the file, and the row
   becomes `repaired`; a file with no whole fragment is removed with its row, a missing file's row goes.
   The time from the repaired end to now becomes a gap ("platform stopped unexpectedly");
2. checks that every closed segment's file exists with its indexed size (a missing file's row goes; a
   different size is repaired as in 1);
3. walks each storage root for segment files (named as `layout` names them) that no row indexes: the
   orphans of a crash between creating a file and inserting its row. A readable one is cut back and
   indexed as `repaired`; one without a whole fragment is removed. Files not named like ours are left alone;
4. closes the gaps left open by the last run (a stop or a crash): they lasted until now.

`RepairReport` says what was done; the service logs its summary and keeps it for the status API.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from clearsight.recording.fmp4_scan import SegmentScan, UnreadableSegment, scan_segment
from clearsight.recording.layout import SEGMENT_SUFFIX, THUMBNAIL_DIR, parse_segment_path
from clearsight.recording.records import SegmentRecord, SegmentState
from clearsight.recording.segment_writer import SegmentFacts
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.registry.models import utc_now

logger = logging.getLogger(__name__)

CRASH_GAP_REASON = "platform stopped unexpectedly"
ROW_PAGE = 1000
HASH_CHUNK = 1 << 20


@dataclass(slots=True)
class RepairReport:
    open_segments_closed: list[str] = field(default_factory=list)  # storage:path of rows left open
    truncated: list[tuple[str, int]] = field(default_factory=list)  # (storage:path, bytes cut off)
    missing_files: list[str] = field(default_factory=list)  # rows whose file was gone: unindexed
    empty_removed: list[str] = field(default_factory=list)  # files without a whole fragment: removed
    orphans_indexed: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    gaps_added: int = 0
    gaps_closed: int = 0
    segments_checked: int = 0
    seconds: float = 0.0

    @property
    def repaired_anything(self) -> bool:
        return bool(self.open_segments_closed or self.truncated or self.missing_files or self.empty_removed
                    or self.orphans_indexed or self.orphans_removed or self.gaps_added)

    def summary(self) -> str:
        return (f"{self.segments_checked} segments checked in {self.seconds:.1f} s: "
                f"{len(self.open_segments_closed)} left open closed, {len(self.truncated)} truncated "
                f"({sum(cut for _, cut in self.truncated)} bytes cut), {len(self.missing_files)} missing files "
                f"unindexed, {len(self.empty_removed)} empty files removed, {len(self.orphans_indexed)} orphans "
                f"indexed, {len(self.orphans_removed)} orphans removed, {self.gaps_added} gaps added, "
                f"{self.gaps_closed} open gaps closed")


@dataclass(frozen=True, slots=True)
class _Examined:
    """What the file of one segment turned out to be (worked out in a thread)."""

    kind: str  # ok | missing | empty
    scan: SegmentScan | None = None
    cut: int = 0
    sha256: str | None = None


def _examine(path: Path, *, fix: bool) -> _Examined:
    """Scan a segment file; with `fix`, cut it back to its last whole fragment (or remove it when it has none)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return _Examined("missing")
    try:
        with open(path, "rb") as stream:
            scan = scan_segment(stream, size, name=str(path))
    except UnreadableSegment as exc:
        logger.warning("segment file %s is unreadable: %s", path, exc.detail)
        scan = None
    if scan is None or not scan.fragments:
        if fix:
            path.unlink(missing_ok=True)
        return _Examined("empty")
    cut = size - scan.valid_end
    if cut and fix:
        with open(path, "r+b") as stream:
            stream.truncate(scan.valid_end)
            stream.flush()
            os.fsync(stream.fileno())
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        remaining = scan.valid_end
        while remaining > 0:
            chunk = stream.read(min(HASH_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return _Examined("ok", scan, cut, digest.hexdigest())


def _facts(storage: str, path: str, start_at: datetime, codec: str, examined: _Examined) -> SegmentFacts:
    scan = examined.scan
    assert scan is not None
    first = scan.fragments[0].decode_time
    keyframes = tuple((f.offset, (f.decode_time - first) * 1000 // scan.timescale) for f in scan.fragments
                      if f.keyframe)
    end_at = start_at + timedelta(seconds=scan.span / scan.timescale)
    return SegmentFacts(storage, path, start_at, end_at, scan.valid_end, codec or scan.codec, keyframes,
                        examined.sha256)


def _walk_segments(root: Path) -> list[str]:
    """Relative paths of the files under `root` named like segments (thumbnail directories skipped)."""
    found: list[str] = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != THUMBNAIL_DIR]
        for name in files:
            if name.endswith(SEGMENT_SUFFIX):
                found.append(Path(directory, name).relative_to(root).as_posix())
    return found


class IndexRepair:
    def __init__(self, store: RecordingStore, pool: StoragePool, *, now: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.pool = pool
        self._now = now

    async def run(self) -> RepairReport:
        loop = asyncio.get_running_loop()
        began = loop.time()
        report = RepairReport()
        now = self._now()
        for segment in await self.store.segments_in_state(SegmentState.OPEN):
            end = await self._repair_row(segment, report, left_open=True)
            if end is not None and end < now:
                await self.store.add_gap(segment.channel_id, end, now, CRASH_GAP_REASON)
                report.gaps_added += 1
        for name, storage in self.pool.paths.items():
            indexed = await self._check_rows(name, storage.root, report)
            await self._index_orphans(name, storage.root, indexed, report)
        report.gaps_closed = await self.store.close_open_gaps(now)
        report.seconds = loop.time() - began
        if report.repaired_anything:
            logger.warning("recording index repaired: %s", report.summary())
        else:
            logger.info("recording index consistent: %s", report.summary())
        return report

    async def _repair_row(self, segment: SegmentRecord, report: RepairReport, *, left_open: bool) -> datetime | None:
        """Repair one row from its file; returns the segment's end, or None when the row went."""
        label = f"{segment.storage}:{segment.path}"
        report.segments_checked += 1
        storage = self.pool.get(segment.storage)
        if storage is None:
            logger.warning("segment %s: storage %r is not configured; left as it is", label, segment.storage)
            return None
        examined = await asyncio.to_thread(_examine, storage.root / segment.path, fix=True)
        if left_open:
            report.open_segments_closed.append(label)
        if examined.kind == "missing":
            report.missing_files.append(label)
            await self.store.delete_segments([segment.id])
            return None
        if examined.kind == "empty":
            report.empty_removed.append(label)
            await self.store.delete_segments([segment.id])
            return None
        if examined.cut:
            report.truncated.append((label, examined.cut))
        facts = _facts(segment.storage, segment.path, segment.start_at, segment.codec, examined)
        await self.store.update_segment(segment.id, facts, SegmentState.REPAIRED)
        logger.info("segment %s repaired: %d fragments, %d bytes%s", label, len(examined.scan.fragments)
                    if examined.scan else 0, facts.size, f", {examined.cut} bytes cut off" if examined.cut else "")
        return facts.end_at

    async def _check_rows(self, name: str, root: Path, report: RepairReport) -> set[str]:
        """Closed rows of one storage path against their files; returns every indexed path."""
        indexed: set[str] = set()
        after = 0
        while page := await self.store.segment_files(name, after_id=after, limit=ROW_PAGE):
            after = page[-1][0]
            sizes = await asyncio.to_thread(_sizes, root, [path for _, path, _ in page])
            for (segment_id, path, size), actual in zip(page, sizes, strict=True):
                indexed.add(path)
                if actual == size:
                    report.segments_checked += 1
                    continue
                segment = await self.store.get_segment(segment_id)
                if segment is not None and segment.state is not SegmentState.OPEN:
                    await self._repair_row(segment, report, left_open=False)
        return indexed

    async def _index_orphans(self, name: str, root: Path, indexed: set[str], report: RepairReport) -> None:
        files = await asyncio.to_thread(_walk_segments, root)
        for path in files:
            if path in indexed:
                continue
            label = f"{name}:{path}"
            facts_of_name = parse_segment_path(path)
            if facts_of_name is None:
                logger.info("file %s is not named like a segment; left alone", label)
                continue
            examined = await asyncio.to_thread(_examine, root / path, fix=True)
            report.segments_checked += 1
            if examined.kind != "ok":
                report.orphans_removed.append(label)
                continue
            if examined.cut:
                report.truncated.append((label, examined.cut))
            facts = _facts(name, path, facts_of_name.start_at, "", examined)
            await self.store.add_segment(facts_of_name.channel_id, facts_of_name.channel_gb_id, facts,
                                         SegmentState.REPAIRED)
            report.orphans_indexed.append(label)
            logger.info("orphan segment %s indexed (%d bytes)", label, facts.size)


def _sizes(root: Path, paths: list[str]) -> list[int | None]:
    sizes: list[int | None] = []
    for path in paths:
        try:
            sizes.append((root / path).stat().st_size)
        except FileNotFoundError:
            sizes.append(None)
    return sizes
