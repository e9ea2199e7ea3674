"""Retention: segments older than their channel's retention go, and when a storage path fills, the oldest go.

By age: a closed segment that ended more than its channel's `retention_days` (the policy's, else
`CLEARSIGHT_RECORDING_RETENTION_DAYS`) ago is deleted. By space: when a storage path holds more than
`QUOTA_HIGH_WATER` of its quota, or its disk has less than the pool's minimum free space, its oldest closed
segments are deleted until it is back under `QUOTA_LOW_WATER` (or the disk has room again). Neither ever
touches an open segment or one under an active legal hold; when only such segments remain, the sweep says so
and recording carries on where there is room (`StoragePool.choose`).

The file goes first, then its row: a crash between the two leaves a row without a file, which start-up
repair removes (a file without a row would be indexed again). Thumbnails in the segment's time go with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clearsight.recording.layout import THUMBNAIL_DIR
from clearsight.recording.records import SegmentRecord
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.recording.thumbnails import delete_thumbnails
from clearsight.registry.models import utc_now

logger = logging.getLogger(__name__)

DELETE_BATCH = 100  # segments looked up and deleted at a time


@dataclass(slots=True)
class SweepResult:
    deleted: int = 0
    bytes_freed: int = 0
    thumbnails_deleted: int = 0
    stuck: list[str] = field(default_factory=list)  # storage paths over their limits with nothing deletable

    def add(self, other: SweepResult) -> None:
        self.deleted += other.deleted
        self.bytes_freed += other.bytes_freed
        self.thumbnails_deleted += other.thumbnails_deleted
        self.stuck.extend(other.stuck)


class RetentionSweeper:
    def __init__(self, store: RecordingStore, pool: StoragePool, *, default_days: int,
                 now: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.pool = pool
        self.default_days = default_days
        self._now = now
        self._lock = asyncio.Lock()  # one sweep at a time (the timer's and one asked for by a full disk)

    async def refresh_usage(self) -> None:
        self.pool.set_indexed(await self.store.usage_by_storage())

    async def by_age(self) -> SweepResult:
        result = SweepResult()
        async with self._lock:
            failed: set[int] = set()
            while True:
                batch = [s for s in await self.store.expired(self._now(), self.default_days, DELETE_BATCH + len(failed))
                         if s.id not in failed]
                if not batch:
                    break
                done = await self._delete(batch[:DELETE_BATCH], result)
                failed.update(s.id for s in batch[:DELETE_BATCH] if s.id not in done)
        if result.deleted:
            logger.info("retention by age: %d segments deleted (%.1f MB)", result.deleted, result.bytes_freed / 1e6)
        return result

    async def by_space(self) -> SweepResult:
        result = SweepResult()
        async with self._lock:
            for name in self.pool.names:
                state = self.pool.state(name)
                if state.excess <= 0:
                    continue
                freed, tried = 0, set[int]()
                while freed < state.excess:
                    candidates = [s for s in await self.store.oldest_deletable(name, DELETE_BATCH + len(tried))
                                  if s.id not in tried]
                    if not candidates:
                        logger.warning("storage %s: %.1f MB over its limits and nothing left to delete (the rest is "
                                       "open or under legal hold)", name, (state.excess - freed) / 1e6)
                        result.stuck.append(name)
                        break
                    chosen: list[SegmentRecord] = []
                    for segment in candidates:
                        chosen.append(segment)
                        freed += segment.size
                        if freed >= state.excess:
                            break
                    tried.update(s.id for s in chosen)
                    await self._delete(chosen, result)
                logger.info("storage %s: over its limits by %.1f MB; %.1f MB of the oldest recordings deleted", name,
                            state.excess / 1e6, freed / 1e6)
        return result

    async def _delete(self, segments: Sequence[SegmentRecord], result: SweepResult) -> set[int]:
        """Files, thumbnails, then rows; returns the ids deleted."""
        located = [(s, storage.root if (storage := self.pool.get(s.storage)) else None) for s in segments]
        done, thumbnails = await asyncio.to_thread(_remove_files, located)
        await self.store.delete_segments([s.id for s in segments if s.id in done])
        for segment in segments:
            if segment.id in done:
                result.deleted += 1
                result.bytes_freed += segment.size
                self.pool.indexed_changed(segment.storage, -segment.size)
        result.thumbnails_deleted += thumbnails
        return done


def _remove_files(segments: Sequence[tuple[SegmentRecord, Path | None]]) -> tuple[set[int], int]:
    """Delete the segments' files (a missing one counts as deleted) and their thumbnails; blocking."""
    done: set[int] = set()
    thumbnails = 0
    for segment, root in segments:
        if root is None:
            logger.warning("segment %d is on storage %r, which is no longer configured; kept", segment.id,
                           segment.storage)
            continue
        path = root / segment.path
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("segment %d: cannot delete %s: %s", segment.id, path, exc)
            continue
        done.add(segment.id)
        thumbnails += delete_thumbnails(root, segment.channel_id, segment.start_at, segment.end_at)
        _remove_empty_dirs(path.parent, root)
    return done, thumbnails


def _remove_empty_dirs(directory: Path, root: Path) -> None:
    """Remove a day's directory (and its thumbnail directory, then the channel's) once nothing is left in them."""
    for candidate in (directory / THUMBNAIL_DIR, directory, directory.parent):
        if candidate == root or root not in candidate.parents:
            return
        try:
            candidate.rmdir()
        except FileNotFoundError:
            continue
        except OSError:  # not empty
            return
