"""Queries, DeviceControl commands and plain Result responses (GB/T 28181-2016 appendix A)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from clearsight.gb28181.manscdp_codec import BodyCharset
from clearsight.gb28181.manscdp_fields import child_int, child_text, find_child, simple_children
from clearsight.gb28181.manscdp_message import (
    CmdType,
    ManscdpError,
    ManscdpMessage,
    ResultCode,
    RootKind,
    expect,
)
from clearsight.gb28181.manscdp_writer import add, add_parent, new_body, serialize
from clearsight.gb28181.ptz import InvalidPtzCommand, PtzCommand, decode_ptz

logger = logging.getLogger(__name__)

_ENVELOPE = frozenset({"CmdType", "SN", "DeviceID"})


class ControlCommand(StrEnum):
    """DeviceControl sub-commands other than PTZCmd (element name; GB/T 28181-2016 appendix A)."""

    TELE_BOOT = "TeleBoot"  # value "Boot": reboot the device
    RECORD = "RecordCmd"  # "Record" / "StopRecord"
    GUARD = "GuardCmd"  # "SetGuard" / "ResetGuard"
    ALARM = "AlarmCmd"  # "ResetAlarm"
    IFRAME = "IFameCmd"  # "Send": force a keyframe (the standard spells it IFameCmd)


IFRAME_ALIASES = ("IFameCmd", "IFrameCmd")  # devices and platforms use both spellings


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """A ``<Query>``: what is asked (``cmd_type``) and its parameters (StartTime, EndTime, Type, ...)."""

    cmd_type: str
    sn: int
    device_id: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def cmd(self) -> CmdType | None:
        try:
            return CmdType(self.cmd_type)
        except ValueError:
            return None


def parse_query(msg: ManscdpMessage) -> QueryRequest:
    """Read any Query: its CmdType and every simple child element as a parameter."""
    if msg.root_kind is not RootKind.QUERY:
        raise ManscdpError(f"expected a Query, got a {msg.root_kind.value}")
    return QueryRequest(msg.cmd_type, msg.sn, msg.device_id, simple_children(msg.root, _ENVELOPE))


def build_query(
    cmd_type: str,
    sn: int,
    device_id: str,
    extra: dict[str, str] | None = None,
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A Query; ``extra`` adds parameters in order (``{"StartTime": ..., "EndTime": ..., "Type": "all"}``)."""
    root = new_body(RootKind.QUERY, cmd_type, sn, device_id)
    for name, value in (extra or {}).items():
        add(root, name, value)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class DeviceControl:
    """A DeviceControl command as a device receives it.

    ``ptz_cmd`` is the PTZCmd text as sent; ``ptz`` its decoding (None when absent or undecodable).
    ``extra`` holds the other simple child elements, for commands not modelled here.
    """

    device_id: str
    sn: int
    ptz_cmd: str | None = None
    ptz: PtzCommand | None = None
    tele_boot: bool = False
    record_cmd: str | None = None
    guard_cmd: str | None = None
    alarm_cmd: str | None = None
    iframe: bool = False
    control_priority: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _decode_ptz_leniently(msg: ManscdpMessage, text: str | None) -> PtzCommand | None:
    if not text:
        return None
    try:
        return decode_ptz(text)
    except InvalidPtzCommand as exc:
        logger.warning("DeviceControl from SN %s for %s: %s", msg.sn, msg.device_id, exc)
        return None


def parse_device_control(msg: ManscdpMessage) -> DeviceControl:
    """Read a DeviceControl."""
    expect(msg, CmdType.DEVICE_CONTROL, RootKind.CONTROL)
    root = msg.root
    ptz_cmd = child_text(root, "PTZCmd")
    info = find_child(root, "Info")
    known = _ENVELOPE | {"PTZCmd", *ControlCommand, *IFRAME_ALIASES}
    return DeviceControl(
        device_id=msg.device_id,
        sn=msg.sn,
        ptz_cmd=ptz_cmd or None,
        ptz=_decode_ptz_leniently(msg, ptz_cmd),
        tele_boot=child_text(root, ControlCommand.TELE_BOOT) is not None,
        record_cmd=child_text(root, ControlCommand.RECORD) or None,
        guard_cmd=child_text(root, ControlCommand.GUARD) or None,
        alarm_cmd=child_text(root, ControlCommand.ALARM) or None,
        iframe=any(child_text(root, alias) is not None for alias in IFRAME_ALIASES),
        control_priority=child_int(info, "ControlPriority") if info is not None else None,
        extra=simple_children(root, frozenset(known)),
    )


def build_device_control_ptz(
    sn: int,
    device_id: str,
    ptz_hex: str,
    *,
    control_priority: int | None = None,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A DeviceControl with PTZCmd; ``ptz_hex`` is validated (:class:`InvalidPtzCommand`)."""
    decode_ptz(ptz_hex)
    root = new_body(RootKind.CONTROL, CmdType.DEVICE_CONTROL, sn, device_id)
    add(root, "PTZCmd", ptz_hex.strip().upper())
    if control_priority is not None:
        add(add_parent(root, "Info"), "ControlPriority", control_priority)
    return serialize(root, charset)


def build_device_control(
    sn: int,
    device_id: str,
    command: ControlCommand,
    value: str,
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A DeviceControl with one other command, e.g. ``(ControlCommand.TELE_BOOT, "Boot")``."""
    root = new_body(RootKind.CONTROL, CmdType.DEVICE_CONTROL, sn, device_id)
    add(root, command.value, value)
    return serialize(root, charset)


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """A Response whose point is its ``<Result>`` (DeviceControl, DeviceConfig, Broadcast, ...)."""

    cmd_type: str
    sn: int
    device_id: str
    result: str | None

    @property
    def ok(self) -> bool:
        return (self.result or "").upper() == ResultCode.OK.value


def parse_response_result(msg: ManscdpMessage) -> ResponseResult:
    """Read the Result of any Response (None when it has none)."""
    if msg.root_kind is not RootKind.RESPONSE:
        raise ManscdpError(f"expected a Response, got a {msg.root_kind.value}")
    return ResponseResult(msg.cmd_type, msg.sn, msg.device_id, child_text(msg.root, "Result"))


def build_response_result(
    cmd_type: str,
    sn: int,
    device_id: str,
    ok: bool,
    *,
    charset: BodyCharset = BodyCharset.GB2312,
) -> bytes:
    """A Response carrying only ``<Result>OK</Result>`` or ``ERROR``."""
    root = new_body(RootKind.RESPONSE, cmd_type, sn, device_id)
    add(root, "Result", (ResultCode.OK if ok else ResultCode.ERROR).value)
    return serialize(root, charset)
