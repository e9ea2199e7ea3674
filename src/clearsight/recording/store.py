"""The recording tables (migration 0002): policies, the segment index, gaps and legal holds.

Async, handing out frozen records. Segment rows mean what `registry/recording_models.py` documents: `path` is
relative to the root of the storage path named by `storage`; `keyframes` is JSON `[[byte_offset, ms], ...]`.
A segment is *held* when an active (unreleased) legal hold of its channel overlaps it; retention never
selects held or open segments.

Other packages read recordings through `segments_between(channel_id, start, end)` (export, playback) and
`timeline(...)`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.db import WriteTransactions
from clearsight.recording.policy import RecordingMode, RecordingPolicy, parse_schedule, schedule_json
from clearsight.recording.records import (
    GapRecord,
    LegalHoldRecord,
    SegmentRecord,
    SegmentState,
    Timeline,
    TimeRange,
)
from clearsight.recording.segment_writer import SegmentFacts
from clearsight.registry.catalog_writer import insert_for, rowcount
from clearsight.registry.models import Base, utc_now
from clearsight.registry.recording_models import LegalHold, RecordingGap, RecordingSegment
from clearsight.registry.recording_models import RecordingPolicy as PolicyRow

# No segment is longer than this (segments close at the first keyframe after at most 600 s): queries for
# segments overlapping a window look back this far from its start, so they use the (channel, start) index.
MAX_SEGMENT_SPAN = timedelta(hours=2)
# Segments closer than this count as one covered range: consecutive segments of one stream touch exactly, so
# this only absorbs rounding; a reconnection, however quick, shows as a break (and has its gap row).
MERGE_TOLERANCE = timedelta(milliseconds=250)
DEFAULT_SEGMENT_LIMIT = 5000
MAX_REASON_LENGTH = 255
POLICIES: Table = Base.metadata.tables["recording_policies"]


class HoldAlreadyReleased(Exception):
    def __init__(self, hold: LegalHoldRecord) -> None:
        super().__init__(f"legal hold {hold.id} was released at {hold.released_at} by {hold.released_by}")
        self.hold = hold


def _keyframes_json(keyframes: Sequence[tuple[int, int]]) -> str:
    return json.dumps([list(k) for k in keyframes], separators=(",", ":"))


def _segment(row: RecordingSegment) -> SegmentRecord:
    keyframes = tuple((int(offset), int(ms)) for offset, ms in json.loads(row.keyframes or "[]"))
    return SegmentRecord(row.id, row.channel_id, row.channel_gb_id, row.storage, row.path, row.start_at, row.end_at,
                         row.size, row.codec, keyframes, SegmentState(row.state), row.sha256)


def _gap(row: RecordingGap) -> GapRecord:
    return GapRecord(row.id, row.channel_id, row.start_at, row.end_at, row.reason)


def _hold(row: LegalHold) -> LegalHoldRecord:
    return LegalHoldRecord(row.id, row.channel_id, row.start_at, row.end_at, row.reason, row.created_by,
                           row.created_at, row.released_at, row.released_by)


def _policy(row: PolicyRow) -> RecordingPolicy:
    return RecordingPolicy(row.channel_id, RecordingMode(row.mode), parse_schedule(row.schedule or "[]"),
                           row.retention_days, row.storage, row.updated_at)


def _live(segment: SegmentRecord, live: SegmentFacts | None) -> SegmentRecord:
    if live is None or segment.path != live.path or segment.state is not SegmentState.OPEN:
        return segment
    return replace(segment, end_at=live.end_at, size=live.size, keyframes=live.keyframes)


def _not_held() -> ColumnElement[bool]:
    """No active legal hold of the segment's channel overlaps it."""
    return ~exists().where(
        LegalHold.channel_id == RecordingSegment.channel_id, LegalHold.released_at.is_(None),
        LegalHold.start_at < RecordingSegment.end_at, LegalHold.end_at > RecordingSegment.start_at)


def _overlapping(channel_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [RecordingSegment.channel_id == channel_id, RecordingSegment.start_at < end,
            RecordingSegment.start_at >= start - MAX_SEGMENT_SPAN, RecordingSegment.end_at > start]


def merge_ranges(spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime,
                 tolerance: timedelta = MERGE_TOLERANCE) -> tuple[TimeRange, ...]:
    """Spans (sorted by start) merged where they touch within `tolerance`, clipped to [start, end]."""
    merged: list[list[datetime]] = []
    for span_start, span_end in spans:
        if merged and span_start <= merged[-1][1] + tolerance:
            merged[-1][1] = max(merged[-1][1], span_end)
        else:
            merged.append([span_start, span_end])
    return tuple(TimeRange(max(a, start), min(b, end)) for a, b in merged if min(b, end) > max(a, start))


class RecordingStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._write = WriteTransactions(sessions).begin  # a write transaction; on SQLite, one at a time

    # --- policies ----------------------------------------------------------------------------------
    async def get_policy(self, channel_id: int) -> RecordingPolicy | None:
        async with self._sessions() as session:
            row = await session.get(PolicyRow, channel_id)
            return _policy(row) if row is not None else None

    async def list_policies(self) -> list[RecordingPolicy]:
        async with self._sessions() as session:
            rows = await session.scalars(select(PolicyRow).order_by(PolicyRow.channel_id))
            return [_policy(row) for row in rows]

    async def set_policy(self, policy: RecordingPolicy) -> RecordingPolicy:
        """Create or replace the channel's policy (the channel row must exist)."""
        values = {"channel_id": policy.channel_id, "mode": policy.mode.value,
                  "schedule": schedule_json(policy.schedule) if policy.schedule else None,
                  "retention_days": policy.retention_days, "storage": policy.storage, "updated_at": utc_now()}
        async with self._write() as session:
            insert = insert_for(session, POLICIES).values(values)
            await session.execute(insert.on_conflict_do_update(
                index_elements=["channel_id"], set_={k: v for k, v in values.items() if k != "channel_id"}))
        stored = await self.get_policy(policy.channel_id)
        assert stored is not None
        return stored

    async def delete_policy(self, channel_id: int) -> bool:
        async with self._write() as session:
            return rowcount(await session.execute(delete(PolicyRow).where(PolicyRow.channel_id == channel_id))) > 0

    # --- segments ----------------------------------------------------------------------------------
    async def add_segment(self, channel_id: int, channel_gb_id: str, facts: SegmentFacts,
                          state: SegmentState = SegmentState.OPEN) -> int:
        async with self._write() as session:
            row = RecordingSegment(channel_id=channel_id, channel_gb_id=channel_gb_id, storage=facts.storage,
                                   path=facts.path, start_at=facts.start_at, end_at=facts.end_at, size=facts.size,
                                   codec=facts.codec, keyframes=_keyframes_json(facts.keyframes), state=state.value,
                                   sha256=facts.sha256)
            session.add(row)
            await session.flush()
            return row.id

    async def update_segment(self, segment_id: int, facts: SegmentFacts, state: SegmentState) -> None:
        """A checkpoint of an open segment, or its final facts."""
        async with self._write() as session:
            await session.execute(update(RecordingSegment).where(RecordingSegment.id == segment_id).values(
                end_at=facts.end_at, size=facts.size, codec=facts.codec, keyframes=_keyframes_json(facts.keyframes),
                state=state.value, sha256=facts.sha256))

    async def delete_segments(self, segment_ids: Sequence[int]) -> int:
        if not segment_ids:
            return 0
        async with self._write() as session:
            return rowcount(await session.execute(delete(RecordingSegment).where(RecordingSegment.id.in_(segment_ids))))

    async def get_segment(self, segment_id: int) -> SegmentRecord | None:
        async with self._sessions() as session:
            row = await session.get(RecordingSegment, segment_id)
            return _segment(row) if row is not None else None

    async def segments_between(self, channel_id: int, start: datetime, end: datetime, *,
                               limit: int | None = None) -> list[SegmentRecord]:
        """The channel's segments overlapping [start, end), oldest first (open ones included: see SegmentState)."""
        query = (select(RecordingSegment).where(*_overlapping(channel_id, start, end))
                 .order_by(RecordingSegment.start_at, RecordingSegment.id))
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as session:
            return [_segment(row) for row in await session.scalars(query)]

    async def segments_in_state(self, state: SegmentState) -> list[SegmentRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(select(RecordingSegment).where(RecordingSegment.state == state.value)
                                         .order_by(RecordingSegment.id))
            return [_segment(row) for row in rows]

    async def segment_files(self, storage: str, *, after_id: int = 0, limit: int = 1000) -> list[tuple[int, str, int]]:
        """(id, path, size) of a storage path's segments, by id, a page at a time."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(RecordingSegment.id, RecordingSegment.path, RecordingSegment.size)
                .where(RecordingSegment.storage == storage, RecordingSegment.id > after_id)
                .order_by(RecordingSegment.id).limit(limit))
            return [(int(i), str(p), int(s)) for i, p, s in rows]

    async def usage_by_storage(self) -> dict[str, int]:
        """Bytes of closed segments per storage path (open ones are counted by their writers)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(RecordingSegment.storage, func.coalesce(func.sum(RecordingSegment.size), 0))
                .where(RecordingSegment.state != SegmentState.OPEN.value).group_by(RecordingSegment.storage))
            return {str(storage): int(total) for storage, total in rows}

    async def oldest_deletable(self, storage: str, limit: int) -> list[SegmentRecord]:
        """The oldest closed, unheld segments of a storage path (for the quota sweep)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(RecordingSegment)
                .where(RecordingSegment.storage == storage, RecordingSegment.state != SegmentState.OPEN.value,
                       _not_held())
                .order_by(RecordingSegment.start_at).limit(limit))
            return [_segment(row) for row in rows]

    async def expired(self, now: datetime, default_days: int, limit: int) -> list[SegmentRecord]:
        """Closed, unheld segments that ended before their channel's retention (its policy's, else the default)."""
        async with self._sessions() as session:
            custom = [days for days in await session.scalars(
                select(PolicyRow.retention_days).where(PolicyRow.retention_days.is_not(None)).distinct())
                if days is not None]
            policy_days = (select(PolicyRow.retention_days).where(PolicyRow.channel_id == RecordingSegment.channel_id)
                           .scalar_subquery())
            expired_by: list[ColumnElement[bool]] = [
                and_(policy_days.is_(None), RecordingSegment.end_at < now - timedelta(days=default_days))]
            expired_by += [and_(policy_days == days, RecordingSegment.end_at < now - timedelta(days=days))
                           for days in custom]
            rows = await session.scalars(
                select(RecordingSegment)
                .where(RecordingSegment.state != SegmentState.OPEN.value, or_(*expired_by), _not_held())
                .order_by(RecordingSegment.end_at).limit(limit))
            return [_segment(row) for row in rows]

    # --- gaps --------------------------------------------------------------------------------------
    async def open_gap(self, channel_id: int, start: datetime, reason: str) -> int:
        async with self._write() as session:
            row = RecordingGap(channel_id=channel_id, start_at=start, end_at=None, reason=reason[:MAX_REASON_LENGTH])
            session.add(row)
            await session.flush()
            return row.id

    async def add_gap(self, channel_id: int, start: datetime, end: datetime, reason: str) -> int:
        async with self._write() as session:
            row = RecordingGap(channel_id=channel_id, start_at=start, end_at=end, reason=reason[:MAX_REASON_LENGTH])
            session.add(row)
            await session.flush()
            return row.id

    async def set_gap_reason(self, gap_id: int, reason: str) -> None:
        async with self._write() as session:
            await session.execute(update(RecordingGap).where(RecordingGap.id == gap_id)
                                  .values(reason=reason[:MAX_REASON_LENGTH]))

    async def close_gap(self, gap_id: int, end: datetime) -> None:
        async with self._write() as session:
            await session.execute(update(RecordingGap).where(RecordingGap.id == gap_id).values(end_at=end))

    async def close_open_gaps(self, end: datetime) -> int:
        """Close every gap still open (left so by a stop or a crash); returns how many."""
        async with self._write() as session:
            return rowcount(await session.execute(update(RecordingGap).where(RecordingGap.end_at.is_(None))
                                                  .values(end_at=end)))

    async def gaps_between(self, channel_id: int, start: datetime, end: datetime) -> list[GapRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(RecordingGap).where(RecordingGap.channel_id == channel_id, RecordingGap.start_at < end,
                                           or_(RecordingGap.end_at.is_(None), RecordingGap.end_at > start))
                .order_by(RecordingGap.start_at, RecordingGap.id))
            return [_gap(row) for row in rows]

    # --- the timeline ------------------------------------------------------------------------------
    async def timeline(self, channel_id: int, start: datetime, end: datetime, *,
                       segment_limit: int = DEFAULT_SEGMENT_LIMIT, live: SegmentFacts | None = None) -> Timeline:
        """`live`: the open segment as its writer knows it now (its row lags by up to a checkpoint)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(RecordingSegment.start_at, RecordingSegment.end_at, RecordingSegment.path)
                .where(*_overlapping(channel_id, start, end)).order_by(RecordingSegment.start_at))
            spans = [(a, live.end_at if live is not None and path == live.path else b) for a, b, path in rows]
        segments = [_live(s, live) for s in await self.segments_between(channel_id, start, end,
                                                                         limit=segment_limit + 1)]
        gaps = await self.gaps_between(channel_id, start, end)
        return Timeline(channel_id, start, end, merge_ranges(spans, start, end), tuple(gaps),
                        tuple(segments[:segment_limit]), len(segments) > segment_limit)

    async def has_recordings(self, channel_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(select(RecordingSegment.id).where(RecordingSegment.channel_id == channel_id)
                                         .limit(1))
            return found is not None

    # --- legal holds -------------------------------------------------------------------------------
    async def create_hold(self, channel_id: int, start: datetime, end: datetime, reason: str,
                          created_by: str) -> LegalHoldRecord:
        async with self._write() as session:
            row = LegalHold(channel_id=channel_id, start_at=start, end_at=end, reason=reason[:MAX_REASON_LENGTH],
                            created_by=created_by, created_at=utc_now())
            session.add(row)
            await session.flush()
            return _hold(row)

    async def get_hold(self, hold_id: int) -> LegalHoldRecord | None:
        async with self._sessions() as session:
            row = await session.get(LegalHold, hold_id)
            return _hold(row) if row is not None else None

    async def list_holds(self, *, channel_id: int | None = None, active: bool | None = None) -> list[LegalHoldRecord]:
        conditions: list[ColumnElement[bool]] = []
        if channel_id is not None:
            conditions.append(LegalHold.channel_id == channel_id)
        if active is not None:
            conditions.append(LegalHold.released_at.is_(None) if active else LegalHold.released_at.is_not(None))
        async with self._sessions() as session:
            rows = await session.scalars(select(LegalHold).where(*conditions).order_by(LegalHold.id))
            return [_hold(row) for row in rows]

    async def release_hold(self, hold_id: int, released_by: str) -> LegalHoldRecord | None:
        """Release an active hold (who and when are kept); None: no such hold; raises HoldAlreadyReleased."""
        async with self._write() as session:
            # The write comes first: on SQLite it takes the write lock before anything is read.
            released = rowcount(await session.execute(
                update(LegalHold).where(LegalHold.id == hold_id, LegalHold.released_at.is_(None))
                .values(released_at=utc_now(), released_by=released_by)))
            row = await session.get(LegalHold, hold_id)
            if row is None:
                return None
            if not released:
                raise HoldAlreadyReleased(_hold(row))
            return _hold(row)
