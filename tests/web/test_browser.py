"""The operator console in Chromium against the real platform and simulator processes: sign in through
the UI, click a channel in the tree, and see live video; make the simulator refuse or go silent and see
the step that failed in the tile; steer the camera from the PTZ pad; take a snapshot."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from clearsight.api.ptz_commands import ptz_hex
from clearsight.api.schemas import PtzMove, PtzStop
from tests.integration.conftest import platform, sims, start_listed_sim  # noqa: F401  (fixtures)
from tests.integration.processes import ADMIN_PASSWORD, PlatformProcess, SimProcess
from tests.web.conftest import PageErrors
from tests.web.console import MIN_FRAME_VARIANCE, frame_stats, play, sign_in, signed_in, wait_failed, wait_playing

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHANNEL_ID = "34020000001310000002"  # the simulator's first channel: its base channel ID + 1
SECOND_CHANNEL_ID = "34020000001310000003"
CHANNEL_NAME = "Camera 1-1"
SECOND_CHANNEL_NAME = "Camera 1-2"
FIRST_PICTURE_WITHIN_S = 10.0


@pytest.fixture
def simulator(platform: PlatformProcess, sims: list[SimProcess]) -> Iterator[SimProcess]:  # noqa: F811
    sim, _ = start_listed_sim(platform, sims, channels=2)
    yield sim


@pytest.fixture
def console(page: Page, platform: PlatformProcess, simulator: SimProcess) -> Page:  # noqa: F811
    sign_in(page, platform.base_url, "admin", ADMIN_PASSWORD)
    signed_in(page)
    return page


def test_a_clicked_channel_plays_live_video(console: Page, simulator: SimProcess, page_errors: PageErrors) -> None:
    target = play(console, CHANNEL_NAME, 0)
    wait_playing(target, within=FIRST_PICTURE_WITHIN_S, advance=1.5)
    frame = frame_stats(target)
    assert frame["width"] > 0 and frame["height"] > 0
    assert frame["variance"] > MIN_FRAME_VARIANCE, frame
    simulator.wait_for(lambda e: e.get("event") == "stream_started" and e.get("channel") == CHANNEL_ID)
    target.hover()
    expect(target.locator(".tile__stats")).to_contain_text("Bitrate")
    assert [m for m in page_errors.messages if "Failed to load resource" not in m] == []


def test_a_refused_invite_shows_the_step_in_the_tile(console: Page, simulator: SimProcess) -> None:
    simulator.send(f"invite-reject {SECOND_CHANNEL_ID} 486")
    simulator.wait_for(lambda e: e.get("event") == "invite_reject")
    target = play(console, SECOND_CHANNEL_NAME, 1)
    assert wait_failed(target, within=15) == "invite"
    expect(target.locator(".tile__failure-step")).to_have_text("step: invite")
    expect(target.locator(".tile__failure-detail")).to_contain_text("486")


def test_a_muted_channel_shows_no_rtp_in_the_tile(console: Page, simulator: SimProcess) -> None:
    simulator.send(f"media off {SECOND_CHANNEL_ID}")
    simulator.wait_for(lambda e: e.get("event") == "media")
    target = play(console, SECOND_CHANNEL_NAME, 2)
    assert wait_failed(target, within=20) == "no-rtp"
    expect(target.locator(".tile__failure-step")).to_have_text("step: no-rtp")


def test_the_ptz_pad_steers_the_simulated_camera(console: Page, simulator: SimProcess) -> None:
    play(console, CHANNEL_NAME, 0)
    right = console.locator(".ptz__key--right")
    right.hover()
    console.mouse.down()
    moved = simulator.wait_for(lambda e: e.get("event") == "ptz" and e.get("channel") == CHANNEL_ID)
    console.mouse.up()
    stopped = simulator.wait_for(lambda e: e.get("event") == "ptz" and e.get("channel") == CHANNEL_ID
                                 and e is not moved, new_only=True)
    assert str(moved["command"]).upper() == ptz_hex(PtzMove(action="move", pan=1)).upper()
    assert str(stopped["command"]).upper() == ptz_hex(PtzStop(action="stop")).upper()
    expect(console.locator(".ptz__status")).to_have_text("Stopped")


def test_a_snapshot_of_the_live_channel_opens_in_the_dialog(console: Page) -> None:
    target = play(console, CHANNEL_NAME, 0)
    wait_playing(target, within=FIRST_PICTURE_WITHIN_S)
    target.hover()
    target.locator(".tile__tool--snapshot").click()
    dialog = console.locator("#snapshot-dialog")
    expect(dialog.locator("canvas.dialog__image")).to_be_visible(timeout=10_000)
    expect(dialog.locator(".dialog__meta")).to_contain_text(CHANNEL_ID)
    expect(dialog.locator("a.button", has_text="Download")).to_have_attribute("download", re.compile(r"\.jpg$"))
