"""MANSCDP (GB/T 28181 appendix A XML bodies): the public surface, re-exported from one job per module.

* :mod:`.manscdp_codec` — charsets: ``decode_body``, ``BodyCharset``
* :mod:`.manscdp_message` — envelope: ``parse_manscdp``, ``ManscdpMessage``, ``ManscdpError``,
  ``RootKind``, ``CmdType``
* :mod:`.manscdp_catalog` — Catalog responses and change notifications
* :mod:`.manscdp_device` — Keepalive, DeviceInfo, DeviceStatus
* :mod:`.manscdp_control` — Queries, DeviceControl, Result responses
* :mod:`.manscdp_records` — RecordInfo and PresetQuery responses
* :mod:`.manscdp_notify` — Alarm and MobilePosition notifications

Reading a body is two steps: ``msg = parse_manscdp(body)`` (raises only ``ManscdpError``), then the
typed reader for ``msg.cmd_type`` (e.g. ``parse_catalog_response(msg)``), which raises ``ManscdpError``
if the message is of another kind. Builders return bytes in the requested charset (default GB2312,
written with the GB18030 codec, which is its superset).
"""

from clearsight.gb28181.manscdp_catalog import (
    CatalogChunk,
    CatalogEvent,
    CatalogItem,
    build_catalog_notify,
    build_catalog_response,
    parse_catalog_response,
)
from clearsight.gb28181.manscdp_codec import BodyCharset, declared_encoding, decode_body
from clearsight.gb28181.manscdp_control import (
    ControlCommand,
    DeviceControl,
    QueryRequest,
    ResponseResult,
    build_device_control,
    build_device_control_ptz,
    build_query,
    build_response_result,
    parse_device_control,
    parse_query,
    parse_response_result,
)
from clearsight.gb28181.manscdp_device import (
    AlarmStatus,
    DeviceInfo,
    DeviceStatus,
    Keepalive,
    build_device_info_response,
    build_device_status_response,
    build_keepalive,
    parse_device_info,
    parse_device_status,
    parse_keepalive,
)
from clearsight.gb28181.manscdp_message import (
    CmdType,
    ManscdpError,
    ManscdpMessage,
    ResultCode,
    RootKind,
    parse_manscdp,
)
from clearsight.gb28181.manscdp_notify import (
    AlarmNotification,
    MobilePositionNotify,
    PositionFix,
    build_alarm_notify,
    parse_alarm_notify,
    parse_mobile_position,
)
from clearsight.gb28181.manscdp_records import (
    Preset,
    PresetList,
    RecordChunk,
    RecordItem,
    build_preset_query_response,
    build_record_info_response,
    parse_preset_query_response,
    parse_record_info_response,
)

__all__ = [
    "AlarmNotification",
    "AlarmStatus",
    "BodyCharset",
    "CatalogChunk",
    "CatalogEvent",
    "CatalogItem",
    "CmdType",
    "ControlCommand",
    "DeviceControl",
    "DeviceInfo",
    "DeviceStatus",
    "Keepalive",
    "ManscdpError",
    "ManscdpMessage",
    "MobilePositionNotify",
    "PositionFix",
    "Preset",
    "PresetList",
    "QueryRequest",
    "RecordChunk",
    "RecordItem",
    "ResponseResult",
    "ResultCode",
    "RootKind",
    "build_alarm_notify",
    "build_catalog_notify",
    "build_catalog_response",
    "build_device_control",
    "build_device_control_ptz",
    "build_device_info_response",
    "build_device_status_response",
    "build_keepalive",
    "build_preset_query_response",
    "build_query",
    "build_record_info_response",
    "build_response_result",
    "declared_encoding",
    "decode_body",
    "parse_alarm_notify",
    "parse_catalog_response",
    "parse_device_control",
    "parse_device_info",
    "parse_device_status",
    "parse_keepalive",
    "parse_manscdp",
    "parse_mobile_position",
    "parse_preset_query_response",
    "parse_query",
    "parse_record_info_response",
    "parse_response_result",
]
