"""RecordInfo: the query body, device local time ↔ aware UTC, the captures (39, 40), hostile items, chunk assembly,
and the commander's chunked query with re-query on a stall."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from clearsight.gb28181 import record_info
from clearsight.gb28181.errors import DeviceTimeout
from clearsight.gb28181.manscdp import (
    ManscdpError,
    RecordItem,
    build_record_info_response,
    parse_manscdp,
    parse_query,
    parse_record_info_response,
)
from clearsight.gb28181.record_info import (
    InvalidTimeRange,
    RecordInfoAssembler,
    RecordType,
    build_record_info_query,
    from_device_time,
    recording_from_item,
    to_device_time,
)
from tests.gb28181.platform_fakes import DEVICE_ID, ScriptedEndpoint
from tests.gb28181.test_commander import make_commander, query_sn

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL_ID = "34020000001310000001"
NVR_39 = "39-hikvision-nvr-recordinfo-response.sip"
IPC_40 = "40-hikvision-ipc-recordinfo-response-truncated.sip"

Capture = Callable[[str], bytes]


def item(start: str | None, end: str | None, **fields: object) -> RecordItem:
    return RecordItem(device_id=str(fields.pop("device_id", CHANNEL_ID)), start_time=start, end_time=end,
                      **fields)  # type: ignore[arg-type]


def chunk_of(items: list[RecordItem], sum_num: int, sn: int = 7) -> record_info.RecordChunk:
    return parse_record_info_response(parse_manscdp(build_record_info_response(sn, CHANNEL_ID, sum_num, items)))


# --- time at the edge ------------------------------------------------------------------------------
def test_device_time_is_local_without_zone() -> None:
    moment = datetime(2024, 5, 4, 6, 43, 16, 500_000, tzinfo=UTC)
    assert to_device_time(moment, SHANGHAI) == "2024-05-04T14:43:16"
    assert to_device_time(moment.astimezone(timezone(timedelta(hours=-5))), SHANGHAI) == "2024-05-04T14:43:16"
    with pytest.raises(ValueError, match="naive"):
        to_device_time(datetime(2024, 5, 4, 6, 43, 16), SHANGHAI)


@pytest.mark.parametrize("text", ["2024-05-04T14:43:16", "2024-05-04 14:43:16", "2024/05/04 14:43:16",
                                  " 2024-05-04T14:43:16 ", "2024-05-04T14:43:16.000", "2024-05-04T06:43:16Z",
                                  "2024-05-04T06:43:16+00:00", "2024-05-04T14:43:16+08:00"])
def test_device_times_in_the_forms_devices_write_become_utc(text: str) -> None:
    assert from_device_time(text, SHANGHAI) == datetime(2024, 5, 4, 6, 43, 16, tzinfo=UTC)


@pytest.mark.parametrize("text", [None, "", "   ", "yesterday", "2024-13-45T99:99:99", "9999-01-01T00:00:00",
                                  "1969-12-31T23:59:59", "２０２４-05-04T14:43:16", "2024-05-04T14:43:16" + "0" * 50,
                                  "1714804996", "--T::"])
def test_unreadable_device_times_are_none(text: str | None) -> None:
    assert from_device_time(text, SHANGHAI) is None


def test_query_names_the_channel_the_range_in_local_time_and_type_all() -> None:
    start = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)
    body = build_record_info_query(18, CHANNEL_ID, start, start + timedelta(hours=1), SHANGHAI)
    query = parse_query(parse_manscdp(body))
    assert (query.cmd_type, query.sn, query.device_id) == ("RecordInfo", 18, CHANNEL_ID)
    assert query.params == {"StartTime": "2024-05-04T14:00:00", "EndTime": "2024-05-04T15:00:00", "Secrecy": "0",
                            "Type": "all"}
    alarms = build_record_info_query(1, CHANNEL_ID, start, start + timedelta(hours=1), SHANGHAI,
                                     record_type=RecordType.ALARM)
    assert parse_query(parse_manscdp(alarms)).params["Type"] == "alarm"
    with pytest.raises(InvalidTimeRange):
        build_record_info_query(1, CHANNEL_ID, start, start, SHANGHAI)


# --- the captures ----------------------------------------------------------------------------------
def test_hikvision_nvr_answer_39_reads_as_utc_matching_its_file_paths(capture: Capture) -> None:
    message = parse_manscdp(capture(NVR_39))
    chunk = parse_record_info_response(message)
    assert (chunk.sn, chunk.device_id, chunk.sum_num, chunk.declared_num, chunk.name) == (
        18, CHANNEL_ID, 2, 2, "IPCamera 01")
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk, 0.0)
    assert assembler.complete and assembler.rejected == 0
    first, second = assembler.recordings
    # The NVR's FilePath is <start>_<end> in Unix seconds: the local times, read in UTC+8, must agree with it.
    for recording in (first, second):
        start_text, end_text = (recording.file_path or "").split("_")
        assert recording.start == datetime.fromtimestamp(int(start_text), UTC)
        assert recording.end == datetime.fromtimestamp(int(end_text), UTC)
        assert recording.start.tzinfo is UTC
    assert first.start == datetime(2024, 5, 4, 6, 43, 16, tzinfo=UTC)
    assert first.end == second.start and second.duration == timedelta(minutes=33, seconds=11)
    assert (first.channel_id, first.name, first.address, first.secrecy, first.type) == (
        CHANNEL_ID, "IPCamera 01", "Address 1", 0, "time")
    assert first.file_size is None and first.recorder_id is None


def test_hikvision_ipc_answer_40_is_the_first_chunk_of_134_with_placeholder_paths(capture: Capture) -> None:
    chunk = parse_record_info_response(parse_manscdp(capture(IPC_40)))
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk, 0.0)
    assert (assembler.sum_num, assembler.received, assembler.complete) == (134, 2, False)
    recordings = assembler.recordings
    assert [r.file_path for r in recordings] == ["file_path", "file_path"]  # told apart by their times
    assert [r.file_size for r in recordings] == [263094272, 262488064]
    assert recordings[0].start == datetime(2025, 4, 18, 2, 23, 2, tzinfo=UTC)
    assert recordings[1].end == datetime(2025, 4, 18, 2, 57, 36, tzinfo=UTC)


def test_a_capture_truncated_mid_element_is_refused(capture: Capture) -> None:
    body = capture(NVR_39)
    with pytest.raises(ManscdpError):
        parse_manscdp(body[: body.index(b"<EndTime>2024-05-04T15:16")])


# --- hostile and damaged items ---------------------------------------------------------------------
def test_items_with_unusable_times_are_rejected_but_counted() -> None:
    items = [
        item("2024-05-04T14:00:00", "2024-05-04T14:10:00", file_path="good"),
        item("yesterday", "2024-05-04T14:10:00"),
        item("2024-05-04T14:20:00", "2024-05-04T14:10:00"),  # ends before it starts
        item(None, "2024-05-04T14:10:00"),
        item("2024-05-04T14:30:00", None),
        item("9999-05-04T14:00:00", "9999-05-04T15:00:00"),
        item("2024-05-04T14:40:00", "2024-05-04T14:40:00", file_path="empty"),  # zero length: kept
    ]
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk_of(items, 7), 0.0)
    assert assembler.complete and assembler.received == 7 and assembler.rejected == 5
    assert [r.file_path for r in assembler.recordings] == ["good", "empty"]


def test_hostile_body_values_never_raise() -> None:
    body = ('<?xml version="1.0" encoding="GB2312"?>\r\n<Response><CmdType>RecordInfo</CmdType><SN>3</SN>'
            f'<DeviceID>{CHANNEL_ID}</DeviceID><SumNum>-5</SumNum><RecordList Num="banana">'
            '<Item><StartTime>2024-05-04T14:00:00</StartTime><EndTime>2024-05-04T14:10:00</EndTime>'
            '<FileSize>-1</FileSize><Secrecy>x</Secrecy><Type></Type></Item>'
            f'<Item><DeviceID>{CHANNEL_ID}</DeviceID><StartTime>{"9" * 5000}</StartTime><EndTime/></Item>'
            '</RecordList></Response>').encode()
    chunk = parse_record_info_response(parse_manscdp(body))
    assert chunk.sum_num == 2 and chunk.declared_num is None  # SumNum -5: the items are counted instead
    assert chunk.items[0].device_id == CHANNEL_ID  # no DeviceID: the response's
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk, 0.0)
    assert assembler.complete and assembler.rejected == 1
    (recording,) = assembler.recordings
    assert recording.file_size is None and recording.secrecy is None and recording.type == ""


def test_an_absurd_sum_num_only_means_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk_of([item("2024-05-04T14:00:00", "2024-05-04T14:10:00")], 999_999_999_999), 0.0)
    assert not assembler.complete and assembler.sum_num == 999_999_999_999 and len(assembler.recordings) == 1
    assert assembler.is_stalled(20.0, timeout=10.0)


def test_no_more_than_max_recordings_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_info, "MAX_RECORDINGS", 3)
    items = [item(f"2024-05-04T14:0{i}:00", f"2024-05-04T14:0{i}:30") for i in range(5)]
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk_of(items, 5), 0.0)
    assert len(assembler.recordings) == 3 and assembler.dropped == 2 and assembler.complete


# --- assembly ----------------------------------------------------------------------------------------
def _items(count: int) -> list[RecordItem]:
    start = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)
    return [item(to_device_time(start + timedelta(minutes=10 * i), SHANGHAI),
                 to_device_time(start + timedelta(minutes=10 * (i + 1)), SHANGHAI), file_path=f"f{i}")
            for i in range(count)]


def test_chunks_out_of_order_and_duplicated_assemble_by_start_time() -> None:
    items = _items(9)
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    for part in (items[6:], items[:3], items[3:6], items[:3]):
        assembler.add(chunk_of(part, 9), 0.0)
    assert assembler.complete and assembler.duplicate_items == 3 and assembler.chunks_received == 4
    assert [r.file_path for r in assembler.recordings] == [f"f{i}" for i in range(9)]


def test_a_growing_file_seen_again_is_replaced_not_doubled() -> None:
    first = item("2024-05-04T14:00:00", "2024-05-04T14:05:00", file_path="1714802400_1714802700", type="time")
    grown = item("2024-05-04T14:00:00", "2024-05-04T14:06:00", file_path="1714802400_1714802760", type="time")
    other_type = item("2024-05-04T14:00:00", "2024-05-04T14:01:00", file_path="alarm", type="alarm")
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    assembler.add(chunk_of([first, other_type], 3), 0.0)
    assembler.add(chunk_of([grown], 3), 1.0)
    assert [(r.type, r.end.minute) for r in assembler.recordings] == [("alarm", 1), ("time", 6)]
    assert assembler.received == 2 and not assembler.complete


def test_sum_num_zero_completes_at_once_and_a_changing_sum_num_takes_the_largest() -> None:
    empty = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    empty.add(chunk_of([], 0), 0.0)
    assert empty.complete and empty.recordings == []
    changing = RecordInfoAssembler(CHANNEL_ID, SHANGHAI)
    items = _items(4)
    changing.add(chunk_of(items[:2], 2), 0.0)
    assert changing.complete
    changing.add(chunk_of(items[2:3], 4), 1.0)
    assert changing.sum_num == 4 and not changing.complete


def test_stall_and_requery_clock() -> None:
    assembler = RecordInfoAssembler(CHANNEL_ID, SHANGHAI, now=0.0)
    assert not assembler.is_stalled(5.0, timeout=10.0) and assembler.is_stalled(10.0, timeout=10.0)
    assembler.mark_requery(10.0)
    assert assembler.requery_count == 1 and not assembler.is_stalled(15.0, timeout=10.0)


def test_recording_from_item_keeps_every_field() -> None:
    recording = recording_from_item(
        item("2024-05-04T14:00:00", "2024-05-04T14:10:00", name="Cam", file_path="p", address="a", secrecy=1,
             type="manual", recorder_id="34020000001110000001", file_size=1024), SHANGHAI)
    assert recording is not None
    assert (recording.name, recording.file_path, recording.address, recording.secrecy, recording.type,
            recording.recorder_id, recording.file_size) == ("Cam", "p", "a", 1, "manual", "34020000001110000001",
                                                            1024)


# --- the commander's chunked query ------------------------------------------------------------------
def _answers(sn: int, items: list[RecordItem], size: int) -> list[bytes]:
    return [build_record_info_response(sn, CHANNEL_ID, len(items), items[i:i + size])
            for i in range(0, len(items), size)]


async def _sent(endpoint: ScriptedEndpoint, count: int) -> None:
    while len(endpoint.sent) < count:  # noqa: ASYNC110 - the fake endpoint has no event to wait on
        await asyncio.sleep(0.01)


async def test_commander_asks_the_channel_and_requeries_a_stalled_answer() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint, stall=0.1)
    start = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)
    task = asyncio.create_task(commander.query_record_info(DEVICE_ID, CHANNEL_ID, start,
                                                           start + timedelta(hours=2), SHANGHAI))
    await _sent(endpoint, 1)
    query = endpoint.sent[0]
    assert query.uri.startswith(f"sip:{CHANNEL_ID}@")
    assert parse_query(parse_manscdp(query.body)).params["StartTime"] == "2024-05-04T14:00:00"
    items = _items(12)
    first = _answers(query_sn(query), items, 5)
    assert commander.on_response(DEVICE_ID, parse_manscdp(first[2]))  # chunks 1 and 2 are lost
    await _sent(endpoint, 2)
    second_sn = query_sn(endpoint.sent[1])
    assert second_sn != query_sn(query)
    assert not commander.on_response(DEVICE_ID, parse_manscdp(_answers(second_sn + 100, items, 5)[0]))  # not ours
    for body in _answers(second_sn, items, 5)[:2]:
        assert commander.on_response(DEVICE_ID, parse_manscdp(body))
    result = await task
    assert result.complete and result.requeries == 1 and result.chunks == 3
    assert [r.file_path for r in result.recordings] == [f"f{i}" for i in range(12)]
    assert (result.device_id, result.channel_id, result.start) == (DEVICE_ID, CHANNEL_ID, start)


async def test_commander_without_any_answer_times_out_after_requeries() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint, stall=0.05)
    start = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)
    with pytest.raises(DeviceTimeout, match="RecordInfo"):
        await commander.query_record_info(DEVICE_ID, CHANNEL_ID, start, start + timedelta(hours=1), SHANGHAI)
    assert len(endpoint.sent) == 3  # the query and two re-queries


async def test_commander_refuses_an_empty_range_before_sending() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint)
    start = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)
    with pytest.raises(InvalidTimeRange):
        await commander.query_record_info(DEVICE_ID, CHANNEL_ID, start, start - timedelta(seconds=1), SHANGHAI)
    assert endpoint.sent == []
