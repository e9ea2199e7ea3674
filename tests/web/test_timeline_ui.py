"""The tile's timeline, recording playback and the reason prompt in Chromium against the stand-in platform with
the scripted recording endpoints of `timeline_standin.py` (the playback contract the platform implements)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.api.fakes import PASSWORD, FakeControl
from tests.integration.processes import free_port
from tests.web.conftest import PageErrors
from tests.web.console import play, sign_in, signed_in, video_time, wait_playing
from tests.web.standin import BEHAVIOUR, StandInLog, StandInServer, build_app
from tests.web.timeline_console import (
    local_date,
    local_midnight,
    point_in,
    position,
    position_rate,
    wait_video_advances,
)
from tests.web.timeline_standin import GAP_REASON, SKIPPED_SEGMENT_ERROR, TimelineLog, add_timeline_routes

pytestmark = pytest.mark.browser

SILENCE_S = 11  # longer than the player's 10 s silence timeout (player.js)


@dataclass
class TimelineStandIn:
    base_url: str
    log: TimelineLog


@pytest.fixture
def timeline_standin() -> Iterator[TimelineStandIn]:
    log = TimelineLog()
    app = add_timeline_routes(build_app(StandInLog(), FakeControl(), dict(BEHAVIOUR)), log)
    server = StandInServer(app, free_port())
    server.start()
    try:
        yield TimelineStandIn(server.base_url, log)
    finally:
        server.stop()


@pytest.fixture
def console(page: Page, timeline_standin: TimelineStandIn) -> Page:
    sign_in(page, timeline_standin.base_url, "oper", PASSWORD)
    signed_in(page)
    return page


def _playing_recording(console: Page) -> Locator:
    target = play(console, "Gate", 0)
    wait_playing(target)
    timeline = target.locator(".timeline")
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    track = timeline.locator(".timeline__track")
    track.click(position=point_in(track, timeline.locator(".timeline__range").first, 0.3))
    expect(target).to_have_attribute("data-state", "playback")
    return target


def test_the_timeline_shows_the_days_ranges_gap_and_hour_ticks(console: Page, timeline_standin: TimelineStandIn,
                                                              page_errors: PageErrors) -> None:
    target = play(console, "Gate", 0)
    timeline = target.locator(".timeline")
    expect(timeline).to_be_visible()
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    gap = timeline.locator(".timeline__gap")
    expect(gap).to_have_count(1)
    expect(gap).to_have_attribute("title", f"Gap 01:20:00–01:25:00: {GAP_REASON}")
    expect(timeline.locator(".timeline__tick--hour")).to_have_count(25)
    expect(timeline.locator(".timeline__tick-label").first).to_have_text("00:00")
    expect(timeline.locator(".timeline__date")).to_have_value(local_date(console))
    assert datetime.fromisoformat(timeline_standin.log.recordings[0][0]) == local_midnight(console)
    expect(timeline.locator(".timeline__cursor")).to_have_class("timeline__cursor is-live")  # live view: now
    assert [m for m in page_errors.messages if "Failed to load resource" not in m] == []


def test_the_date_picker_shows_another_day(console: Page, timeline_standin: TimelineStandIn) -> None:
    target = play(console, "Gate", 0)
    timeline = target.locator(".timeline")
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    yesterday = local_date(console, 1)
    timeline.locator(".timeline__date").fill(yesterday)
    expect(timeline.locator(".timeline__track")).to_have_attribute("data-loaded", yesterday)
    assert datetime.fromisoformat(timeline_standin.log.recordings[-1][0]) == local_midnight(console, 1)
    start = datetime.fromisoformat(str(timeline.locator(".timeline__range").first.get_attribute("data-start")))
    assert (start - local_midnight(console, 1)).total_seconds() == 3600
    expect(timeline.locator(".timeline__cursor")).to_be_hidden()  # now is not on that day


def test_zoom_shows_an_hour_or_ten_minutes_around_the_cursor(console: Page) -> None:
    target = _playing_recording(console)
    timeline = target.locator(".timeline")
    timeline.locator(".timeline__zoom-button", has_text="1 h").click()
    expect(timeline.locator(".timeline__zoom-button", has_text="1 h")).to_have_attribute("aria-pressed", "true")
    expect(timeline.locator(".timeline__tick-label").first).to_be_visible()
    assert timeline.locator(".timeline__tick").count() in (12, 13)  # every 5 minutes, both ends if they fall on one
    labels = timeline.locator(".timeline__tick-label").all_inner_texts()
    assert all(label.endswith((":00", ":15", ":30", ":45")) for label in labels) and labels
    cursor = timeline.locator(".timeline__cursor")
    expect(cursor).to_be_visible()
    cursor_box, track_box = cursor.bounding_box(), timeline.locator(".timeline__track").bounding_box()
    assert cursor_box and track_box
    assert abs(cursor_box["x"] - (track_box["x"] + track_box["width"] / 2)) < track_box["width"] * 0.1  # centred
    timeline.locator(".timeline__zoom-button", has_text="10 min").click()
    expect(timeline.locator(".timeline__range")).to_have_count(1)  # only the range under the cursor is in view
    expect(timeline.locator(".timeline__gap")).to_have_count(0)


def test_hovering_a_recorded_instant_shows_its_thumbnail_and_time(console: Page,
                                                                 timeline_standin: TimelineStandIn) -> None:
    target = play(console, "Gate", 0)
    timeline = target.locator(".timeline")
    track = timeline.locator(".timeline__track")
    expect(timeline.locator(".timeline__range")).to_have_count(2)
    track.hover(position=point_in(track, timeline.locator(".timeline__range").first))
    preview = timeline.locator(".timeline__preview")
    expect(preview).to_be_visible()
    expect(preview.locator(".timeline__preview-time")).to_have_text(re.compile(r"^01:[01]\d:\d\d$"))
    thumb = preview.locator("img.timeline__thumb")
    expect(thumb).to_be_visible()
    assert str(thumb.get_attribute("src")).startswith("blob:")
    assert thumb.evaluate("(img) => img.naturalWidth") == 320
    asked = len(timeline_standin.log.thumbnails)
    assert asked >= 1
    track_box = track.bounding_box()
    assert track_box
    track.hover(position={"x": track_box["width"] * 0.8, "y": 10})  # 19:12, nothing recorded
    expect(preview.locator(".timeline__preview-time")).to_have_text(re.compile(r"^19:1\d:\d\d$"))
    expect(thumb).to_be_hidden()
    time.sleep(0.4)
    assert len(timeline_standin.log.thumbnails) == asked  # no thumbnail is asked for outside the recordings
    console.mouse.move(5, 5)
    expect(preview).to_be_hidden()


def test_clicking_a_recorded_instant_plays_it_with_speed_pause_and_live(console: Page,
                                                                      timeline_standin: TimelineStandIn) -> None:
    target = _playing_recording(console)
    log = timeline_standin.log
    assert len(log.playback_posts) == 1 and log.playback_posts[0]["speed"] == 1
    day = local_midnight(console).timestamp()
    asked = datetime.fromisoformat(log.playback_posts[0]["start"]).timestamp() - day
    assert 3600 <= asked <= 3600 + 20 * 60  # inside the first range (01:00-01:20)
    expect(target.locator(".tile__badge")).to_have_text("PLAYBACK")
    clock = target.locator(".tile__clock")
    expect(clock).to_contain_text("01:")
    expect(clock).to_contain_text("· 1×")
    wait_video_advances(target)
    assert 0.6 < position_rate(target, 2.0) < 1.5
    notice = target.locator(".tile__notice")  # the platform skipped a segment: said, and playback goes on
    expect(notice).to_have_text(SKIPPED_SEGMENT_ERROR)
    expect(target).to_have_attribute("data-state", "playback")

    target.locator(".timeline__speed", has_text="4×").click()
    expect(target.locator(".timeline__speed", has_text="4×")).to_have_attribute("aria-pressed", "true")
    assert {"type": "speed", "speed": 4} in log.commands
    time.sleep(1.2)  # the next position message carries the new pace
    assert 2.8 < position_rate(target, 2.5) < 5.5
    # The platform divides the durations by the speed: the picture plays at rate 1 and does not run dry.
    assert target.locator("video").evaluate("(v) => v.playbackRate") < 1.2
    wait_video_advances(target, advance=1.5, within=2.5)

    target.locator(".timeline__pause").click()
    expect(target).to_have_attribute("data-state", "paused")
    expect(target.locator(".tile__badge")).to_have_text("PAUSED")
    assert {"type": "pause"} in log.commands
    paused_at = video_time(target)
    time.sleep(1.0)
    assert video_time(target) == pytest.approx(paused_at, abs=0.05)
    target.locator(".timeline__pause", has_text="Resume").click()
    expect(target).to_have_attribute("data-state", "playback")
    assert {"type": "resume"} in log.commands
    wait_video_advances(target)

    target.locator(".timeline__live").click()
    expect(target).to_have_attribute("data-state", "live")
    expect(target.locator(".tile__badge")).to_have_text("LIVE")
    expect(target.locator(".timeline__playback")).to_be_hidden()
    assert len(log.deleted) == 1


def test_a_click_during_playback_seeks_within_the_session(console: Page, timeline_standin: TimelineStandIn) -> None:
    target = _playing_recording(console)
    wait_video_advances(target)
    track = target.locator(".timeline__track")
    track.click(position=point_in(track, target.locator(".timeline__range").nth(1)))
    log = timeline_standin.log
    seeks = [c for c in log.commands if c.get("type") == "seek"]
    deadline = time.monotonic() + 5
    while not seeks and time.monotonic() < deadline:
        time.sleep(0.1)
        seeks = [c for c in log.commands if c.get("type") == "seek"]
    assert len(seeks) == 1 and len(log.playback_posts) == 1
    day = local_midnight(console).timestamp()
    seek_to = datetime.fromisoformat(seeks[0]["time"]).timestamp() - day
    assert 85 * 60 <= seek_to <= 105 * 60  # inside the second range (01:25-01:45)
    time.sleep(1.5)
    assert position(target) - day >= seek_to  # the seeked message and positions after it
    wait_video_advances(target)  # the fresh init segment played on


def test_the_end_of_the_recording_is_said_and_a_click_plays_on(console: Page,
                                                              timeline_standin: TimelineStandIn) -> None:
    timeline_standin.log.material_frames = 40
    target = _playing_recording(console)
    expect(target).to_have_attribute("data-state", "at-end", timeout=10_000)
    expect(target.locator(".tile__badge")).to_have_text("END")
    expect(target.locator(".tile__message")).to_contain_text("End of the recording")
    time.sleep(SILENCE_S)  # nothing comes after the end: the player must not give the connection up
    expect(target).to_have_attribute("data-state", "at-end")
    track = target.locator(".timeline__track")
    track.click(position=point_in(track, target.locator(".timeline__range").nth(1)))
    expect(target).to_have_attribute("data-state", "playback")
    expect(target.locator(".tile__message")).to_be_hidden()
    assert len(timeline_standin.log.playback_posts) == 1  # the same session played on


def test_catching_up_with_the_recording_goes_to_live_view(console: Page,
                                                          timeline_standin: TimelineStandIn) -> None:
    timeline_standin.log.material_frames, timeline_standin.log.material_end = 40, "live"
    target = _playing_recording(console)
    expect(target).to_have_attribute("data-mode", "live", timeout=10_000)  # what the Live button does
    expect(target).to_have_attribute("data-state", "live")
    expect(target.locator(".tile__badge")).to_have_text("LIVE")
    expect(target.locator(".timeline__playback")).to_be_hidden()
    assert len(timeline_standin.log.deleted) == 1  # the playback session was ended


def test_a_restricted_channel_asks_for_a_reason_once(console: Page, timeline_standin: TimelineStandIn) -> None:
    target = play(console, "Roof", 0)
    dialog = console.locator("dialog.reason")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Roof")
    dialog.locator("textarea").fill("incident 42 at the roof hatch")
    dialog.locator("button", has_text="Continue").click()
    expect(dialog).to_be_hidden()
    wait_playing(target)
    assert timeline_standin.log.live_reasons == [None, "incident 42 at the roof hatch"]
    target.hover()
    target.locator(".tile__tool--close").click()
    wait_playing(play(console, "Roof", 1))  # remembered for this channel: not asked again
    expect(dialog).to_be_hidden()
    assert timeline_standin.log.live_reasons[-1] == "incident 42 at the roof hatch"
    assert len(timeline_standin.log.live_reasons) == 3


def test_cancelling_the_reason_prompt_starts_nothing(console: Page, timeline_standin: TimelineStandIn) -> None:
    target = play(console, "Roof", 0)
    dialog = console.locator("dialog.reason")
    expect(dialog).to_be_visible()
    dialog.locator("button", has_text="Cancel").click()
    expect(target).to_have_attribute("data-state", "failed")
    expect(target).to_have_attribute("data-step", "reason")
    expect(target.locator(".tile__failure-headline")).to_have_text("A reason is required to view this channel")
    assert timeline_standin.log.live_reasons == [None]
