"""Privacy masks in the database (frozen `PrivacyMask` records out). Polygons are validated before they get here."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.privacy.models import PrivacyMaskRow
from clearsight.privacy.polygon import Polygon, polygon_json
from clearsight.privacy.records import AppliedMask, PrivacyMask
from clearsight.registry.models import utc_now

logger = logging.getLogger(__name__)


def _record(row: PrivacyMaskRow) -> PrivacyMask:
    polygon = tuple((float(x), float(y)) for x, y in row.polygon)
    return PrivacyMask(row.id, row.channel_id, row.name, polygon, row.enabled, row.created_by, row.created_at,
                       row.updated_by, row.updated_at)


class PrivacyMaskStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list_masks(self, channel_id: int) -> list[PrivacyMask]:
        """The channel's masks, enabled or not, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(select(PrivacyMaskRow).where(PrivacyMaskRow.channel_id == channel_id)
                                         .order_by(PrivacyMaskRow.id))
            return [_record(row) for row in rows]

    async def applied_masks(self, channel_id: int) -> tuple[AppliedMask, ...]:
        """The channel's enabled masks: what its pictures are painted with for those who may not lift them."""
        async with self._sessions() as session:
            rows = await session.scalars(select(PrivacyMaskRow)
                                         .where(PrivacyMaskRow.channel_id == channel_id, PrivacyMaskRow.enabled)
                                         .order_by(PrivacyMaskRow.id))
            return tuple(AppliedMask.of(_record(row)) for row in rows)

    async def get(self, channel_id: int, mask_id: int) -> PrivacyMask | None:
        async with self._sessions() as session:
            row = await session.get(PrivacyMaskRow, mask_id)
            return _record(row) if row is not None and row.channel_id == channel_id else None

    async def create(self, channel_id: int, *, name: str, polygon: Polygon, enabled: bool,
                     actor: str) -> PrivacyMask:
        now = utc_now()
        row = PrivacyMaskRow(channel_id=channel_id, name=name, polygon=polygon_json(polygon), enabled=enabled,
                             created_by=actor, created_at=now, updated_by=actor, updated_at=now)
        async with self._sessions.begin() as session:
            session.add(row)
        logger.info("channel %d: privacy mask %d %r created by %s", channel_id, row.id, name, actor)
        return _record(row)

    async def update(self, channel_id: int, mask_id: int, *, name: str, polygon: Polygon, enabled: bool,
                     actor: str) -> PrivacyMask | None:
        async with self._sessions.begin() as session:
            row = await session.get(PrivacyMaskRow, mask_id, with_for_update=True)
            if row is None or row.channel_id != channel_id:
                return None
            row.name, row.polygon, row.enabled = name, polygon_json(polygon), enabled
            row.updated_by, row.updated_at = actor, utc_now()
        logger.info("channel %d: privacy mask %d updated by %s (enabled %s)", channel_id, mask_id, actor, enabled)
        return _record(row)

    async def delete(self, channel_id: int, mask_id: int) -> PrivacyMask | None:
        """Remove the mask; returns what it was, None when the channel has no such mask."""
        async with self._sessions.begin() as session:
            row = await session.get(PrivacyMaskRow, mask_id, with_for_update=True)
            if row is None or row.channel_id != channel_id:
                return None
            removed = _record(row)
            await session.delete(row)
        logger.info("channel %d: privacy mask %d deleted", channel_id, mask_id)
        return removed
