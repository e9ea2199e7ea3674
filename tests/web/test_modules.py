"""The UI's pure modules, run in Chromium: live-edge keeping, the region tree model, PTZ speeds, stats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.api.fakes import FakeControl
from tests.integration.processes import free_port
from tests.web.standin import BEHAVIOUR, StandInLog, StandInServer, build_app

pytestmark = pytest.mark.browser


def _run(page: Page, module: str, body: str) -> Any:
    """Evaluate `body` (an async function of the module `m`) in the page."""
    return page.evaluate(f"async () => {{ const m = await import('/js/{module}'); return ({body})(m); }}")


@pytest.fixture(scope="module")
def blank(browser: Browser) -> Iterator[Page]:
    """One page for the whole module: the modules are pure, nothing carries over between tests."""
    server = StandInServer(build_app(StandInLog(), FakeControl(), dict(BEHAVIOUR)), free_port())
    server.start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/")
        yield page
    finally:
        context.close()
        server.stop()


def test_seek_target_starts_at_the_buffered_start(blank: Page) -> None:
    assert _run(blank, "live-edge.js", "(m) => m.seekTarget([{start: 12.0, end: 12.2}], 0)") == 12.0


def test_seek_target_leaves_playback_near_the_edge_alone(blank: Page) -> None:
    assert _run(blank, "live-edge.js", "(m) => m.seekTarget([{start: 0, end: 5.0}], 4.6)") is None


def test_seek_target_jumps_to_near_the_live_edge(blank: Page) -> None:
    target = _run(blank, "live-edge.js", "(m) => m.seekTarget([{start: 0, end: 5.0}], 4.0)")
    assert 4.7 <= target < 5.0


def test_seek_target_skips_a_gap(blank: Page) -> None:
    ranges = "[{start: 0, end: 2.0}, {start: 2.6, end: 2.9}]"
    assert _run(blank, "live-edge.js", f"(m) => m.seekTarget({ranges}, 2.3)") == 2.6


def test_trim_keeps_ten_seconds_behind_playback(blank: Page) -> None:
    assert _run(blank, "live-edge.js", "(m) => m.trimEnd([{start: 0, end: 11}], 10.9)") is None
    assert _run(blank, "live-edge.js", "(m) => m.trimEnd([{start: 0, end: 13}], 12.9)") == pytest.approx(2.9)


def test_playback_speeds_up_a_little_to_close_a_small_lag(blank: Page) -> None:
    # [lag, current rate]: above 0.15 s faster; between 0.08 and 0.15 s unchanged; below 0.08 s normal.
    cases = "[[0.2, 1], [0.12, 1.1], [0.12, 1], [0.05, 1.1]]"
    rates = _run(blank, "live-edge.js", f"(m) => {cases}.map(([lag, rate]) => m.playbackRateFor(lag, rate))")
    assert rates == [1.1, 1.1, 1, 1]


@pytest.mark.parametrize(("civil_code", "region"), [
    ("34020000", "3402"), ("340202", "340202"), ("34", "34"), ("3402020512", "34020205"),
    ("00000000", None), ("34x", None), ("345", None), (None, None), ("", None),
])
def test_region_code_of_matches_the_platform(blank: Page, civil_code: str | None, region: str | None) -> None:
    assert _run(blank, "tree-model.js", f"(m) => m.regionCodeOf({civil_code!r})".replace("None", "null")) == region


TREE_INPUT = """{
  regions: [{code: '34', name: 'Anhui', level: 'province', children: [
    {code: '3402', name: 'Wuhu', level: 'city', children: []},
    {code: '3403', name: 'Bengbu', level: 'city', children: []}]}],
  devices: [{id: 'D1', name: 'North NVR', online: true}, {id: 'D2', name: null, online: false},
            {id: 'D3', name: 'New box', online: true}],
  channels: [
    {id: 1, gb_id: 'G1', device_id: 'D1', name: 'Gate', online: true, civil_code: '34020000'},
    {id: 2, gb_id: 'G2', device_id: 'D1', name: 'Yard', online: false, civil_code: '3402'},
    {id: 3, gb_id: 'G3', device_id: 'D2', name: 'Dock', online: true, civil_code: '34020000'},
    {id: 4, gb_id: 'G4', device_id: 'D1', name: 'Roof', online: true, civil_code: '99'}]
}"""


def test_tree_groups_channels_by_region_and_device(blank: Page) -> None:
    tree = _run(blank, "tree-model.js", f"""(m) => m.buildTree({TREE_INPUT}).map(function show(n) {{
      return n.kind === 'region'
        ? {{key: n.key, total: n.total, online: n.online, regions: n.regions.map(show), devices: n.devices.map(show)}}
        : {{key: n.key, total: n.total, online: n.online, channels: n.channels.map(c => c.name)}};
    }})""")
    anhui, unassigned = tree
    assert anhui["key"] == "region:34" and (anhui["total"], anhui["online"]) == (3, 1)  # D2 offline: Dock is not
    (wuhu,) = anhui["regions"]  # Bengbu has no channels: left out
    # Devices sort by name, an unnamed one by its ID; channels by name.
    assert [d["key"] for d in wuhu["devices"]] == ["device:3402:D2", "device:3402:D1"]
    assert wuhu["devices"][1]["channels"] == ["Gate", "Yard"]
    assert unassigned["key"] == "region:-"
    unassigned_devices = [(d["key"], d["channels"]) for d in unassigned["devices"]]
    assert unassigned_devices == [("device:-:D3", []), ("device:-:D1", ["Roof"])]


def test_filter_keeps_matching_channels_and_their_ancestors(blank: Page) -> None:
    result = _run(blank, "tree-model.js", f"""(m) => {{
      const tree = m.filterTree(m.buildTree({TREE_INPUT}), 'YAR');
      return [tree.length, tree[0].regions[0].devices.map(d => d.channels.map(c => c.name)), tree[0].total];
    }}""")
    assert result == [1, [["Yard"]], 1]


def test_filter_by_device_name_keeps_all_its_channels(blank: Page) -> None:
    result = _run(blank, "tree-model.js", f"""(m) => m.filterTree(m.buildTree({TREE_INPUT}), 'north')
      .flatMap(r => [...r.devices, ...r.regions.flatMap(s => s.devices)]).map(d => d.channels.length)""")
    assert result == [2, 1]


def test_zoom_speed_follows_the_pan_speed(blank: Page) -> None:
    assert _run(blank, "ptz.js", "(m) => [1, 128, 255].map(m.zoomSpeedFor)") == [1, 8, 15]


def test_stats_rows_show_the_platform_figures(blank: Page) -> None:
    rows = dict(_run(blank, "stats.js", """(m) => m.statsRows(
      {codec: 'avc1.42c01e', width: 1920, height: 1080, fps: 25, bitrate_kbps: 2048, loss_rate: 0.0125,
       lost: 5, packets: 395, jitter_ms: 3.25, transport: 'udp', viewers: 2, uptime_s: 3725},
      {latency_s: 0.31, dropped_frames: 0, decoded_frames: 100})"""))
    assert rows["Codec"] == "H.264 (avc1.42c01e)"
    assert rows["Resolution"] == "1920×1080"
    assert rows["Bitrate"] == "2.05 Mbit/s"
    assert rows["Packet loss"].startswith("1.25 %")
    assert rows["Uptime"] == "1:02:05"
    assert rows["Latency"] == "0.31 s behind live"
