"""Catalog items as the registry stores them: channels, groups (215/216), and change events."""

from __future__ import annotations

import logging

from clearsight.gb28181.ids import DeviceType, GbId, InvalidGbId
from clearsight.gb28181.manscdp import CatalogItem
from clearsight.registry.records import (
    CatalogEvent,
    CatalogEventType,
    ChannelRecordIn,
    GroupKind,
    GroupRecordIn,
)

logger = logging.getLogger(__name__)

# Catalog item Status values meaning the channel works (GB/T 28181-2016 A.2.4.7 lists ON/OFF;
# devices also send "OK" and "ONLINE").
_ONLINE_STATUSES = frozenset({"ON", "OK", "ONLINE"})


def _item_type(item: CatalogItem) -> int | None:
    try:
        return GbId.parse(item.device_id).type_code
    except InvalidGbId:
        return None


def to_record(item: CatalogItem) -> ChannelRecordIn | GroupRecordIn:
    type_code = _item_type(item)
    if type_code in (DeviceType.BUSINESS_GROUP, DeviceType.VIRTUAL_ORG):
        kind = GroupKind.BUSINESS_GROUP if type_code == DeviceType.BUSINESS_GROUP else GroupKind.VIRTUAL_ORG
        return GroupRecordIn(gb_id=item.device_id, kind=kind, name=item.name or "",
                             parent_id=item.parent_id, business_group_id=item.business_group_id)
    return ChannelRecordIn(
        gb_id=item.device_id, name=item.name or item.device_id, manufacturer=item.manufacturer,
        model=item.model, owner=item.owner, civil_code=item.civil_code, address=item.address,
        parental=bool(item.parental), parent_id=item.parent_id, business_group_id=item.business_group_id,
        secrecy=item.secrecy or 0, online=(item.status or "").upper() in _ONLINE_STATUSES,
        longitude=item.longitude, latitude=item.latitude, ptz_type=item.ptz_type)


def split_catalog(items: list[CatalogItem]) -> tuple[list[ChannelRecordIn], list[GroupRecordIn]]:
    channels: list[ChannelRecordIn] = []
    groups: list[GroupRecordIn] = []
    for item in items:
        record = to_record(item)
        if isinstance(record, GroupRecordIn):
            groups.append(record)
        else:
            channels.append(record)
    return channels, groups


def to_events(items: list[CatalogItem]) -> list[CatalogEvent]:
    events: list[CatalogEvent] = []
    for item in items:
        try:
            event = CatalogEventType((item.event or "").upper())
        except ValueError:
            logger.warning("catalog item %s has unknown event %r; ignored", item.device_id, item.event)
            continue
        record = to_record(item) if event in (CatalogEventType.ADD, CatalogEventType.UPDATE) else None
        events.append(CatalogEvent(event=event, gb_id=item.device_id, item=record))
    return events
