"""Device playback end to end, in one process: the real platform stack and a simulator that has "recorded" the last
hour. RecordInfo in chunks (and re-queried when one is lost), Playback INVITE whose pictures show the historic time
played, MANSRTSP pause / resume / seek / speed, MediaStatus 121 ending the session, Download of a whole range.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.gb28181.playback import FILE_ENDED, PlaybackAction, PlaybackControlError, PlaybackSession
from clearsight.gb28181.sdp import MediaTransport
from clearsight.gb28181.ssrc import StreamKind
from clearsight.sim.clock_reader import clock_seconds, read_clock
from clearsight.sim.video import clock_text
from tests.integration.live_api_stack import PlatformStack, platform_stack, stack_settings

pytestmark = pytest.mark.integration

DEVICE_ID = "34020000001320000001"
CHANNEL_ID = "34020000001310000002"
HISTORY = 3600.0  # seconds the simulator has "recorded" before it started
SEGMENT = 300.0  # seconds per simulated recording file
RECORD_CHUNK = 4  # items per RecordInfo MESSAGE
FPS = 25
DAY = 86_400.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[PlatformStack]:
    async with platform_stack(stack_settings(tmp_path / "platform"), record_history=HISTORY, record_segment=SEGMENT,
                              record_chunk=RECORD_CHUNK) as running:
        yield running


@dataclass(slots=True)
class Watched:
    """Frames of a session as they arrived: loop time and the burnt-in clock (seconds of the day) of each picture."""

    arrivals: list[float] = field(default_factory=list)
    clocks: list[tuple[float, float]] = field(default_factory=list)  # (arrival, clock seconds) of readable pictures
    unreadable: int = 0


async def watch(session: PlaybackSession, watched: Watched) -> None:
    """Decode every video frame of the session in order and read its clock, until the session ends."""
    decoder = av.CodecContext.create("h264", "r")
    loop = asyncio.get_running_loop()

    def read(packets: list[av.Packet[object]] | list[None], arrived: float) -> None:
        for packet in packets:
            for picture in decoder.decode(packet):
                assert isinstance(picture, av.VideoFrame)
                text = read_clock(picture)
                if text is None:
                    watched.unreadable += 1
                else:
                    watched.clocks.append((arrived, clock_seconds(text)))

    queue = session.media.frames
    while not (session.closed.is_set() and queue.empty()):
        try:
            frame = await asyncio.wait_for(queue.get(), 0.2)
        except TimeoutError:
            continue
        if frame.is_video:
            now = loop.time()
            watched.arrivals.append(now)
            read(decoder.parse(frame.data), now)
    read([*decoder.parse(None), None], loop.time())  # the parser and the decoder hold the last picture


def local_clock(moment: datetime) -> float:
    """What the simulator burns into the picture of `moment`: its local time of day, in seconds."""
    return clock_seconds(clock_text(moment.astimezone()))


def close_to(clock: float, expected: float, tolerance: float) -> bool:
    difference = abs(clock - expected) % DAY
    return min(difference, DAY - difference) <= tolerance


def rate(watched: Watched, since: float, until: float) -> float:
    """Frames a second that arrived in [since, until)."""
    return sum(1 for t in watched.arrivals if since <= t < until) / (until - since)


def history_start(offset: float) -> datetime:
    """An instant `offset` seconds after the simulator's recording began, on a whole second."""
    return datetime.fromtimestamp(math.ceil(time.time() - HISTORY + offset), UTC)


async def test_record_info_lists_the_recorded_files_in_chunks(stack: PlatformStack) -> None:
    now = datetime.fromtimestamp(int(time.time()), UTC)  # whole seconds: devices' times have no fraction
    start, end = now - timedelta(seconds=2400), now - timedelta(seconds=600)
    result = await stack.platform.gb28181.query_recordings(DEVICE_ID, CHANNEL_ID, start, end)
    assert result.complete and result.requeries == 0 and result.rejected == 0
    recordings = result.recordings
    expected_files = math.ceil(end.timestamp() / SEGMENT) - math.floor(start.timestamp() / SEGMENT)
    assert len(recordings) == result.sum_num == expected_files
    assert result.chunks == math.ceil(expected_files / RECORD_CHUNK) > 1
    sent = await stack.wait_event("record_info_sent", channel=CHANNEL_ID)
    assert sent["chunks"] == result.chunks and sent["items"] == expected_files
    # Files of SEGMENT seconds on multiples of SEGMENT, without a gap, covering the range asked (device local time
    # on the wire, aware UTC here).
    assert all(r.start.tzinfo is UTC and r.end.tzinfo is UTC for r in recordings)
    assert all(r.channel_id == CHANNEL_ID and r.type == "time" for r in recordings)
    assert all(r.start.timestamp() % SEGMENT == 0 and r.duration == timedelta(seconds=SEGMENT) for r in recordings)
    assert all(a.end == b.start for a, b in itertools.pairwise(recordings))
    assert recordings[0].start <= start < recordings[0].end and recordings[-1].start < end <= recordings[-1].end
    assert recordings[0].file_path == f"{int(recordings[0].start.timestamp())}_{int(recordings[0].end.timestamp())}"


async def test_record_info_requeries_when_a_chunk_is_lost(stack: PlatformStack) -> None:
    stack.platform.gb28181.commander.stall_timeout = 0.5
    stack.sim.record_info_drops = {2}
    now = datetime.now(UTC)
    result = await stack.platform.gb28181.query_recordings(DEVICE_ID, CHANNEL_ID, now - timedelta(seconds=3000), now)
    assert result.complete and result.requeries == 1
    assert len(result.recordings) == result.sum_num
    assert len({r.start for r in result.recordings}) == result.sum_num  # re-sent items merged, not doubled
    first = await stack.wait_event("record_info_sent", channel=CHANNEL_ID)
    assert first["dropped"] == [2]


async def test_record_info_outside_the_recording_is_empty(stack: PlatformStack) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    result = await stack.platform.gb28181.query_recordings(DEVICE_ID, CHANNEL_ID, start, start + timedelta(hours=1))
    assert result.complete and result.sum_num == 0 and result.recordings == []


async def test_playback_shows_the_historic_time_and_pause_resume_seek_speed_control_it(stack: PlatformStack) -> None:
    service = stack.platform.gb28181
    start = history_start(600)
    session = await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=600))
    assert session.kind is StreamKind.PLAYBACK and session.media.ssrc.text.startswith("1")
    invite = await stack.wait_event("playback_invite", channel=CHANNEL_ID, status=200)
    assert invite["mode"] == "Playback" and invite["ssrc"] == session.media.ssrc.text
    watched = Watched()
    watcher = asyncio.create_task(watch(session, watched))
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(2.0)
        # The pictures show the recorded instants, from the start of the range, at real-time pace.
        assert watched.clocks, f"no readable clock ({watched.unreadable} unreadable pictures)"
        assert close_to(watched.clocks[0][1], local_clock(start), 0.1), (watched.clocks[0], start)
        now = loop.time()
        assert 18 <= rate(watched, now - 1.5, now) <= 32
        shown_before_pause = watched.clocks[-1][1]

        await service.playback.pause(session)
        paused_at = loop.time()
        await asyncio.sleep(1.5)
        assert session.paused
        assert rate(watched, paused_at + 0.3, loop.time()) == 0  # nothing arrives while paused
        assert not session.closed.is_set()

        await service.playback.resume(session)
        resumed_at = loop.time()
        await asyncio.sleep(1.0)
        after = [clock for arrived, clock in watched.clocks if arrived > resumed_at]
        assert after and close_to(after[0], shown_before_pause, 0.5)  # it continues where it paused

        await service.playback.seek(session, 300)
        sought_at = loop.time()
        await asyncio.sleep(1.0)
        after = [clock for arrived, clock in watched.clocks if arrived > sought_at + 0.1]
        assert after and close_to(after[0], local_clock(start + timedelta(seconds=300)), 0.3), after[:3]

        normal = rate(watched, sought_at + 0.2, loop.time())
        await service.playback.set_speed(session, 4.0)
        sped_at = loop.time()
        await asyncio.sleep(2.0)
        fast = rate(watched, sped_at + 0.5, loop.time())
        assert 3.0 <= fast / normal <= 5.0, (normal, fast)
        # Four seconds of the recording a second: the clock says so too.
        recent = [(arrived, clock) for arrived, clock in watched.clocks if arrived > sped_at + 0.5]
        (t0, c0), (t1, c1) = recent[0], recent[-1]
        assert 3.0 <= ((c1 - c0) % DAY) / (t1 - t0) <= 5.0
        assert session.speed == 4.0
        controls = [e for e in stack.events if e.get("event") == "playback_control"]
        assert [e["method"] for e in controls] == ["PAUSE", "PLAY", "PLAY", "PLAY"]
        assert controls[2]["range_start"] == 300 and controls[3]["scale"] == 4.0
    finally:
        await service.playback.close(session)
        await watcher
    assert session.close_reason == "closed by the platform"
    await stack.wait_event("playback_stopped", channel=CHANNEL_ID, reason="bye")
    assert not service.live.ssrcs.is_allocated(session.media.ssrc)
    assert service.playback.sessions == []


async def test_media_status_121_ends_the_playback_with_a_reason(stack: PlatformStack) -> None:
    service = stack.platform.gb28181
    start = history_start(120)
    session = await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=2))
    watched = Watched()
    await asyncio.wait_for(watch(session, watched), 10)
    assert session.close_reason == FILE_ENDED
    ended = await stack.wait_event("playback_ended", channel=CHANNEL_ID)
    assert ended["notify_status"] == 200 and ended["frames"] == 2 * FPS
    assert ended["first_clock"] == clock_text(start.astimezone())
    await stack.wait_event("playback_stopped", channel=CHANNEL_ID, reason="bye")  # the platform's BYE
    assert len(watched.arrivals) == 2 * FPS  # the last frame too: the receiver was flushed before the BYE
    assert service.live.sessions == [] and service.playback.sessions == []


async def test_media_status_outside_the_dialog_ends_the_playback(stack: PlatformStack) -> None:
    stack.sim.playback.notify_in_dialog = False
    service = stack.platform.gb28181
    start = history_start(180)
    session = await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=1))
    async with asyncio.timeout(10):
        await session.closed.wait()
    assert session.close_reason == FILE_ENDED
    ended = await stack.wait_event("playback_ended", channel=CHANNEL_ID)
    assert ended["notify_status"] == 200 and ended["in_dialog"] is False


async def test_download_delivers_the_whole_range_faster_than_real_time(stack: PlatformStack) -> None:
    service = stack.platform.gb28181
    start = history_start(900)
    seconds = 4
    began = time.monotonic()
    session = await service.open_download(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=seconds),
                                          download_speed=4)
    assert session.kind is StreamKind.DOWNLOAD and session.media.ssrc.text.startswith("1")
    invite = await stack.wait_event("playback_invite", channel=CHANNEL_ID, status=200)
    assert invite["mode"] == "Download" and invite["download_speed"] == 4
    watched = Watched()
    await asyncio.wait_for(watch(session, watched), 15)
    elapsed = time.monotonic() - began
    assert session.close_reason == FILE_ENDED
    assert len(watched.arrivals) == seconds * FPS, "every frame of the range arrives"
    clocks = [clock for _, clock in watched.clocks]
    assert len(clocks) == seconds * FPS and watched.unreadable == 0
    assert close_to(clocks[0], local_clock(start), 0.001)
    assert close_to(clocks[-1], local_clock(start + timedelta(seconds=seconds - 1 / FPS)), 0.001)
    assert elapsed < seconds * 0.75  # sent at four times real time (plus the INVITE and the end's drain)


async def test_playback_of_a_range_never_recorded_fails_at_invite(stack: PlatformStack) -> None:
    service = stack.platform.gb28181
    start = datetime.now(UTC) - timedelta(days=2)
    with pytest.raises(LiveViewError) as caught:
        await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(minutes=5))
    assert caught.value.step is LiveStep.INVITE and "404" in caught.value.detail
    assert caught.value.kind is StreamKind.PLAYBACK and str(caught.value).startswith("playback of")
    assert service.live.ssrcs.in_use(StreamKind.PLAYBACK) == 0


async def test_a_refused_control_is_reported_and_the_playback_goes_on(stack: PlatformStack) -> None:
    service = stack.platform.gb28181
    start = history_start(1200)
    stack.sim.playback.control_rejection = 488
    session = await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=60), speed=2.0)
    assert session.speed == 1.0  # the device refused the speed asked for at the start: it plays at 1
    with pytest.raises(PlaybackControlError) as caught:
        await service.playback.pause(session)
    assert caught.value.action is PlaybackAction.PAUSE and "488" in caught.value.detail
    assert not session.paused and not session.media.media_held
    stack.sim.playback.control_rejection = None
    await service.playback.set_speed(session, 2.0)
    assert session.speed == 2.0
    await service.playback.close(session)


@pytest.mark.parametrize("transport", [MediaTransport.TCP_PASSIVE, MediaTransport.TCP_ACTIVE])
async def test_playback_over_tcp_media_runs_to_its_end(stack: PlatformStack, transport: MediaTransport) -> None:
    service = stack.platform.gb28181
    start = history_start(1500)
    session = await service.open_playback(DEVICE_ID, CHANNEL_ID, start, start + timedelta(seconds=1),
                                          transport=transport)
    assert session.media.transport is transport
    watched = Watched()
    await asyncio.wait_for(watch(session, watched), 10)
    assert session.close_reason == FILE_ENDED and len(watched.arrivals) == FPS
    assert close_to(watched.clocks[0][1], local_clock(start), 0.001)
