"""The operator console in Chromium against the stand-in platform (`standin.py`): sign-in, the channel
tree, the video wall with live MSE playback and its failures, PTZ, snapshots."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from playwright.sync_api import Page, Request, expect

from clearsight.api import middleware as api_middleware
from clearsight.api.ptz_commands import ptz_hex
from clearsight.api.schemas import PtzMove, PtzStop
from tests.api.fakes import DEVICE_ID, PASSWORD, FakeChannel, FakeDevice
from tests.web.conftest import PageErrors, StandIn
from tests.web.console import (
    MIN_FRAME_VARIANCE,
    channel_row,
    frame_stats,
    play,
    sign_in,
    signed_in,
    tile,
    wait_failed,
    wait_playing,
)
from tests.web.standin import Live

pytestmark = pytest.mark.browser


def _no_script_errors(errors: PageErrors) -> None:
    # Failed requests are logged as console errors too; those are what some tests provoke.
    real = [m for m in errors.messages if "Failed to load resource" not in m]
    assert real == []


@pytest.fixture
def console(page: Page, standin: StandIn) -> Page:
    sign_in(page, standin.base_url, "oper", PASSWORD)
    signed_in(page)
    return page


def test_wrong_password_shows_the_problem_detail(page: Page, standin: StandIn, page_errors: PageErrors) -> None:
    sign_in(page, standin.base_url, "oper", "not the password")
    expect(page.locator("#login-view [role=alert]")).to_have_text("wrong user name or password")
    expect(page.locator("#app-view")).to_be_hidden()
    _no_script_errors(page_errors)


def test_sign_in_keeps_the_token_in_session_storage(console: Page, page_errors: PageErrors) -> None:
    token = console.evaluate("() => sessionStorage.getItem('clearsight.access_token')")
    assert token and token.count(".") == 2
    expect(console.locator(".topbar__user")).to_contain_text("oper")
    expect(console.locator(".topbar__role")).to_have_text("operator")
    console.reload()
    signed_in(console)  # the tab stays signed in
    _no_script_errors(page_errors)


def test_the_tree_shows_regions_devices_channels_and_online_state(console: Page) -> None:
    names = console.locator(".tree__row .tree__name").all_inner_texts()
    assert names[:4] == ["Anhui", "Wuhu", "Jinghu", "Gate NVR"]
    assert "Unassigned" in names and "Roof" in names  # no civil code
    expect(console.locator(".tree__row--region", has_text="Anhui").locator(".tree__count")).to_have_text("4/5")
    warehouse = channel_row(console, "Warehouse")
    expect(warehouse).to_have_class("tree__row tree__row--channel is-offline")  # its device is offline
    expect(channel_row(console, "Gate").locator(".dot")).to_have_class("dot dot--online")
    expect(console.locator(".pane__footer")).to_contain_text("6 channels · 5 online")


def test_search_filters_the_tree_by_name(console: Page) -> None:
    console.fill(".search input", "park")
    expect(console.locator(".tree__row--channel")).to_have_count(1)
    expect(console.locator(".tree__row--channel")).to_contain_text("Parking lot")
    console.fill(".search input", "gate nvr")  # a device name keeps all its channels
    expect(console.locator(".tree__row--channel")).to_have_count(5)
    console.fill(".search input", "nothing like this")
    expect(console.locator(".tree__empty")).to_contain_text("No channel matches")
    console.press(".search input", "Escape")
    expect(console.locator(".tree__row--channel")).to_have_count(6)


def test_the_tree_reads_every_channel_and_device_page_by_cursor(page: Page, standin: StandIn) -> None:
    # 1,206 channels and 1,102 devices: three pages of 500 each. Deep offsets walk every skipped row; cursor pages
    # cost what the first does.
    extra = {pk: FakeChannel(id=pk, gb_id=f"3402000000132{pk:07d}", name=f"Lane {pk}", civil_code="340202")
             for pk in range(7, 1207)}
    standin.registry.channels.update(extra)
    standin.registry.devices.update({device.id: device for device in (
        FakeDevice(id=f"3402000000132{n:07d}", name=f"NVR {n}", channel_count=0) for n in range(3, 1103))})
    lists: dict[str, list[str]] = {"channels": [], "devices": []}

    def note(request: Request) -> None:
        for listing, queries in lists.items():
            if f"/api/v1/{listing}?" in request.url:
                queries.append(request.url.split("?", 1)[1])

    page.on("request", note)
    sign_in(page, standin.base_url, "oper", PASSWORD)
    expect(page.locator(".pane__footer")).to_contain_text("1206 channels")  # the devices stay closed: no row shows
    for listing, queries in lists.items():
        first, *later = queries[:3]
        assert "cursor=" not in first and "offset=" not in first and "count=false" in first, (listing, queries)
        assert len(later) == 2 and all("cursor=" in query and "offset=" not in query for query in later), queries
    for listing in ("channels", "devices"):
        afters = [kw["after"] for name, kw in standin.registry.calls if name == f"list_{listing}_after"]
        assert afters[:3] == [None, afters[1], afters[2]] and None not in afters[1:3], listing
        assert not [kw for name, kw in standin.registry.calls if name == f"list_{listing}" and kw["offset"]], listing


def test_collapsing_a_region_hides_its_channels(console: Page) -> None:
    console.locator(".tree__row--region", has_text="Jinghu").click()
    expect(channel_row(console, "Gate")).to_have_count(0)
    console.locator(".tree__row--region", has_text="Jinghu").click()
    expect(channel_row(console, "Gate")).to_be_visible()


def test_online_state_refreshes_every_ten_seconds(console: Page, standin: StandIn) -> None:
    gate = channel_row(console, "Gate")
    expect(gate.locator(".dot")).to_have_class("dot dot--online")
    standin.registry.channels[1] = replace(standin.registry.channels[1], online=False)
    expect(gate.locator(".dot")).to_have_class("dot dot--offline", timeout=12_000)
    expect(gate).to_have_class("tree__row tree__row--channel is-offline")
    expect(console.locator(".tree__row--region", has_text="Anhui").locator(".tree__count")).to_have_text("3/5")


def test_clicking_a_channel_plays_it_in_the_selected_tile(console: Page, standin: StandIn,
                                                          page_errors: PageErrors) -> None:
    target = play(console, "Gate", 0)
    wait_playing(target, advance=1.0)
    frame = frame_stats(target)
    assert (frame["width"], frame["height"]) == (320, 180)
    assert frame["variance"] > MIN_FRAME_VARIANCE
    expect(target.locator(".tile__title")).to_have_text("Gate")
    expect(target.locator(".tile__badge")).to_have_text("LIVE")
    expect(channel_row(console, "Gate")).to_have_class("tree__row tree__row--channel is-playing is-selected")
    assert standin.log.live_posts == [1] and standin.log.websockets == [1]
    _no_script_errors(page_errors)


def test_playback_stays_near_the_live_edge(console: Page) -> None:
    target = play(console, "Gate", 0)
    wait_playing(target, advance=2.0)
    lag = target.locator("video").evaluate(
        "(v) => v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 99")
    assert lag < 0.6


def test_hovering_a_tile_shows_the_stream_statistics(console: Page) -> None:
    target = play(console, "Gate", 0)
    wait_playing(target)
    target.hover()
    stats = target.locator(".tile__stats")
    expect(stats).to_contain_text("Bitrate")
    expect(stats).to_contain_text("713 kbit/s")
    expect(stats).to_contain_text("UDP")
    expect(stats).to_contain_text("s behind live")
    expect(stats).to_have_css("opacity", "1")


def test_a_channel_dragged_onto_a_tile_plays_there(console: Page) -> None:
    channel_row(console, "Roof").drag_to(tile(console, 3))
    target = tile(console, 3)
    wait_playing(target)
    expect(target).to_have_class("tile is-selected")
    expect(tile(console, 0)).to_have_attribute("data-state", "empty")


def test_close_stops_the_stream_and_empties_the_tile(console: Page) -> None:
    target = play(console, "Gate", 0)
    wait_playing(target)
    target.hover()
    target.locator(".tile__tool--close").click()
    expect(target).to_have_attribute("data-state", "empty")
    assert target.locator("video").evaluate("(v) => v.getAttribute('src')") is None
    expect(channel_row(console, "Gate")).not_to_have_class("is-playing")


@pytest.mark.parametrize(("channel", "step", "shown"), [
    ("Parking lot", "no-rtp", "no RTP packet arrived within 5 s of the ACK"),
    ("Warehouse", "offline", "is offline"),
])
def test_a_failing_stream_shows_the_step_and_detail(console: Page, channel: str, step: str, shown: str) -> None:
    target = play(console, channel, 1)
    assert wait_failed(target) == step
    expect(target.locator(".tile__failure-step")).to_have_text(f"step: {step}")
    expect(target.locator(".tile__failure-detail")).to_contain_text(shown)


def test_an_h265_stream_says_the_codec_is_not_playable(console: Page) -> None:
    target = play(console, "Lobby H.265", 2)
    assert wait_failed(target) == "codec"
    expect(target.locator(".tile__failure")).to_contain_text("codec not playable in this browser")


def test_a_page_policy_without_blob_media_is_named(console: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    # The middleware reads the policy per response: patching the module constant takes effect at once.
    monkeypatch.setattr(api_middleware, "STRICT_CSP", "default-src 'self'")
    console.reload()
    signed_in(console)
    target = play(console, "Gate", 0)
    assert wait_failed(target) == "policy"
    expect(target.locator(".tile__failure-detail")).to_contain_text("media-src 'self' blob:")


def test_retry_asks_the_platform_again(console: Page, standin: StandIn) -> None:
    target = play(console, "Parking lot", 0)
    wait_failed(target)
    standin.behaviour[2] = standin.behaviour[1]  # the device recovered
    target.locator(".tile__failure button").click()
    wait_playing(target)
    assert standin.log.live_posts == [2, 2]


def test_an_unexpected_close_reconnects_once(console: Page, standin: StandIn) -> None:
    target = play(console, "Loading bay", 0)  # the stand-in drops its first connection after a second
    wait_playing(target)
    deadline = time.monotonic() + 10
    while len(standin.log.websockets) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert standin.log.live_posts == [5, 5] and standin.log.websockets == [5, 5]
    wait_playing(target, advance=1.0)


def test_a_silent_connection_is_given_up_and_reconnected(console: Page, standin: StandIn) -> None:
    standin.behaviour[5] = Live.SILENT_ONCE
    target = play(console, "Loading bay", 0)
    expect(target).to_have_attribute("data-state", "buffering")
    wait_playing(target, within=16)  # 10 s of silence, then a new POST and connection
    assert standin.log.live_posts == [5, 5] and standin.log.websockets == [5, 5]


def test_layouts_have_1_4_9_16_tiles(console: Page) -> None:
    for cells in (9, 16, 1, 4):
        console.click(f".layout-switch__button[data-layout='{cells}']")
        expect(console.locator(".tile")).to_have_count(cells)
        expect(console.locator(f".layout-switch__button[data-layout='{cells}']")).to_have_attribute(
            "aria-pressed", "true")


def test_double_click_maximises_a_tile_and_escape_restores(console: Page) -> None:
    target = play(console, "Gate", 2)
    wait_playing(target)
    target.dblclick(position={"x": 60, "y": 80})
    expect(console.locator(".tile:visible")).to_have_count(1)
    expect(target).to_be_visible()
    console.keyboard.press("Escape")
    expect(console.locator(".tile:visible")).to_have_count(4)
    assert target.get_attribute("data-state") == "live"  # the stream went on throughout


def test_a_smaller_layout_stops_the_tiles_it_drops(console: Page, standin: StandIn) -> None:
    target = play(console, "Gate", 3)
    wait_playing(target)
    console.click(".layout-switch__button[data-layout='1']")
    expect(console.locator(".tile")).to_have_count(1)
    expect(channel_row(console, "Gate")).not_to_have_class("is-playing")


def test_ptz_press_moves_and_release_stops(console: Page, standin: StandIn) -> None:
    target = play(console, "Gate", 0)
    expect(console.locator(".ptz__target-name")).to_have_text("Gate")
    up = console.locator(".ptz__key--up")
    up.hover()
    console.mouse.down()
    time.sleep(0.3)
    console.mouse.up()
    expect(console.locator(".ptz__status")).to_have_text("Stopped")
    move = ptz_hex(PtzMove(action="move", tilt=1))
    assert standin.control.sent == [(DEVICE_ID, "34020000001310000001", move),
                                    (DEVICE_ID, "34020000001310000001", ptz_hex(PtzStop(action="stop")))]
    assert target.get_attribute("data-state") in {"requesting", "connecting", "buffering", "live"}


def test_ptz_speed_slider_and_zoom(console: Page, standin: StandIn) -> None:
    play(console, "Gate", 0)
    console.locator(".ptz__slider").fill("255")
    expect(console.locator(".ptz__speed-value")).to_have_text("100 %")
    zoom_in = console.locator(".ptz__key--zoom-in")
    zoom_in.hover()
    console.mouse.down()
    console.mouse.up()
    expect(console.locator(".ptz__status")).to_have_text("Stopped")
    assert standin.control.sent[0][2] == ptz_hex(PtzMove(action="move", zoom=1, zoom_speed=15))


def test_ptz_is_off_for_a_fixed_camera_and_an_empty_tile(console: Page) -> None:
    expect(console.locator(".ptz__key--up")).to_be_disabled()
    play(console, "Roof", 0)  # PTZType 3
    expect(console.locator(".ptz__key--up")).to_be_disabled()
    expect(console.locator(".ptz__hint")).to_contain_text("fixed camera")


def test_a_viewer_may_watch_but_not_steer(page: Page, standin: StandIn) -> None:
    sign_in(page, standin.base_url, "view", PASSWORD)
    signed_in(page)
    wait_playing(play(page, "Gate", 0))
    expect(page.locator(".ptz__key--up")).to_be_disabled()
    expect(page.locator(".ptz__hint")).to_contain_text("viewer")


def test_snapshot_opens_in_a_dialog_with_a_download(console: Page, standin: StandIn,
                                                    page_errors: PageErrors) -> None:
    target = play(console, "Gate", 0)
    wait_playing(target)
    target.hover()
    target.locator(".tile__tool--snapshot").click()
    dialog = console.locator("#snapshot-dialog")
    expect(dialog.locator("canvas.dialog__image")).to_be_visible()
    expect(dialog.locator(".dialog__meta")).to_contain_text("320×180")
    with console.expect_download() as download:
        dialog.locator("a.button", has_text="Download").click()
    assert download.value.suggested_filename.startswith("Gate-")
    assert download.value.suggested_filename.endswith(".jpg")
    with open(download.value.path(), "rb") as jpeg:
        assert jpeg.read(3) == b"\xff\xd8\xff"
    console.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert standin.log.snapshots == [1]
    _no_script_errors(page_errors)


def test_a_failed_snapshot_shows_why(console: Page) -> None:
    target = play(console, "Parking lot", 0)
    wait_failed(target)
    target.locator(".tile__tool--snapshot").click()
    expect(console.locator("#snapshot-dialog [role=alert]")).to_contain_text("has no keyframe yet")


def test_a_401_anywhere_returns_to_the_login(console: Page) -> None:
    console.evaluate("() => sessionStorage.setItem('clearsight.access_token', 'a.forged.token')")
    play(console, "Gate", 0)
    expect(console.locator("#login-view")).to_be_visible()
    expect(console.locator("#login-view [role=alert]")).to_contain_text("session has ended")
    expect(console.locator("#app-view")).to_be_hidden()
    assert console.evaluate("() => sessionStorage.getItem('clearsight.access_token')") is None


def test_sign_out_returns_to_the_login(console: Page) -> None:
    wait_playing(play(console, "Gate", 0))
    bearer = console.evaluate("() => sessionStorage.getItem('clearsight.access_token')")
    with console.expect_request("**/api/v1/auth/logout") as logout:
        console.locator(".topbar button", has_text="Sign out").click()
    assert logout.value.method == "POST"
    assert logout.value.headers["authorization"] == f"Bearer {bearer}"  # the server-side session ends too
    expect(console.locator("#login-view")).to_be_visible()
    assert console.evaluate("() => document.querySelectorAll('video[src]').length") == 0
