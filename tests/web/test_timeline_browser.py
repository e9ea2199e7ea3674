"""The tile's timeline in Chromium against the real platform and simulator processes: the simulated channel is
recorded continuously; its media is switched off and on again, which leaves a gap between two recorded ranges;
the timeline shows both and the gap, the date picker moves to another day and back, hovering a recorded
instant shows the platform's thumbnail of it, and clicking one plays the recording there (at 1×, then 4×)
until it catches up with the recording being written and the tile goes back to live view by itself."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.conftest import sim_args
from tests.integration.processes import (
    ADMIN_PASSWORD,
    PlatformProcess,
    SimProcess,
    free_port,
    wait_for_channels,
    wait_until,
)
from tests.web.console import MIN_FRAME_VARIANCE, frame_stats, play, sign_in, signed_in, wait_playing
from tests.web.timeline_console import local_date, point_in, position_rate, wait_video_advances

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHANNEL_ID = "34020000001310000002"  # the simulator's first channel
CHANNEL_NAME = "Camera 1-1"
MEDIA_TIMEOUT_S = 2  # the shortest the platform allows: the recorder sees the missing RTP soon
# How far behind now the clicked instant must be: about 7 s at 4× (the checks below) gain 3 s on now each.
BEHIND_LIVE_S = 35


@dataclass
class RecordedChannel:
    platform: PlatformProcess
    sim: SimProcess
    pk: int


def _timeline(client: httpx.Client, pk: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(minutes=1)).isoformat()}
    response = client.get(f"/api/v1/channels/{pk}/recordings", params=window)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedChannel]:
    """A platform recording its one simulated channel, with a closed gap between two recorded ranges."""
    data_dir: Path = tmp_path_factory.mktemp("timeline") / "platform"
    platform = PlatformProcess(data_dir=data_dir, sip_port=free_port(), http_port=free_port(), extra_env={
        "CLEARSIGHT_KEEPALIVE_INTERVAL": "1", "CLEARSIGHT_RECORDING_DEFAULT": "continuous",
        "CLEARSIGHT_RECORDING_SEGMENT_SECONDS": "2", "CLEARSIGHT_RECORDING_THUMBNAIL_SECONDS": "1",
        "CLEARSIGHT_MEDIA_TIMEOUT": str(MEDIA_TIMEOUT_S), "CLEARSIGHT_LIVE_GRACE_PERIOD": "1"})
    platform.start(timeout=60)  # a loaded machine takes a while to migrate a new database
    sim = SimProcess(sim_args(platform, devices=1, channels=1))
    try:
        sim.start()
        sim.wait_for(lambda e: e.get("event") == "ready")
        with platform.client() as client:
            pk = int(wait_for_channels(client, 1)[0]["id"])
            wait_until(lambda: len(_timeline(client, pk)["segments"]) >= 2, timeout=20)
            sim.send(f"media off {CHANNEL_ID}")
            wait_until(lambda: any(g["end"] is None for g in _timeline(client, pk)["gaps"]), timeout=15)
            sim.send(f"media on {CHANNEL_ID}")
            wait_until(lambda: len(_timeline(client, pk)["ranges"]) == 2
                       and all(g["end"] is not None for g in _timeline(client, pk)["gaps"]), timeout=25)
        yield RecordedChannel(platform, sim, pk)
    finally:
        sim.stop()
        platform.stop()


@pytest.fixture
def console(page: Page, recorded: RecordedChannel) -> Page:
    sign_in(page, recorded.platform.base_url, "admin", ADMIN_PASSWORD)
    signed_in(page)
    page.click(".layout-switch__button[data-layout='1']")  # one wide tile: seconds of recording are visible
    return page


def _zoomed_in(target: Locator) -> Locator:
    timeline = target.locator(".timeline")
    timeline.locator(".timeline__zoom-button", has_text="10 min").click()
    return timeline


def test_the_timeline_shows_the_recorded_ranges_and_the_gap(console: Page, recorded: RecordedChannel) -> None:
    target = play(console, CHANNEL_NAME, 0)
    wait_playing(target, within=10)
    timeline = target.locator(".timeline")
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    expect(timeline.locator(".timeline__gap")).to_have_count(1)
    expect(timeline.locator(".timeline__gap")).to_have_attribute("title", re.compile(f"no RTP for {MEDIA_TIMEOUT_S} s"))
    expect(timeline.locator(".timeline__tick--hour")).to_have_count(25)
    timeline = _zoomed_in(target)
    ranges = timeline.locator(".timeline__range")
    expect(ranges).to_have_count(2)
    first, second = ranges.nth(0).bounding_box(), ranges.nth(1).bounding_box()
    gap = timeline.locator(".timeline__gap").bounding_box()
    assert first and second and gap
    assert first["x"] + first["width"] <= gap["x"] + 1 and gap["x"] + gap["width"] <= second["x"] + 1  # in order


def test_the_date_picker_moves_to_another_day_and_back(console: Page) -> None:
    target = play(console, CHANNEL_NAME, 0)
    timeline = target.locator(".timeline")
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    today = str(timeline.locator(".timeline__date").input_value())
    yesterday = local_date(console, 1)
    timeline.locator(".timeline__date").fill(yesterday)
    expect(timeline.locator(".timeline__track")).to_have_attribute("data-loaded", yesterday)
    expect(timeline.locator(".timeline__range")).to_have_count(0)
    expect(timeline.locator(".timeline__status")).to_have_text("Nothing recorded on this day")
    timeline.locator(".timeline__date").fill(today)
    expect(timeline.locator(".timeline__track")).to_have_attribute("data-loaded", today)
    expect(timeline.locator(".timeline__range")).to_have_count(2)


def test_hovering_a_recorded_instant_shows_the_platforms_thumbnail(console: Page) -> None:
    target = play(console, CHANNEL_NAME, 0)
    timeline = _zoomed_in(target)
    track = timeline.locator(".timeline__track")
    first = timeline.locator(".timeline__range").first
    expect(first).to_be_visible()
    track.hover(position=point_in(track, first))
    thumb = timeline.locator(".timeline__preview img.timeline__thumb")
    expect(thumb).to_be_visible()
    assert str(thumb.get_attribute("src")).startswith("blob:")
    assert thumb.evaluate("(img) => img.naturalWidth") == 320  # the platform scales thumbnails to 320 px wide
    expect(timeline.locator(".timeline__preview-time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(thumb).to_have_attribute("alt", re.compile(r"^Recorded picture at \d\d:\d\d:\d\d$"))


def _gap_started(recorded: RecordedChannel) -> datetime:
    with recorded.platform.client() as client:
        return datetime.fromisoformat(_timeline(client, recorded.pk)["gaps"][0]["start"])


def test_clicking_a_recorded_instant_plays_it_at_speed_until_live(console: Page, recorded: RecordedChannel) -> None:
    behind = (datetime.now(UTC) - _gap_started(recorded)).total_seconds()
    time.sleep(max(0.0, BEHIND_LIVE_S - behind))  # 4× must not catch up with the recording before the checks
    target = play(console, CHANNEL_NAME, 0)
    wait_playing(target, within=10)
    timeline = _zoomed_in(target)
    track = timeline.locator(".timeline__track")
    # Just before the gap: playback skips it, says so, and plays on in the range after it (which goes on to now).
    # The first range is a few seconds, a few pixels at this zoom: its middle, not nearer the gap, or a pixel's
    # rounding lands the click in the gap (then nothing is skipped).
    track.click(position=point_in(track, timeline.locator(".timeline__range").first, 0.5))
    expect(target.locator(".tile__notice")).to_contain_text("skipped", timeout=10_000)  # shown for 6 s
    expect(target).to_have_attribute("data-state", "playback", timeout=10_000)
    expect(target.locator(".tile__badge")).to_have_text("PLAYBACK")
    expect(target.locator(".tile__clock")).to_contain_text(f"{local_date(console)} ")
    expect(target.locator(".tile__clock")).to_contain_text("· 1×")
    wait_video_advances(target)
    assert frame_stats(target)["variance"] > MIN_FRAME_VARIANCE  # the recorded picture, not a blank one
    time.sleep(1.0)  # past the gap: the gap is said as it is sent, a second before the picture gets there
    at_1x = position_rate(target, 2.0)  # positions come about once a second: ±1 s over the window
    target.locator(".timeline__speed", has_text="4×").click()
    expect(target.locator(".tile__clock")).to_contain_text("· 4×")
    time.sleep(2.5)  # what was sent ahead at 1× plays out first
    at_4x = position_rate(target, 3.0)
    # ±1 s over each window, and a loaded machine's Chromium decodes 4× a little behind: clearly faster than 1×
    # is what is asked (a CI run measured 2.3 after 1.5 s of settling).
    assert 0.4 < at_1x < 1.7 and 2.0 < at_4x < 5.5 and at_4x > 1.6 * at_1x, (at_1x, at_4x)
    wait_video_advances(target, advance=0.5, within=3)  # the picture goes on at 4× (rate 1, shorter frames)
    # Into the segment being recorded, then caught up with it: the platform says `live`, the tile goes live.
    expect(target).to_have_attribute("data-mode", "live", timeout=30_000)
    expect(target.locator(".tile__badge")).to_have_text("LIVE", timeout=10_000)
    expect(target.locator(".timeline__playback")).to_be_hidden()
    wait_video_advances(target)  # the live picture
