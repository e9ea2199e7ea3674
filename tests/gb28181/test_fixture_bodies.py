"""Every body in the shared captures either parses to the values it carries or raises ManscdpError."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from clearsight.gb28181.manscdp import (
    AlarmStatus,
    CmdType,
    ManscdpError,
    ManscdpMessage,
    RootKind,
    parse_alarm_notify,
    parse_catalog_response,
    parse_device_control,
    parse_device_info,
    parse_device_status,
    parse_keepalive,
    parse_manscdp,
    parse_mobile_position,
    parse_preset_query_response,
    parse_query,
    parse_record_info_response,
    parse_response_result,
)
from clearsight.gb28181.ptz import PtzCommandKind, PtzDirection

Body = Callable[[str], bytes]

# file → (root kind, CmdType, SN, DeviceID), read from the files
ENVELOPES: dict[str, tuple[RootKind, str, int, str]] = {
    "15-hikvision-ipc-keepalive-gb2312.sip": (RootKind.NOTIFY, "Keepalive", 9, "34020000001320000002"),
    "16-hikvision-ipc-keepalive-utf8.sip": (RootKind.NOTIFY, "Keepalive", 1, "34020000001320000003"),
    "17-hikvision-keepalive-over-tcp.sip": (RootKind.NOTIFY, "Keepalive", 15, "21032300101110000002"),
    "18-dahua-sd-keepalive-gb2312-indented.sip": (RootKind.NOTIFY, "Keepalive", 539, "34020000001320000002"),
    "19-hikvision-platform-keepalive-no-encoding-18digit.sip": (
        RootKind.NOTIFY,
        "Keepalive",
        2749,
        "130909113319427420",
    ),
    "20-hikvision-platform-catalog-query-18digit.sip": (RootKind.QUERY, "Catalog", 471, "130909113319427420"),
    "21-exosip-catalog-query-no-encoding.sip": (RootKind.QUERY, "Catalog", 7, "34020000001320000002"),
    "22-hikvision-ipc-catalog-response-with-alarmin.sip": (
        RootKind.RESPONSE,
        "Catalog",
        10021,
        "34020000001320000002",
    ),
    "23-dahua-sd-catalog-response.sip": (RootKind.RESPONSE, "Catalog", 7, "34020000001320000002"),
    "24-hikvision-nvr-catalog-response-partial-spvmn.sip": (
        RootKind.RESPONSE,
        "Catalog",
        419315752,
        "34020000001110000001",
    ),
    "25-hikvision-ipc-catalog-response-domain-5100.sip": (
        RootKind.RESPONSE,
        "Catalog",
        1708,
        "62010201001320000393",
    ),
    "26-hikvision-nvr-catalog-body-address-garbage.sip": (
        RootKind.RESPONSE,
        "Catalog",
        726289,
        "34020000001110000001",
    ),
    "27-catalog-body-stray-close-tag.sip": (RootKind.RESPONSE, "Catalog", 317343, "61010500002000000001"),
    "28-dahua-catalog-body-gb2312-mojibake.sip": (RootKind.RESPONSE, "Catalog", 1, "51000000001320000001"),
    "29-hikvision-ipc-deviceinfo-response.sip": (
        RootKind.RESPONSE,
        "DeviceInfo",
        10019,
        "34020000001320000002",
    ),
    "30-hikvision-dome-deviceinfo-response-utf8.sip": (
        RootKind.RESPONSE,
        "DeviceInfo",
        701385,
        "44010200491118000001",
    ),
    "31-dahua-sd-deviceinfo-response.sip": (RootKind.RESPONSE, "DeviceInfo", 9, "34020000001320000002"),
    "32-livegbs-devicestatus-query.sip": (RootKind.QUERY, "DeviceStatus", 800293061, "34020000001320000264"),
    "34-hikvision-ipc-devicestatus-response.sip": (
        RootKind.RESPONSE,
        "DeviceStatus",
        10018,
        "34020000001320000002",
    ),
    "35-dahua-sd-devicestatus-response.sip": (RootKind.RESPONSE, "DeviceStatus", 10, "34020000001320000002"),
    "36-hikvision-ipc-configdownload-basicparam.sip": (
        RootKind.RESPONSE,
        "ConfigDownload",
        10020,
        "34020000001320000002",
    ),
    "37-hikvision-ipc-presetquery-response-chinese.sip": (
        RootKind.RESPONSE,
        "PresetQuery",
        10024,
        "34020000001310000001",
    ),
    "38-presetquery-body-double-space-mojibake.sip": (
        RootKind.RESPONSE,
        "PresetQuery",
        2,
        "62000000001320000002",
    ),
    "39-hikvision-nvr-recordinfo-response.sip": (RootKind.RESPONSE, "RecordInfo", 18, "34020000001310000001"),
    "40-hikvision-ipc-recordinfo-response-truncated.sip": (
        RootKind.RESPONSE,
        "RecordInfo",
        10035,
        "34020000001310000001",
    ),
    "41-hikvision-ipc-alarm-notify-minimal.sip": (RootKind.NOTIFY, "Alarm", 99, "34020000001310000001"),
    "42-dahua-alarm-notify-body-mojibake.sip": (RootKind.NOTIFY, "Alarm", 3, "62000000001320000011"),
    "43-platform-subscribe-alarm-event-presence.sip": (
        RootKind.QUERY,
        "Alarm",
        10033,
        "34020000001310000001",
    ),
    "45-mobileposition-notify-body.sip": (RootKind.NOTIFY, "MobilePosition", 128, "64000000001310000001"),
    "46-exosip-ptz-devicecontrol.sip": (RootKind.CONTROL, "DeviceControl", 16, "34020000001310000001"),
    "47-platform-ptz-devicecontrol-controlpriority.sip": (
        RootKind.CONTROL,
        "DeviceControl",
        10022,
        "34020000001310000001",
    ),
    "62-dahua-broadcast-response-alphabetical.sip": (
        RootKind.RESPONSE,
        "Broadcast",
        10017,
        "34020000001310000001",
    ),
    "65-hikvision-deviceconfig-response-gb18030.sip": (
        RootKind.RESPONSE,
        "DeviceConfig",
        10003,
        "34020000001310000001",
    ),
    "66-hikvision-uploadsnapshotfinished-gb18030.sip": (
        RootKind.NOTIFY,
        "UploadSnapShotFinished",
        10003,
        "34020000001310000001",
    ),
}

# Bodies that are not MANSCDP at all (SDP, RTSP-style, the plain-text "query") or cut short.
REJECTED = {
    "48-exosip-invite-play-udp.sip",
    "50-dahua-sd-200ok-sdp-play-udp.sip",
    "51-platform-invite-play-tcp-setup-active.sip",
    "52-hikvision-ipc-200ok-sdp-tcp-setup-passive.sip",
    "53-hikvision-ipc-200ok-sdp-udp-setup-active-credentials.sip",
    "54-dahua-200ok-sdp-tcp-alphabetical-headers.sip",
    "55-exosip-invite-playback.sip",
    "56-hikvision-nvr-200ok-sdp-playback.sip",
    "57-hikvision-ipc-200ok-sdp-download-udp-setup-active.sip",
    "58-exosip-info-pause-application-rtsp.sip",
    "59-hikvision-nvr-200ok-info-rtsp-body.sip",
    "60-exosip-info-play-scale-range.sip",
    "61-platform-info-mansrtsp-pause-now.sip",
    "63-dahua-talk-invite-alphabetical.sip",
    "64-hikvision-talk-invite-tcp-start-line-typo.sip",
    "67-go-gb-query-non-xml-body.sip",  # "Catalog 88884 34020000001320000003 " is not XML
    "68-hikvision-mobileposition-notify-TRUNCATED.sip",  # stops at "<Lati": nothing to invent
}

REPAIRED = {"26-hikvision-nvr-catalog-body-address-garbage.sip", "27-catalog-body-stray-close-tag.sip"}


def test_every_body_is_accounted_for(capture_with_body: str) -> None:
    assert (capture_with_body in ENVELOPES) != (capture_with_body in REJECTED)


def test_body_parses_or_raises_manscdp_error(capture_with_body: str, capture: Body) -> None:
    raw = capture(capture_with_body)
    if capture_with_body in REJECTED:
        with pytest.raises(ManscdpError):
            parse_manscdp(raw)
        return
    msg = parse_manscdp(raw)
    assert (msg.root_kind, msg.cmd_type, msg.sn, msg.device_id) == ENVELOPES[capture_with_body]
    assert msg.repaired is (capture_with_body in REPAIRED)


def test_stored_utf8_bytes_never_raise_anything_else(capture_with_body: str, stored_capture: Body) -> None:
    # The stored form of a GB2312 body is UTF-8 under a GB2312 declaration: a charset mismatch.
    try:
        msg = parse_manscdp(stored_capture(capture_with_body))
    except ManscdpError:
        assert capture_with_body in REJECTED
    else:
        assert (msg.root_kind, msg.cmd_type, msg.sn, msg.device_id) == ENVELOPES[capture_with_body]


def test_truncations_never_raise_anything_else(capture_with_body: str, capture: Body) -> None:
    raw = capture(capture_with_body)
    for end in range(0, len(raw), 7):
        with contextlib.suppress(ManscdpError):
            parse_manscdp(raw[:end])


def parsed(capture: Body, name: str) -> ManscdpMessage:
    return parse_manscdp(capture(name))


# --- keepalives and queries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "15-hikvision-ipc-keepalive-gb2312.sip",
        "16-hikvision-ipc-keepalive-utf8.sip",
        "17-hikvision-keepalive-over-tcp.sip",
        "18-dahua-sd-keepalive-gb2312-indented.sip",
        "19-hikvision-platform-keepalive-no-encoding-18digit.sip",
    ],
)
def test_keepalives(name: str, capture: Body) -> None:
    keepalive = parse_keepalive(parsed(capture, name))
    assert keepalive.status == "OK"
    assert keepalive.is_ok
    assert keepalive.faulty_device_ids == ()
    _, _, sn, device_id = ENVELOPES[name]
    assert (keepalive.device_id, keepalive.sn) == (device_id, sn)


@pytest.mark.parametrize(
    "name",
    [
        "20-hikvision-platform-catalog-query-18digit.sip",
        "21-exosip-catalog-query-no-encoding.sip",
        "32-livegbs-devicestatus-query.sip",
    ],
)
def test_simple_queries(name: str, capture: Body) -> None:
    query = parse_query(parsed(capture, name))
    assert query.cmd_type == ENVELOPES[name][1]
    assert query.params == {}


def test_43_alarm_subscription_query(capture: Body) -> None:
    query = parse_query(parsed(capture, "43-platform-subscribe-alarm-event-presence.sip"))
    assert query.cmd is CmdType.ALARM
    assert query.params == {
        "StartAlarmPriority": "0",
        "EndAlarmPriority": "0",
        "AlarmMethod": "0",
        "AlarmType": "all",
        "StartAlarmTime": "2025-04-22T00:00:00",
        "EndAlarmTime": "2025-04-22T23:59:59",
    }


# --- catalogs ------------------------------------------------------------------------------------


def test_22_hikvision_ipc_catalog(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "22-hikvision-ipc-catalog-response-with-alarmin.sip"))
    assert (chunk.sum_num, chunk.declared_num, len(chunk.items)) == (2, 2, 2)
    video, alarm_in = chunk.items
    assert video.device_id == "34020000001310000001"
    assert (video.name, video.manufacturer, video.model, video.owner) == (
        "hikangname",
        "Hikvision",
        "IP Camera",
        "Owner",
    )
    assert (video.civil_code, video.address, video.parental) == ("3402000000", "Address", False)
    assert video.parent_id == "34020000002000000001"
    assert (video.safety_way, video.register_way, video.secrecy, video.status) == (0, 1, 0, "ON")
    assert video.is_online
    assert (video.longitude, video.latitude, video.ptz_type, video.event) == (None, None, None, None)
    assert alarm_in.device_id == "34020000001340000001"
    assert alarm_in.name == ""  # <Name></Name>
    assert alarm_in.model == "AlarmIn"
    assert alarm_in.parent_id == "34020000001320000002"


def test_23_dahua_catalog(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "23-dahua-sd-catalog-response.sip"))
    assert (chunk.sum_num, len(chunk.items)) == (1, 1)
    item = chunk.items[0]
    assert (item.device_id, item.name, item.manufacturer) == ("34020000001310000001", "DH71", "Dahua")
    assert (item.model, item.owner, item.civil_code, item.address) == (
        "DH-SD-6C3230UE-HN",
        "0",
        "340200",
        "axy",
    )
    assert item.ptz_type == 3
    assert item.safety_way is None  # not sent
    assert item.status == "ON"


def test_24_nvr_partial_catalog(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "24-hikvision-nvr-catalog-response-partial-spvmn.sip"))
    assert (chunk.sum_num, chunk.declared_num) == (8, 2)
    assert [(i.device_id, i.name, i.address, i.status, i.is_online) for i in chunk.items] == [
        ("34020000001320000001", "Camera 01", "192.168.254.18", "ON", True),
        ("34020000001320000002", "IPCamera 02", "192.168.254.14", "OFF", False),
    ]
    assert chunk.items[0].civil_code == "CivilCode"  # placeholder kept as sent
    assert chunk.items[0].parent_id is None


def test_25_catalog_other_domain(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "25-hikvision-ipc-catalog-response-domain-5100.sip"))
    (item,) = chunk.items
    assert (item.device_id, item.civil_code, item.parent_id) == (
        "62010201001320000393",
        "5100000000",
        "51000000002000000001",
    )


def test_26_garbage_address_is_recovered(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "26-hikvision-nvr-catalog-body-address-garbage.sip"))
    (item,) = chunk.items
    assert item.device_id == "34020000001320000001"
    assert item.name == "Camera 01"
    assert item.address == "??<KP?<K?'@?'@?f/@P?<KL?"
    assert item.status == "ON"


def test_27_stray_close_tag_is_recovered(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "27-catalog-body-stray-close-tag.sip"))
    assert (chunk.sum_num, chunk.declared_num) == (2, 1)
    (item,) = chunk.items
    assert item.device_id == "61010500009994655540"
    assert item.name == "001030010-client-b371fd2650f740d8b5b25fb3709b2765-kkkkkkkk-7-1"


def test_28_mojibake_names_survive(capture: Body) -> None:
    chunk = parse_catalog_response(parsed(capture, "28-dahua-catalog-body-gb2312-mojibake.sip"))
    assert (chunk.sum_num, chunk.declared_num, len(chunk.items)) == (1, 2, 2)
    first, second = chunk.items
    assert first == second
    assert first.name == "\ufffd\ufffd\ufffdز\ufffd\ufffd\ufffd"  # destroyed before publication
    assert (first.device_id, first.model, first.civil_code) == (
        "23000000001310000002",
        "IPC-HFW2433M-LED-V2",
        "510000",
    )
    assert first.ptz_type == 3


# --- device info / status / config ---------------------------------------------------------------


def test_29_device_info(capture: Body) -> None:
    info = parse_device_info(parsed(capture, "29-hikvision-ipc-deviceinfo-response.sip"))
    assert (info.result, info.device_name, info.manufacturer) == ("OK", "IP CAMERA", "Hikvision")
    assert (info.model, info.firmware, info.channel) == ("DS-2CD5024EFWD", "V5.5.85", 1)
    assert (info.device_type, info.max_camera, info.max_alarm) == (None, None, None)


def test_30_device_info_utf8(capture: Body) -> None:
    info = parse_device_info(parsed(capture, "30-hikvision-dome-deviceinfo-response-utf8.sip"))
    assert (info.device_name, info.model, info.firmware, info.channel) == (
        "IP DOME",
        "DS-2DE3104W-DE",
        "V5.4.0",
        None,
    )


def test_31_dahua_device_info(capture: Body) -> None:
    info = parse_device_info(parsed(capture, "31-dahua-sd-deviceinfo-response.sip"))
    assert (info.device_name, info.device_type, info.manufacturer) == ("DH-SD-6C3230UE-HN", "SD", "Dahua")
    assert info.firmware == "2.623.0000000.17.R,2019-01-19"
    assert (info.max_camera, info.max_alarm, info.channel, info.ok) == (1, 2, 1, True)


def test_34_device_status(capture: Body) -> None:
    status = parse_device_status(parsed(capture, "34-hikvision-ipc-devicestatus-response.sip"))
    assert (status.result, status.online, status.status) == ("OK", "ONLINE", "OK")
    assert (status.is_online, status.is_ok, status.encoding, status.recording) == (True, True, True, True)
    assert status.device_time == "2025-04-22T11:14:23"
    assert status.alarms == [AlarmStatus("34020000001340000001", "ONDUTY")]


def test_35_dahua_device_status(capture: Body) -> None:
    status = parse_device_status(parsed(capture, "35-dahua-sd-devicestatus-response.sip"))
    assert (status.encoding, status.recording, status.device_time) == (True, False, "2024-05-17T14:24:54")
    assert status.alarms == [
        AlarmStatus("34020000001340000001", "ONDUTY"),
        AlarmStatus("34020000001340000002", "ONDUTY"),
    ]


def test_36_config_download_is_readable_from_the_tree(capture: Body) -> None:
    msg = parsed(capture, "36-hikvision-ipc-configdownload-basicparam.sip")
    assert msg.cmd is CmdType.CONFIG_DOWNLOAD
    assert msg.text("Result") == "OK"
    basic = msg.root.find("BasicParam")
    assert basic is not None
    assert basic.findtext("SIPServerID") == "34020000002000000001"
    assert basic.findtext("HeartBeatInterval") == "30"
    assert basic.findtext("Expiration") == "3600"


# --- presets, records, alarms, positions ---------------------------------------------------------


def test_37_chinese_preset_name(capture: Body, stored_capture: Body) -> None:
    name = "37-hikvision-ipc-presetquery-response-chinese.sip"
    assert "预置点".encode("gb18030") in capture(name)
    presets = parse_preset_query_response(parse_manscdp(capture(name)))
    assert [(p.preset_id, p.name, p.number) for p in presets.presets] == [("1", "预置点 1", 1)]
    assert presets.sum_num is None
    # the same text as UTF-8 under the GB2312 declaration (a charset mismatch) reads the same
    mismatched = parse_preset_query_response(parse_manscdp(stored_capture(name)))
    assert mismatched.presets == presets.presets


def test_38_preset_list_double_space(capture: Body) -> None:
    presets = parse_preset_query_response(parsed(capture, "38-presetquery-body-double-space-mojibake.sip"))
    assert presets.sum_num == 2
    assert [p.preset_id for p in presets.presets] == ["1", "2"]
    assert presets.presets[0].name == "preset1"
    assert presets.presets[1].name is not None and presets.presets[1].name.endswith("2")


def test_39_nvr_record_info(capture: Body) -> None:
    chunk = parse_record_info_response(parsed(capture, "39-hikvision-nvr-recordinfo-response.sip"))
    assert (chunk.sum_num, chunk.declared_num, chunk.name) == (2, 2, "IPCamera 01")
    assert [(r.file_path, r.start_time, r.end_time, r.type) for r in chunk.items] == [
        ("1714804996_1714806986", "2024-05-04T14:43:16", "2024-05-04T15:16:26", "time"),
        ("1714806986_1714808977", "2024-05-04T15:16:26", "2024-05-04T15:49:37", "time"),
    ]
    assert chunk.items[0].device_id == "34020000001310000001"
    assert chunk.items[0].secrecy == 0


def test_40_ipc_record_info_first_part(capture: Body) -> None:
    chunk = parse_record_info_response(parsed(capture, "40-hikvision-ipc-recordinfo-response-truncated.sip"))
    assert (chunk.sum_num, len(chunk.items)) == (134, 2)
    assert [r.file_size for r in chunk.items] == [263094272, 262488064]
    assert chunk.items[1].start_time == "2025-04-18T10:40:20"


def test_41_alarm(capture: Body) -> None:
    alarm = parse_alarm_notify(parsed(capture, "41-hikvision-ipc-alarm-notify-minimal.sip"))
    assert (alarm.priority, alarm.method, alarm.time, alarm.alarm_type) == (4, 5, "2025-04-22T11:26:02", 2)
    assert (alarm.description, alarm.longitude, alarm.latitude) == (None, None, None)


def test_42_dahua_alarm(capture: Body) -> None:
    alarm = parse_alarm_notify(parsed(capture, "42-dahua-alarm-notify-body-mojibake.sip"))
    assert (alarm.priority, alarm.method, alarm.time, alarm.alarm_type) == (1, 5, "2023-04-27T18:01:58", 2)
    assert alarm.description  # mangled before publication, but present


def test_45_mobile_position(capture: Body) -> None:
    notify = parse_mobile_position(parsed(capture, "45-mobileposition-notify-body.sip"))
    (fix,) = notify.fixes
    assert (fix.device_id, fix.time, fix.longitude, fix.latitude) == (
        "64000000001310000001",
        "2017-05-19T10:27:58",
        116.336,
        39.942,
    )
    assert (fix.speed, fix.direction, fix.altitude) == (0.0, 0.0, 0.0)


# --- control and results -------------------------------------------------------------------------


def test_46_ptz_tilt_up(capture: Body) -> None:
    control = parse_device_control(parsed(capture, "46-exosip-ptz-devicecontrol.sip"))
    assert control.ptz_cmd == "A50F000800640020"
    assert control.ptz is not None
    assert control.ptz.kind is PtzCommandKind.MOVE
    assert control.ptz.directions == PtzDirection.UP
    assert (control.ptz.tilt, control.ptz.tilt_speed, control.ptz.address) == (1, 0x64, 0)
    assert control.control_priority is None


def test_47_ptz_left_with_priority(capture: Body) -> None:
    control = parse_device_control(parsed(capture, "47-platform-ptz-devicecontrol-controlpriority.sip"))
    assert control.ptz_cmd == "A50F01029600004D"
    assert control.ptz is not None
    assert control.ptz.directions == PtzDirection.LEFT
    assert (control.ptz.pan, control.ptz.pan_speed) == (-1, 0x96)
    assert control.control_priority == 5


@pytest.mark.parametrize(
    "name",
    ["62-dahua-broadcast-response-alphabetical.sip", "65-hikvision-deviceconfig-response-gb18030.sip"],
)
def test_result_responses(name: str, capture: Body) -> None:
    result = parse_response_result(parsed(capture, name))
    assert (result.result, result.ok) == ("OK", True)


def test_66_snapshot_finished(capture: Body) -> None:
    msg = parsed(capture, "66-hikvision-uploadsnapshotfinished-gb18030.sip")
    assert msg.cmd is CmdType.UPLOAD_SNAPSHOT_FINISHED
    assert msg.text("SessionID") == "3cffba1f5df14a47acb6594b2375c5c7"
