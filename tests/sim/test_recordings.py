"""The simulator's recording archive: aligned files over the recorded time, RecordInfo answers in chunks; the
burnt-in clock read back from decoded pictures; the playback options and commands."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import av
import pytest

from clearsight.gb28181.manscdp import QueryRequest, parse_manscdp, parse_record_info_response
from clearsight.gb28181.record_info import RecordInfoAssembler, to_device_time
from clearsight.sim.cli import COMMANDS_HELP, CommandError, add_sim_arguments, config_from_args, execute
from clearsight.sim.clock_reader import clock_seconds, read_clock
from clearsight.sim.device import SimulatedDevice
from clearsight.sim.recordings import RECORDED_BYTES_PER_SECOND, RecordedFile, RecordingArchive
from clearsight.sim.simulator import Simulator
from clearsight.sim.video import LiveEncoder, clock_text, render_frame

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = 1_800_000_000.0  # a multiple of 600 and 300
DEVICE = SimulatedDevice.create("34020000001320000001", "34020000001310000001", 2, 0)
CHANNEL = DEVICE.channels[0].channel_id


def archive(since: float = NOW - 1000, segment: float = 300) -> RecordingArchive:
    return RecordingArchive(since, segment, clock=lambda: NOW)


def test_files_are_aligned_to_the_segment_and_cover_the_recorded_time() -> None:
    files = archive().files(0, NOW + 100)
    assert files[0] == RecordedFile(NOW - 1000, NOW - 900)  # the first starts when recording started
    assert files[1:] == [RecordedFile(NOW - 900, NOW - 600), RecordedFile(NOW - 600, NOW - 300),
                         RecordedFile(NOW - 300, NOW)]


def test_a_query_gets_the_files_overlapping_it_whole() -> None:
    assert archive().files(NOW - 650, NOW - 550) == [RecordedFile(NOW - 900, NOW - 600),
                                                     RecordedFile(NOW - 600, NOW - 300)]
    assert archive().files(NOW - 600, NOW - 300) == [RecordedFile(NOW - 600, NOW - 300)]
    assert archive().files(NOW + 1, NOW + 100) == [] and archive().files(0, NOW - 1000) == []
    assert archive().clip(NOW - 2000, NOW + 50) == (NOW - 1000, NOW)


def _query(start: float, end: float, *, record_type: str = "all", sn: int = 9) -> QueryRequest:
    def local(t: float) -> str:
        return to_device_time(datetime.fromtimestamp(t, UTC), SHANGHAI)

    return QueryRequest("RecordInfo", sn, CHANNEL, {"StartTime": local(start), "EndTime": local(end),
                                                    "Type": record_type})


def test_record_info_answer_in_chunks_parses_back_as_the_files() -> None:
    sum_num, bodies = archive(NOW - 3000).record_info_bodies(DEVICE, _query(NOW - 3000, NOW), SHANGHAI, chunk=4)
    assert sum_num == 10 and len(bodies) == 3
    assembler = RecordInfoAssembler(CHANNEL, SHANGHAI)
    for body in bodies:
        chunk = parse_record_info_response(parse_manscdp(body))
        assert chunk.sn == 9 and chunk.sum_num == 10 and chunk.name == DEVICE.channels[0].name
        assembler.add(chunk, 0.0)
    assert assembler.complete and assembler.rejected == 0
    first = assembler.recordings[0]
    assert first.start == datetime.fromtimestamp(NOW - 3000, UTC) and first.duration == timedelta(seconds=300)
    assert first.file_path == f"{int(NOW - 3000)}_{int(NOW - 2700)}"
    assert first.file_size == 300 * RECORDED_BYTES_PER_SECOND and first.recorder_id == DEVICE.device_id


def test_nothing_recorded_answers_sum_num_zero_in_one_body() -> None:
    for query in (_query(NOW + 10, NOW + 20), _query(NOW - 500, NOW, record_type="alarm")):
        sum_num, bodies = archive().record_info_bodies(DEVICE, query, SHANGHAI)
        assert sum_num == 0 and len(bodies) == 1
        assert parse_record_info_response(parse_manscdp(bodies[0])).items == []
    unreadable = QueryRequest("RecordInfo", 1, CHANNEL, {"StartTime": "soon", "EndTime": "later"})
    assert archive().record_info_bodies(DEVICE, unreadable, SHANGHAI)[0] == 0
    other_channel = QueryRequest("RecordInfo", 1, "34020000001310000099", _query(NOW - 500, NOW).params)
    assert archive().record_info_bodies(DEVICE, other_channel, SHANGHAI)[0] == 0


def test_the_clock_is_read_back_from_decoded_pictures_and_garbage_is_not_guessed() -> None:
    encoder = LiveEncoder(320, 180, 25)
    decoder = av.CodecContext.create("h264", "r")
    start = datetime(2026, 3, 1, 23, 59, 59, 900_000, tzinfo=UTC)  # crosses midnight
    expected, read = [], []
    for index in range(6):
        now = start + timedelta(milliseconds=40 * index)
        expected.append(clock_text(now))
        for frame in encoder.encode_test_picture(channel_name="Camera 1-1", now=now, marker=(index * 40.0, 0.0)):
            for packet in [*decoder.parse(frame.data)]:
                read += [read_clock(p) for p in decoder.decode(packet) if isinstance(p, av.VideoFrame)]
    read += [read_clock(p) for packet in [*decoder.parse(None), None] for p in decoder.decode(packet)
             if isinstance(p, av.VideoFrame)]
    assert read == expected
    assert clock_seconds("23:59:59.900") == 86_399.9
    blank = render_frame(320, 180, channel_name="", now=start, marker=(0.0, 0.0), index=0)
    blank.planes[0].update(bytes(blank.planes[0].buffer_size))  # all black: no text
    assert read_clock(blank) is None


async def test_playback_commands_and_options() -> None:
    args = argparse.ArgumentParser()
    add_sim_arguments(args)
    parsed = args.parse_args(["--platform", "127.0.0.1:5060", "--platform-id", "34020000002000000001", "--password",
                              "x", "--record-history", "7200", "--record-segment", "120", "--record-chunk", "3"])
    config = config_from_args(parsed)
    assert (config.record_history, config.record_segment, config.record_chunk) == (7200.0, 120.0, 3)
    simulator = Simulator(config)
    first, _last = simulator.recordings.coverage()
    assert 7190 < datetime.now(UTC).timestamp() - first < 7210
    await execute(simulator, ["recordinfo-drop", "2", "4"])
    assert simulator.record_info_drops == {2, 4}
    await execute(simulator, ["control-reject", "488"])
    assert simulator.playback.control_rejection == 488
    await execute(simulator, ["control-reject", "off"])
    assert simulator.playback.control_rejection is None
    await execute(simulator, ["media-status", "out-of-dialog"])
    assert not simulator.playback.notify_in_dialog
    for bad in (["recordinfo-drop"], ["recordinfo-drop", "0"], ["control-reject", "99"]):
        with pytest.raises(CommandError):
            await execute(simulator, bad)
    assert "recordinfo-drop" in COMMANDS_HELP and "control-reject" in COMMANDS_HELP
