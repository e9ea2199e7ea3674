"""The exports table and the segment index, as the exporter reads and writes them (async).

State moves pending → running → done | failed. `claim` is a conditional update, so a job runs once even if
two runners see it pending; a job interrupted by a stop goes back to pending (`release`), one found
running at start-up was cut short by a crash and is marked failed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.export.records import ExportPage, ExportRecord, ExportState, Keyframe, SegmentSource, SegmentState
from clearsight.registry.models import utc_now
from clearsight.registry.recording_models import Export, RecordingSegment

logger = logging.getLogger(__name__)


def _record(row: Export) -> ExportRecord:
    return ExportRecord(row.id, row.created_by, row.reason, tuple(json.loads(row.channels)), row.start_at,
                        row.end_at, row.watermark, ExportState(row.state), row.detail, row.path, row.size,
                        row.created_at, row.finished_at, tuple(json.loads(row.masks_lifted or "[]")))


def _keyframes(row: RecordingSegment) -> tuple[Keyframe, ...]:
    """The segment's keyframe index; an unreadable one is ignored (the file is then read from its start)."""
    try:
        entries = json.loads(row.keyframes or "[]")
        return tuple(Keyframe(int(offset), int(ms)) for offset, ms in entries)
    except (ValueError, TypeError) as exc:
        logger.warning("segment %d of channel %s: keyframe index unreadable (%s); reading from its start",
                       row.id, row.channel_gb_id, exc)
        return ()


def _segment(row: RecordingSegment, roots: Mapping[str, Path]) -> SegmentSource:
    root = roots.get(row.storage)
    try:
        state = SegmentState(row.state)
    except ValueError:
        state = SegmentState.OPEN  # an unknown state is treated like one still being written: no hash trusted
    return SegmentSource(row.id, row.channel_id, row.channel_gb_id, row.storage,
                         root / row.path if root is not None else None, row.start_at, row.end_at, state,
                         row.sha256, _keyframes(row))


class ExportStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, *, created_by: str, reason: str, channels: Sequence[int], start: datetime,
                     end: datetime, watermark: bool, masks_lifted: Sequence[int] = ()) -> ExportRecord:
        row = Export(id=uuid.uuid4().hex, created_by=created_by, reason=reason, channels=json.dumps(list(channels)),
                     start_at=start, end_at=end, watermark=watermark, state=ExportState.PENDING.value,
                     created_at=utc_now(), masks_lifted=json.dumps(sorted(set(masks_lifted))))
        async with self._sessions.begin() as session:
            session.add(row)
        return _record(row)

    async def get(self, export_id: str) -> ExportRecord | None:
        async with self._sessions() as session:
            row = await session.get(Export, export_id)
            return _record(row) if row is not None else None

    async def list_exports(self, *, created_by: str | None, offset: int, limit: int) -> ExportPage:
        """Newest first; only `created_by`'s when given."""
        query = select(Export)
        if created_by is not None:
            query = query.where(Export.created_by == created_by)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(query.order_by(Export.created_at.desc(), Export.id).offset(offset)
                                         .limit(limit))
            return ExportPage(tuple(_record(row) for row in rows), int(total or 0))

    async def pending(self) -> list[str]:
        async with self._sessions() as session:
            rows = await session.scalars(select(Export.id).where(Export.state == ExportState.PENDING.value)
                                         .order_by(Export.created_at))
            return list(rows)

    async def claim(self, export_id: str) -> ExportRecord | None:
        """pending → running; None when it is not pending (another runner took it)."""
        if not await self._move(export_id, ExportState.PENDING, ExportState.RUNNING):
            return None
        return await self.get(export_id)

    async def release(self, export_id: str) -> None:
        """running → pending: interrupted by a stop, runs again at the next start."""
        await self._move(export_id, ExportState.RUNNING, ExportState.PENDING)

    async def finish(self, export_id: str, *, path: str, size: int, detail: str) -> None:
        await self._move(export_id, ExportState.RUNNING, ExportState.DONE, path=path, size=size, detail=detail,
                         finished_at=utc_now())

    async def fail(self, export_id: str, detail: str) -> None:
        await self._move(export_id, ExportState.RUNNING, ExportState.FAILED, detail=detail, finished_at=utc_now())

    async def fail_interrupted(self, detail: str) -> int:
        """Every running export → failed (at start-up: a crash cut them short)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Export).where(Export.state == ExportState.RUNNING.value)
                .values(state=ExportState.FAILED.value, detail=detail, finished_at=utc_now()))
            return int(getattr(result, "rowcount", 0) or 0)

    async def _move(self, export_id: str, before: ExportState, after: ExportState, **values: object) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Export).where(Export.id == export_id, Export.state == before.value)
                .values(state=after.value, **values))
            return bool(getattr(result, "rowcount", 0))

    async def segments(self, channel_id: int, start: datetime, end: datetime,
                       roots: Mapping[str, Path]) -> tuple[SegmentSource, ...]:
        """The channel's segments overlapping [start, end), by start; open ones count as reaching the present."""
        query = (select(RecordingSegment)
                 .where(RecordingSegment.channel_id == channel_id, RecordingSegment.start_at < end,
                        or_(RecordingSegment.end_at > start, RecordingSegment.state == SegmentState.OPEN.value))
                 .order_by(RecordingSegment.start_at, RecordingSegment.id))
        async with self._sessions() as session:
            return tuple(_segment(row, roots) for row in await session.scalars(query))
