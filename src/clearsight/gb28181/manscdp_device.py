"""Device-level bodies: Keepalive, DeviceInfo and DeviceStatus (GB/T 28181-2016 appendix A)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import child_int, child_str, child_text, find_child, find_children
from clearsight.gb28181.manscdp_message import CmdType, ManscdpMessage, ResultCode, RootKind, expect
from clearsight.gb28181.manscdp_writer import add, add_parent, new_body, serialize

logger = logging.getLogger(__name__)

KEEPALIVE_OK = "OK"  # GB/T 28181-2016 appendix A: keepalive Status OK or ERROR
KEEPALIVE_ERROR = "ERROR"
ONLINE = "ONLINE"  # GB/T 28181-2016 appendix A: DeviceStatus Online ONLINE or OFFLINE
OFFLINE = "OFFLINE"
SWITCH_ON = "ON"  # GB/T 28181-2016 appendix A: Encode/Record ON or OFF
SWITCH_OFF = "OFF"
DUTY_ON = "ONDUTY"  # GB/T 28181-2016 appendix A: alarm DutyStatus ONDUTY, OFFDUTY or ALARM
ALARM_STATUS_ELEMENT = "Alarmstatus"  # spelled with a lower-case s in the standard's schema


DEVICE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # GB/T 28181-2016 appendix A: local time, no zone


def format_device_time(value: datetime) -> str:
    """``value``'s wall-clock time as MANSCDP writes times (``2025-04-22T11:14:23``)."""
    return value.strftime(DEVICE_TIME_FORMAT)


def _switch(value: str | None) -> bool | None:
    upper = (value or "").upper()
    return True if upper == SWITCH_ON else False if upper == SWITCH_OFF else None


def _result(ok: bool) -> str:
    return ResultCode.OK.value if ok else ResultCode.ERROR.value


@dataclass(frozen=True, slots=True)
class Keepalive:
    """A device's heartbeat; ``faulty_device_ids`` lists channels it reports broken (Info/DeviceID)."""

    device_id: str
    sn: int
    status: str | None
    faulty_device_ids: tuple[str, ...] = ()

    @property
    def is_ok(self) -> bool:
        return (self.status or "").upper() == KEEPALIVE_OK


def parse_keepalive(msg: ManscdpMessage) -> Keepalive:
    """Read a Keepalive Notify."""
    expect(msg, CmdType.KEEPALIVE, RootKind.NOTIFY)
    info = find_child(msg.root, "Info")
    faulty: tuple[str, ...] = ()
    if info is not None:
        faulty = tuple(text for e in find_children(info, "DeviceID") if (text := (e.text or "").strip()))
    return Keepalive(msg.device_id, msg.sn, child_text(msg.root, "Status"), faulty)


def build_keepalive(
    sn: int,
    device_id: str,
    status: str = KEEPALIVE_OK,
    *,
    faulty_device_ids: Sequence[str] = (),
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A Keepalive Notify."""
    root = new_body(RootKind.NOTIFY, CmdType.KEEPALIVE, sn, device_id)
    add(root, "Status", status)
    if faulty_device_ids:
        info = add_parent(root, "Info")
        for faulty in faulty_device_ids:
            add(info, "DeviceID", faulty)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A DeviceInfo Response. ``channel`` is the number of channels the device reports."""

    device_id: str
    sn: int
    result: str | None = None
    device_name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    channel: int | None = None
    device_type: str | None = None
    max_camera: int | None = None
    max_alarm: int | None = None

    @property
    def ok(self) -> bool:
        """False only when the device said ERROR (many omit Result)."""
        return (self.result or "").upper() != ResultCode.ERROR.value


def parse_device_info(msg: ManscdpMessage) -> DeviceInfo:
    """Read a DeviceInfo Response."""
    expect(msg, CmdType.DEVICE_INFO, RootKind.RESPONSE)
    root = msg.root
    return DeviceInfo(
        device_id=msg.device_id,
        sn=msg.sn,
        result=child_text(root, "Result"),
        device_name=child_text(root, "DeviceName"),
        manufacturer=child_text(root, "Manufacturer"),
        model=child_text(root, "Model"),
        firmware=child_text(root, "Firmware"),
        channel=child_int(root, "Channel"),
        device_type=child_text(root, "DeviceType"),
        max_camera=child_int(root, "MaxCamera"),
        max_alarm=child_int(root, "MaxAlarm"),
    )


def build_device_info_response(
    sn: int,
    device_id: str,
    *,
    device_name: str,
    manufacturer: str,
    model: str,
    firmware: str,
    channel: int | None = None,
    device_type: str | None = None,
    max_camera: int | None = None,
    max_alarm: int | None = None,
    ok: bool = True,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A DeviceInfo Response."""
    root = new_body(RootKind.RESPONSE, CmdType.DEVICE_INFO, sn, device_id)
    add(root, "DeviceName", device_name)
    add(root, "Result", _result(ok))
    add(root, "DeviceType", device_type)
    add(root, "Manufacturer", manufacturer)
    add(root, "Model", model)
    add(root, "Firmware", firmware)
    add(root, "MaxCamera", max_camera)
    add(root, "MaxAlarm", max_alarm)
    add(root, "Channel", channel)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One ``Alarmstatus/Item``: an alarm input and its duty status (ONDUTY, OFFDUTY, ALARM)."""

    device_id: str
    duty_status: str | None = DUTY_ON


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A DeviceStatus Response. Strings are as sent; the properties interpret them."""

    device_id: str
    sn: int
    result: str | None = None
    online: str | None = None
    status: str | None = None
    reason: str | None = None
    encode: str | None = None
    record: str | None = None
    device_time: str | None = None  # the device's local clock, ISO 8601 without zone, as sent
    alarms: list[AlarmStatus] = field(default_factory=list)

    @property
    def is_online(self) -> bool:
        return (self.online or "").upper() == ONLINE

    @property
    def is_ok(self) -> bool:
        return (self.status or "").upper() == KEEPALIVE_OK

    @property
    def encoding(self) -> bool | None:
        return _switch(self.encode)

    @property
    def recording(self) -> bool | None:
        return _switch(self.record)


def parse_device_status(msg: ManscdpMessage) -> DeviceStatus:
    """Read a DeviceStatus Response (``Alarmstatus`` matched in any letter case)."""
    expect(msg, CmdType.DEVICE_STATUS, RootKind.RESPONSE)
    root = msg.root
    alarms: list[AlarmStatus] = []
    alarm_list = find_child(root, ALARM_STATUS_ELEMENT)
    if alarm_list is not None:
        for item in find_children(alarm_list, "Item"):
            alarm_id = child_str(item, "DeviceID")
            if alarm_id:
                alarms.append(AlarmStatus(alarm_id, child_text(item, "DutyStatus")))
    return DeviceStatus(
        device_id=msg.device_id,
        sn=msg.sn,
        result=child_text(root, "Result"),
        online=child_text(root, "Online"),
        status=child_text(root, "Status"),
        reason=child_text(root, "Reason"),
        encode=child_text(root, "Encode"),
        record=child_text(root, "Record"),
        device_time=child_text(root, "DeviceTime"),
        alarms=alarms,
    )


def build_device_status_response(
    sn: int,
    device_id: str,
    *,
    online: bool = True,
    status_ok: bool = True,
    reason: str | None = None,
    encode: bool | None = None,
    record: bool | None = None,
    device_time: str | datetime | None = None,
    alarms: Sequence[AlarmStatus] = (),
    ok: bool = True,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A DeviceStatus Response.

    ``device_time`` is the device's local time: a string as sent (``2025-04-22T11:14:23``) or a datetime,
    written as its wall-clock time without zone (convert it to the device's zone first).
    """
    root = new_body(RootKind.RESPONSE, CmdType.DEVICE_STATUS, sn, device_id)
    add(root, "Result", _result(ok))
    add(root, "Online", ONLINE if online else OFFLINE)
    add(root, "Status", KEEPALIVE_OK if status_ok else KEEPALIVE_ERROR)
    add(root, "Reason", reason)
    add(root, "Encode", None if encode is None else SWITCH_ON if encode else SWITCH_OFF)
    add(root, "Record", None if record is None else SWITCH_ON if record else SWITCH_OFF)
    add(
        root,
        "DeviceTime",
        format_device_time(device_time) if isinstance(device_time, datetime) else device_time,
    )
    if alarms:
        alarm_list = add_parent(root, ALARM_STATUS_ELEMENT, Num=str(len(alarms)))
        for alarm in alarms:
            item = add_parent(alarm_list, "Item")
            add(item, "DeviceID", alarm.device_id)
            add(item, "DutyStatus", alarm.duty_status)
    return serialize(root, charset)
