"""List responses other than Catalog: RecordInfo (recordings) and PresetQuery (presets)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import (
    child_int,
    child_str,
    child_text,
    find_child,
    find_children,
    parse_int,
)
from clearsight.gb28181.manscdp_message import CmdType, ManscdpMessage, RootKind, expect
from clearsight.gb28181.manscdp_writer import add, add_parent, new_body, serialize

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordItem:
    """One recording; times are the device's local time as sent (``2024-05-04T14:43:16``)."""

    device_id: str
    start_time: str | None
    end_time: str | None
    name: str | None = None
    file_path: str | None = None
    address: str | None = None
    secrecy: int | None = None
    type: str | None = None  # time, alarm, manual, all
    recorder_id: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """One RecordInfo Response message; like Catalog, a long list arrives in several."""

    device_id: str
    sn: int
    sum_num: int
    name: str | None = None
    items: list[RecordItem] = field(default_factory=list)
    declared_num: int | None = None


def parse_record_info_response(msg: ManscdpMessage) -> RecordChunk:
    """Read a RecordInfo Response; a missing SumNum is taken as the number of items."""
    expect(msg, CmdType.RECORD_INFO, RootKind.RESPONSE)
    items: list[RecordItem] = []
    declared_num: int | None = None
    record_list = find_child(msg.root, "RecordList")
    if record_list is not None:
        declared_num = parse_int(record_list.get("Num"))
        for element in find_children(record_list, "Item"):
            items.append(
                RecordItem(
                    device_id=child_str(element, "DeviceID") or msg.device_id,
                    start_time=child_text(element, "StartTime"),
                    end_time=child_text(element, "EndTime"),
                    name=child_text(element, "Name"),
                    file_path=child_text(element, "FilePath"),
                    address=child_text(element, "Address"),
                    secrecy=child_int(element, "Secrecy"),
                    type=child_text(element, "Type"),
                    recorder_id=child_text(element, "RecorderID"),
                    file_size=child_int(element, "FileSize"),
                )
            )
    sum_num = child_int(msg.root, "SumNum")
    if sum_num is None or sum_num < 0:
        logger.warning("RecordInfo from %s (SN %s) has no usable SumNum", msg.device_id, msg.sn)
        sum_num = len(items)
    return RecordChunk(msg.device_id, msg.sn, sum_num, child_text(msg.root, "Name"), items, declared_num)


def build_record_info_response(
    sn: int,
    device_id: str,
    sum_num: int,
    items: Sequence[RecordItem],
    *,
    name: str | None = None,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """One chunk of a RecordInfo Response."""
    root = new_body(RootKind.RESPONSE, CmdType.RECORD_INFO, sn, device_id)
    add(root, "Name", name)
    add(root, "SumNum", sum_num)
    record_list = add_parent(root, "RecordList", Num=str(len(items)))
    for item in items:
        element = add_parent(record_list, "Item")
        add(element, "DeviceID", item.device_id)
        add(element, "Name", item.name)
        add(element, "FilePath", item.file_path)
        add(element, "Address", item.address)
        add(element, "StartTime", item.start_time)
        add(element, "EndTime", item.end_time)
        add(element, "Secrecy", item.secrecy)
        add(element, "Type", item.type)
        add(element, "RecorderID", item.recorder_id)
        add(element, "FileSize", item.file_size)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class Preset:
    """A PTZ preset: its number (as sent, normally 1-255) and name."""

    preset_id: str
    name: str | None = None

    @property
    def number(self) -> int | None:
        return parse_int(self.preset_id)


@dataclass(frozen=True, slots=True)
class PresetList:
    """A PresetQuery Response."""

    device_id: str
    sn: int
    presets: list[Preset] = field(default_factory=list)
    sum_num: int | None = None


def parse_preset_query_response(msg: ManscdpMessage) -> PresetList:
    """Read a PresetQuery Response."""
    expect(msg, CmdType.PRESET_QUERY, RootKind.RESPONSE)
    presets: list[Preset] = []
    preset_list = find_child(msg.root, "PresetList")
    if preset_list is not None:
        for element in find_children(preset_list, "Item"):
            preset_id = child_str(element, "PresetID")
            if preset_id:
                presets.append(Preset(preset_id, child_text(element, "PresetName")))
    return PresetList(msg.device_id, msg.sn, presets, child_int(msg.root, "SumNum"))


def build_preset_query_response(
    sn: int,
    device_id: str,
    presets: Sequence[Preset],
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A PresetQuery Response listing ``presets``."""
    root = new_body(RootKind.RESPONSE, CmdType.PRESET_QUERY, sn, device_id)
    add(root, "SumNum", len(presets))
    preset_list = add_parent(root, "PresetList", Num=str(len(presets)))
    for preset in presets:
        element = add_parent(preset_list, "Item")
        add(element, "PresetID", preset.preset_id)
        add(element, "PresetName", preset.name)
    return serialize(root, charset)
