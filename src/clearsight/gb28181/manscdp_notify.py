"""Event notifications from devices: Alarm and MobilePosition (GB/T 28181-2016 appendix A)."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import (
    child_float,
    child_int,
    child_latitude,
    child_longitude,
    child_str,
    child_text,
    find_child,
    find_children,
)
from clearsight.gb28181.manscdp_message import CmdType, ManscdpMessage, RootKind, expect
from clearsight.gb28181.manscdp_writer import add, add_parent, new_body, serialize

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlarmNotification:
    """An Alarm Notify; ``time`` is the device's local time as sent, codes as in appendix A."""

    device_id: str
    sn: int
    priority: int | None = None  # 1 first-level ... 4 fourth-level
    method: int | None = None  # 1 telephone, 2 device, 3 SMS, 4 GPS, 5 video, 6 fault, 7 other
    time: str | None = None
    description: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    alarm_type: int | None = None  # Info/AlarmType, meaning depends on method


def parse_alarm_notify(msg: ManscdpMessage) -> AlarmNotification:
    """Read an Alarm Notify."""
    expect(msg, CmdType.ALARM, RootKind.NOTIFY)
    root = msg.root
    info = find_child(root, "Info")
    return AlarmNotification(
        device_id=msg.device_id,
        sn=msg.sn,
        priority=child_int(root, "AlarmPriority"),
        method=child_int(root, "AlarmMethod"),
        time=child_text(root, "AlarmTime"),
        description=child_text(root, "AlarmDescription"),
        longitude=child_longitude(root),
        latitude=child_latitude(root),
        alarm_type=child_int(info, "AlarmType") if info is not None else None,
    )


def build_alarm_notify(
    sn: int,
    device_id: str,
    *,
    priority: int,
    method: int,
    time: str,
    description: str | None = None,
    alarm_type: int | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """An Alarm Notify; ``time`` is the device's local time (``2025-04-22T11:26:02``)."""
    root = new_body(RootKind.NOTIFY, CmdType.ALARM, sn, device_id)
    add(root, "AlarmPriority", priority)
    add(root, "AlarmMethod", method)
    add(root, "AlarmTime", time)
    add(root, "AlarmDescription", description)
    add(root, "Longitude", longitude)
    add(root, "Latitude", latitude)
    if alarm_type is not None:
        add(add_parent(root, "Info"), "AlarmType", alarm_type)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class PositionFix:
    """One position of a mobile device; ``time`` is local time as sent."""

    device_id: str
    time: str | None
    longitude: float | None
    latitude: float | None
    speed: float | None = None
    direction: float | None = None
    altitude: float | None = None


@dataclass(frozen=True, slots=True)
class MobilePositionNotify:
    """A MobilePosition Notify: 2016 style (one position at the top level) or 2022 style (items)."""

    device_id: str
    sn: int
    fixes: list[PositionFix] = field(default_factory=list)


def _fix(element: ET.Element, device_id: str, time_element: str) -> PositionFix:
    return PositionFix(
        device_id=child_str(element, "DeviceID") or device_id,
        time=child_text(element, time_element) or child_text(element, "Time"),
        longitude=child_longitude(element),
        latitude=child_latitude(element),
        speed=child_float(element, "Speed"),
        direction=child_float(element, "Direction"),
        altitude=child_float(element, "Altitude"),
    )


def parse_mobile_position(msg: ManscdpMessage) -> MobilePositionNotify:
    """Read a MobilePosition Notify in either edition's layout."""
    expect(msg, CmdType.MOBILE_POSITION, RootKind.NOTIFY)
    fixes: list[PositionFix] = []
    if find_child(msg.root, "Longitude") is not None:
        fixes.append(_fix(msg.root, msg.device_id, "Time"))
    device_list = find_child(msg.root, "DeviceList")
    if device_list is not None:
        fixes.extend(_fix(item, msg.device_id, "CaptureTime") for item in find_children(device_list, "Item"))
    return MobilePositionNotify(msg.device_id, msg.sn, fixes)
