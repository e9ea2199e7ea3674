"""Turning catalog items into table rows, and civil codes into region-tree rows.

Pure functions: no database. Device-sent text longer than its column is clipped; an ID-like field that
cannot be an ID (too long) is dropped rather than failing the whole catalog on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from clearsight.gb28181.regions import InvalidCivilCode, region_display_name, region_path
from clearsight.registry.models import GB_ID_LENGTH, PARENT_PATH_LENGTH, TEXT_LENGTH
from clearsight.registry.records import ChannelRecordIn, GroupRecordIn

logger = logging.getLogger(__name__)

_Item = TypeVar("_Item", ChannelRecordIn, GroupRecordIn)

REGION_LEVELS = {2: "province", 4: "city", 6: "county", 8: "unit"}  # by code length (GB/T 2260)

# Columns written from a catalog item (everything but keys and timestamps), in a stable order.
CHANNEL_COLUMNS: tuple[str, ...] = (
    *(f.name for f in fields(ChannelRecordIn) if f.name != "gb_id"),
    "region_code",
)
GROUP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(GroupRecordIn) if f.name != "gb_id")

_TEXT_LIMITS = {
    "name": TEXT_LENGTH,
    "manufacturer": TEXT_LENGTH,
    "model": TEXT_LENGTH,
    "owner": TEXT_LENGTH,
    "address": TEXT_LENGTH,
    "parent_id": PARENT_PATH_LENGTH,
}
_ID_FIELDS = ("civil_code", "business_group_id")


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    parent_code: str | None
    level: str


def valid_item_id(gb_id: str) -> bool:
    """Whether `gb_id` fits as a catalog item key (the catalog code validates the digits themselves)."""
    return 0 < len(gb_id) <= GB_ID_LENGTH


def region_code_of(civil_code: str | None) -> str | None:
    """The region-tree node a civil code belongs to ("34020000" → "3402"), or None when it is not one."""
    if not civil_code:
        return None
    try:
        return region_path(civil_code)[-1]
    except InvalidCivilCode:
        return None


def channel_values(item: ChannelRecordIn) -> dict[str, Any]:
    """The writable columns of a channel row, in `CHANNEL_COLUMNS` order."""
    values: dict[str, Any] = {}
    for name in CHANNEL_COLUMNS:
        if name == "region_code":
            values[name] = region_code_of(item.civil_code)
            continue
        value = getattr(item, name)
        if isinstance(value, str) and name in _TEXT_LIMITS:
            value = value[: _TEXT_LIMITS[name]]
        elif isinstance(value, str) and name in _ID_FIELDS and len(value) > GB_ID_LENGTH:
            logger.warning("channel %s: %s %r is too long, dropped", item.gb_id, name, value)
            value = None
        values[name] = value
    return values


def group_values(item: GroupRecordIn) -> dict[str, Any]:
    """The writable columns of a group row, in `GROUP_COLUMNS` order."""
    business_group_id = item.business_group_id
    if business_group_id is not None and len(business_group_id) > GB_ID_LENGTH:
        logger.warning("group %s: business group ID %r is too long, dropped", item.gb_id, business_group_id)
        business_group_id = None
    return {
        "kind": str(item.kind),
        "name": item.name[:TEXT_LENGTH],
        "parent_id": item.parent_id[:PARENT_PATH_LENGTH] if item.parent_id is not None else None,
        "business_group_id": business_group_id,
    }


def latest_by_id(items: Sequence[_Item]) -> tuple[dict[str, _Item], list[str]]:
    """Items keyed by GB ID (a repeated ID: the last one wins), and the IDs that cannot be keys."""
    kept: dict[str, _Item] = {}
    rejected: list[str] = []
    for item in items:
        if valid_item_id(item.gb_id):
            kept[item.gb_id] = item
        else:
            rejected.append(item.gb_id)
    return kept, rejected


def region_rows(region_codes: Iterable[str | None]) -> list[RegionRow]:
    """Rows for every node on the paths from the provinces down to each of `region_codes`."""
    rows: dict[str, RegionRow] = {}
    for code in region_codes:
        if code is None or code in rows:
            continue
        parent: str | None = None
        for node in region_path(code):
            if node not in rows:
                rows[node] = RegionRow(node, region_display_name(node), parent, REGION_LEVELS[len(node)])
            parent = node
    return sorted(rows.values(), key=lambda row: row.code)


def differs(stored: Mapping[Any, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a stored row's columns differ from the wanted values."""
    return any(stored[name] != value for name, value in wanted.items())
