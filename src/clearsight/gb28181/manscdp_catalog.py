"""Catalog bodies: the chunked ``Catalog`` response and catalog-change notifications (events)."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import (
    child_flag,
    child_int,
    child_latitude,
    child_longitude,
    child_str,
    child_text,
    find_child,
    find_children,
    parse_int,
)
from clearsight.gb28181.manscdp_message import CmdType, ManscdpMessage, RootKind, expect
from clearsight.gb28181.manscdp_writer import add, add_parent, new_body, serialize

logger = logging.getLogger(__name__)

ONLINE_STATUSES = frozenset({"ON", "ONLINE", "OK"})  # GB/T 28181-2016 appendix A: Status ON; devices vary
OFFLINE_STATUSES = frozenset({"OFF", "OFFLINE"})


class CatalogEvent(StrEnum):
    """``<Event>`` of a catalog-change notification (GB/T 28181-2016 appendix A)."""

    ON = "ON"
    OFF = "OFF"
    VLOST = "VLOST"
    DEFECT = "DEFECT"
    ADD = "ADD"
    DEL = "DEL"
    UPDATE = "UPDATE"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One ``<Item>`` of a catalog: a channel, a device, or a group/organisation node.

    Text fields are None when the element is absent, "" when it is empty. ``event`` is the
    upper-cased ``<Event>`` of a change notification (compare with :class:`CatalogEvent`), None in an
    ordinary response.
    """

    device_id: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    address: str | None = None
    parental: bool | None = None
    parent_id: str | None = None
    business_group_id: str | None = None
    safety_way: int | None = None
    register_way: int | None = None
    secrecy: int | None = None
    status: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None
    event: str | None = None

    @property
    def is_online(self) -> bool | None:
        """True for ON (or ONLINE/OK), False for OFF (or OFFLINE), None for anything else."""
        status = (self.status or "").upper()
        if status in ONLINE_STATUSES:
            return True
        if status in OFFLINE_STATUSES:
            return False
        return None


@dataclass(frozen=True, slots=True)
class CatalogChunk:
    """One Catalog response (or notification) message: part of the whole catalog."""

    device_id: str
    sn: int
    sum_num: int
    items: list[CatalogItem] = field(default_factory=list)
    declared_num: int | None = None  # the DeviceList Num attribute, as sent


def _ptz_type(item: ET.Element) -> int | None:
    info = find_child(item, "Info")
    value = child_int(info, "PTZType") if info is not None else None
    return value if value is not None else child_int(item, "PTZType")


def _item(element: ET.Element) -> CatalogItem | None:
    device_id = child_str(element, "DeviceID")
    if not device_id:
        return None
    event = child_text(element, "Event")
    return CatalogItem(
        device_id=device_id,
        name=child_text(element, "Name"),
        manufacturer=child_text(element, "Manufacturer"),
        model=child_text(element, "Model"),
        owner=child_text(element, "Owner"),
        civil_code=child_text(element, "CivilCode"),
        address=child_text(element, "Address"),
        parental=child_flag(element, "Parental"),
        parent_id=child_text(element, "ParentID"),
        business_group_id=child_text(element, "BusinessGroupID"),
        safety_way=child_int(element, "SafetyWay"),
        register_way=child_int(element, "RegisterWay"),
        secrecy=child_int(element, "Secrecy"),
        status=child_text(element, "Status"),
        longitude=child_longitude(element),
        latitude=child_latitude(element),
        ptz_type=_ptz_type(element),
        event=event.upper() if event else None,
    )


def parse_catalog_response(msg: ManscdpMessage) -> CatalogChunk:
    """Items of a Catalog Response or catalog-change Notify.

    Items without a DeviceID are skipped (logged). A missing or unusable SumNum is taken as the number
    of items in this message.
    """
    expect(msg, CmdType.CATALOG, RootKind.RESPONSE, RootKind.NOTIFY)
    device_list = find_child(msg.root, "DeviceList")
    items: list[CatalogItem] = []
    declared_num: int | None = None
    if device_list is not None:
        declared_num = parse_int(device_list.get("Num"))
        for element in find_children(device_list, "Item"):
            item = _item(element)
            if item is None:
                logger.warning(
                    "catalog from %s (SN %s): item without DeviceID skipped", msg.device_id, msg.sn
                )
            else:
                items.append(item)
    sum_num = child_int(msg.root, "SumNum")
    if sum_num is None or sum_num < 0:
        logger.warning(
            "catalog from %s (SN %s) has no usable SumNum (%r); assuming %d",
            msg.device_id,
            msg.sn,
            msg.text("SumNum"),
            len(items),
        )
        sum_num = len(items)
    if declared_num is not None and declared_num != len(items):
        logger.info(
            "catalog from %s (SN %s): DeviceList Num=%d but %d items",
            msg.device_id,
            msg.sn,
            declared_num,
            len(items),
        )
    return CatalogChunk(msg.device_id, msg.sn, sum_num, items, declared_num)


def _write_item(parent: ET.Element, item: CatalogItem) -> None:
    element = add_parent(parent, "Item")
    add(element, "DeviceID", item.device_id)
    add(element, "Event", item.event)
    add(element, "Name", item.name)
    add(element, "Manufacturer", item.manufacturer)
    add(element, "Model", item.model)
    add(element, "Owner", item.owner)
    add(element, "CivilCode", item.civil_code)
    add(element, "Address", item.address)
    add(element, "Parental", None if item.parental is None else int(item.parental))
    add(element, "ParentID", item.parent_id)
    add(element, "BusinessGroupID", item.business_group_id)
    add(element, "SafetyWay", item.safety_way)
    add(element, "RegisterWay", item.register_way)
    add(element, "Secrecy", item.secrecy)
    add(element, "Status", item.status)
    add(element, "Longitude", item.longitude)
    add(element, "Latitude", item.latitude)
    if item.ptz_type is not None:
        add(add_parent(element, "Info"), "PTZType", item.ptz_type)


def _catalog_body(
    kind: RootKind, sn: int, device_id: str, sum_num: int, items: Sequence[CatalogItem]
) -> ET.Element:
    root = new_body(kind, CmdType.CATALOG, sn, device_id)
    add(root, "SumNum", sum_num)
    device_list = add_parent(root, "DeviceList", Num=str(len(items)))
    for item in items:
        _write_item(device_list, item)
    return root


def build_catalog_response(
    sn: int,
    device_id: str,
    sum_num: int,
    items: Sequence[CatalogItem],
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """One chunk of a Catalog Response: ``items`` of a catalog of ``sum_num`` items in all."""
    return serialize(_catalog_body(RootKind.RESPONSE, sn, device_id, sum_num, items), charset)


def build_catalog_notify(
    sn: int,
    device_id: str,
    items_with_events: Sequence[CatalogItem],
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A catalog-change Notify; every item must carry its ``event`` (ADD, DEL, ON, ...)."""
    for item in items_with_events:
        if not item.event:
            raise ValueError(f"catalog notify item {item.device_id} has no event")
    body = _catalog_body(RootKind.NOTIFY, sn, device_id, len(items_with_events), items_with_events)
    return serialize(body, charset)
