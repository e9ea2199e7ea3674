"""The timeline's and playback's pure modules, and the reason prompt's retry against a stubbed fetch, in Chromium:
day and window arithmetic, ticks, placing ranges, where a click plays from; playback pacing; the codec read
from an fMP4 init segment; asking for a reason once per channel and session."""

from __future__ import annotations

import base64
import struct
from typing import cast
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from tests.web.standin import clip
from tests.web.test_modules import _run, blank  # noqa: F401  (the module-wide page fixture)

pytestmark = pytest.mark.browser


# --- timeline-model.js ---------------------------------------------------------------------------------

def test_a_day_runs_from_local_midnight_to_the_next(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "timeline-model.js", """(m) => {
      const day = m.dayOf('2026-03-14');
      return [day.start === new Date(2026, 2, 14).getTime(), day.end === new Date(2026, 2, 15).getTime(),
              m.dateValueOf(day.start), m.dayOf('2026-02-31'), m.dayOf(''), m.dayOf('14.03.2026')];
    }""")
    assert result == [True, True, "2026-03-14", None, None, None]


def test_a_zoomed_window_centres_on_the_cursor_and_stays_inside_the_day(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "timeline-model.js", """(m) => {
      const day = m.dayOf('2026-03-14');
      const at = (h, min = 0) => new Date(2026, 2, 14, h, min).getTime();
      const hours = (w) => [(w.start - day.start) / m.HOUR_MS, (w.end - day.start) / m.HOUR_MS];
      return [hours(m.windowOf(day, m.DAY_MS, at(15))), hours(m.windowOf(day, m.HOUR_MS, at(15))),
              hours(m.windowOf(day, m.HOUR_MS, at(0, 10))), hours(m.windowOf(day, m.HOUR_MS, at(23, 50)))];
    }""")
    assert result == [[0, 24], [14.5, 15.5], [0, 1], [23, 24]]


def test_ticks_fall_on_local_hours_and_minutes(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "timeline-model.js", """(m) => {
      const day = m.dayOf('2026-03-14');
      const whole = m.ticksOf(m.windowOf(day, m.DAY_MS, 0));
      const at = (h, min, sec = 0) => new Date(2026, 2, 14, h, min, sec).getTime();
      const hour = m.ticksOf({start: at(9, 30), end: at(10, 30)});
      const tenMinutes = m.ticksOf({start: at(9, 55, 30), end: at(10, 5, 30)});
      return {
        wholeCount: whole.length, wholeHours: whole.every((t) => t.hour),
        wholeLabels: whole.filter((t) => t.label).map((t) => t.label),
        hourLabels: hour.filter((t) => t.label).map((t) => t.label), hourCount: hour.length,
        hourMarks: hour.filter((t) => t.hour).map((t) => m.clockOf(t.at)),
        tenFirst: m.clockOf(tenMinutes[0].at, true), tenCount: tenMinutes.length,
        firstFraction: Math.round(tenMinutes[0].fraction * 1000) / 1000,
      };
    }""")
    assert result["wholeCount"] == 25 and result["wholeHours"]  # 00:00 through the next midnight
    assert result["wholeLabels"][:3] == ["00:00", "03:00", "06:00"]
    assert result["hourLabels"] == ["09:30", "09:45", "10:00", "10:15", "10:30"]
    assert result["hourCount"] == 13 and result["hourMarks"] == ["10:00"]
    assert result["tenFirst"] == "09:56:00" and result["tenCount"] == 10
    assert result["firstFraction"] == 0.05


def test_ranges_and_gaps_are_placed_and_clipped_to_the_window(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "timeline-model.js", """(m) => {
      const timeline = {ranges: [{start: '2026-03-14T00:00:00Z', end: '2026-03-14T06:00:00Z'},
                                 {start: '2026-03-14T18:00:00Z', end: '2026-03-15T06:00:00Z'}],
                        gaps: [{start: '2026-03-14T06:00:00Z', end: null, reason: 'device offline'}]};
      const now = Date.parse('2026-03-14T12:00:00Z');
      const {ranges, gaps} = m.intervalsOf(timeline, now);
      const window = {start: Date.parse('2026-03-14T03:00:00Z'), end: Date.parse('2026-03-14T21:00:00Z')};
      return [m.placed(window, ranges).map((s) => [s.left, s.width]), gaps[0].end === now, gaps[0].reason,
              m.placed(window, gaps).map((s) => [s.left, s.width]),
              m.placed({start: Date.parse('2026-03-16T00:00:00Z'), end: Date.parse('2026-03-17T00:00:00Z')}, ranges)];
    }""")
    ranges, open_gap_ends_now, reason, gaps, outside = result
    assert ranges == [[0, pytest.approx(1 / 6)], [pytest.approx(15 / 18), pytest.approx(3 / 18)]]
    assert open_gap_ends_now and reason == "device offline"
    assert gaps == [[pytest.approx(3 / 18), pytest.approx(6 / 18)]]
    assert outside == []


def test_a_click_plays_from_the_instant_or_the_next_recording(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "timeline-model.js", """(m) => {
      const ranges = [{start: 100, end: 200}, {start: 300, end: 400}];
      return [m.playableFrom(ranges, 150), m.playableFrom(ranges, 200), m.playableFrom(ranges, 250),
              m.playableFrom(ranges, 450), m.playableFrom(ranges, 250, 300), m.isRecorded(ranges, 99)];
    }""")
    assert result == [150, 300, 300, None, None, False]


# --- playback-pace.js ----------------------------------------------------------------------------------

def test_playback_plays_at_rate_1_and_catches_up_with_hysteresis(blank: Page) -> None:  # noqa: F811
    # [seconds buffered ahead, current rate]: the platform's media timeline is already divided by the speed.
    cases = "[[1, 1], [3.5, 1], [2, 1.1], [2, 1], [1, 1.1]]"
    rates = _run(blank, "playback-pace.js", f"""(m) => {cases}.map(([ahead, rate]) =>
      m.playbackRateAt([{{start: 0, end: 10 + ahead}}], 10, rate))""")
    assert rates == [1, 1.1, 1.1, 1, 1]


def test_playback_jumps_only_when_far_behind_and_skips_gaps(blank: Page) -> None:  # noqa: F811
    result = _run(blank, "playback-pace.js", """(m) => [
      m.playbackSeekTarget([{start: 0, end: 19}], 10),
      m.playbackSeekTarget([{start: 0, end: 21}], 10),
      m.playbackSeekTarget([{start: 0, end: 5}, {start: 7, end: 9}], 6),
      m.playbackSeekTarget([{start: 12, end: 13}], 0),
      m.PLAYBACK_PACE.sequence,
    ]""")
    assert result == [None, 20, 7, 12, True]


# --- fmp4-codec.js -------------------------------------------------------------------------------------

def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _hevc_init() -> bytes:
    """ftyp + moov/trak/mdia/minf/stbl/stsd/hvc1/hvcC: Main profile, compatibility flags 1 and 2, level 93."""
    hvcc = (bytes([1, 0x01]) + struct.pack(">I", 0x60000000) + bytes([0xB0, 0, 0, 0, 0, 0, 93])
            + bytes(10))  # the rest of HEVCDecoderConfigurationRecord does not matter here
    entry = _box(b"hvc1", bytes(78) + _box(b"hvcC", hvcc))
    stsd = _box(b"stsd", bytes(4) + struct.pack(">I", 1) + entry)
    nested = stsd
    for kind in (b"stbl", b"minf", b"mdia", b"trak", b"moov"):
        nested = _box(kind, nested)
    return _box(b"ftyp", b"isom" + bytes(4)) + nested


@pytest.mark.parametrize(("init", "codec"), [
    (lambda: clip().init_segment, "avc1.42c01e"),
    (_hevc_init, "hvc1.1.6.L93.B0"),
])
def test_the_codec_is_read_from_the_init_segment(blank: Page, init: object, codec: str) -> None:  # noqa: F811
    data = base64.b64encode(init()).decode()  # type: ignore[operator]
    result = _run(blank, "fmp4-codec.js", f"""(m) => {{
      const bytes = Uint8Array.from(atob('{data}'), (c) => c.charCodeAt(0));
      return [m.isInitSegment(bytes.buffer), m.codecOfInit(bytes.buffer), m.isInitSegment(bytes.slice(8).buffer)];
    }}""")
    assert result == [True, codec, False]


def test_a_fragment_has_no_codec(blank: Page) -> None:  # noqa: F811
    data = base64.b64encode(clip().fragments[0]).decode()
    assert _run(blank, "fmp4-codec.js", f"""(m) => m.codecOfInit(
      Uint8Array.from(atob('{data}'), (c) => c.charCodeAt(0)).buffer)""") is None


# --- reason.js against a stubbed fetch -----------------------------------------------------------------

# Runs `body` (an async function of the reason and api modules, and `calls`) with window.fetch replaced by a
# stub: live-view POSTs without `?reason=` (or with a reason in `refuse`) get 403 reason-required, others 200;
# any channel in `broken` gets 502. Returns what `body` returns plus the URLs fetched.
STUBBED = r"""async ({refuse, broken}) => {
  const reason = await import('/js/reason.js');
  const api = await import('/js/api.js');
  sessionStorage.setItem('clearsight.access_token', 'header.claims.signature-one');
  sessionStorage.setItem('clearsight.expires_at', String(Date.now() + 600000));
  sessionStorage.removeItem('clearsight.reasons');
  const calls = [];
  const realFetch = window.fetch;
  const problem = (status, type, detail) => new Response(JSON.stringify({type, title: 'x', status, detail}),
    {status, headers: {'Content-Type': 'application/problem+json'}});
  window.fetch = async (url) => {
    calls.push(String(url));
    const given = new URL(url, location.href).searchParams.get('reason');
    const channel = Number(/channels\/(\d+)\//.exec(String(url))[1]);
    if (broken.includes(channel)) return problem(502, 'about:blank', 'device busy');
    if (!given || refuse.includes(given)) return problem(403, '/problems/reason-required', 'say why');
    return new Response(JSON.stringify({ws_url: 'ws://x', given}),
      {status: 200, headers: {'Content-Type': 'application/json'}});
  };
  try {
    return {result: await (BODY)(reason, api, calls), calls};
  } finally {
    window.fetch = realFetch;
  }
}"""


def _stubbed(page: Page, body: str, *, refuse: tuple[str, ...] = (), broken: tuple[int, ...] = ()) -> dict[str, object]:
    result: dict[str, object] = page.evaluate(STUBBED.replace("BODY", body),
                                              {"refuse": list(refuse), "broken": list(broken)})
    return result


def test_a_reason_is_asked_for_sent_and_remembered_for_the_channel(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api, calls) => {
      const asked = [];
      const ask = async (id, label, notice) => { asked.push([id, label, notice]); return 'incident 7/b'; };
      const live = (id) => reason.withReason({id, label: `Cam ${id}`}, (r) => api.startLive(id, {reason: r}), {ask});
      const first = await live(3);
      const again = await live(3);
      const other = await live(4);
      const remembered = reason.rememberedReason(3);
      return {first: first.given, again: again.given, other: other.given, asked, remembered};
    }""")
    result = out["result"]
    assert result == {"first": "incident 7/b", "again": "incident 7/b", "other": "incident 7/b",
                      "asked": [[3, "Cam 3", ""], [4, "Cam 4", ""]], "remembered": "incident 7/b"}
    assert out["calls"] == ["/api/v1/channels/3/live", "/api/v1/channels/3/live?reason=incident+7%2Fb",
                            "/api/v1/channels/3/live?reason=incident+7%2Fb",  # remembered: asked no more
                            "/api/v1/channels/4/live", "/api/v1/channels/4/live?reason=incident+7%2Fb"]


def test_a_declined_prompt_starts_nothing_and_remembers_nothing(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api) => {
      try {
        await reason.withReason({id: 3, label: 'Cam'}, (r) => api.startLive(3, {reason: r}), {ask: async () => null});
        return 'started';
      } catch (error) {
        return [error.name, reason.rememberedReason(3)];
      }
    }""")
    assert out["result"] == ["ReasonDeclined", ""]
    assert out["calls"] == ["/api/v1/channels/3/live"]


def test_a_refused_reason_is_asked_again_with_the_platforms_detail(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api) => {
      const answers = ['x', 'because of incident 12'];
      const notices = [];
      const ask = async (id, label, notice) => { notices.push(notice); return answers.shift(); };
      const info = await reason.withReason({id: 3, label: 'Cam'}, (r) => api.startLive(3, {reason: r}), {ask});
      return [info.given, notices];
    }""", refuse=("x",))
    assert out["result"] == ["because of incident 12", ["", "say why"]]
    assert len(out["calls"]) == 3  # type: ignore[arg-type]


def test_other_failures_are_not_a_reason_prompt(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api) => {
      let asked = 0;
      try {
        const ask = async () => { asked++; return 'r'; };
        await reason.withReason({id: 9, label: 'Cam'}, (r) => api.startLive(9, {reason: r}), {ask});
      } catch (error) {
        return [error.status, asked];
      }
    }""", broken=(9,))
    assert out["result"] == [502, 0]


def test_reasons_belong_to_the_sign_in(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason) => {
      reason.rememberReason(3, 'patrol');
      const before = reason.rememberedReason(3);
      sessionStorage.setItem('clearsight.access_token', 'header.claims.signature-two');
      return [before, reason.rememberedReason(3)];
    }""")
    assert out["result"] == ["patrol", ""]


def test_playback_sends_its_reason_as_a_query_parameter_too(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api) => {
      const ask = async () => 'case 88';
      const start = Date.parse('2026-03-14T01:10:00Z');
      const info = await reason.withReason({id: 5, label: 'Cam'},
        (r) => api.startPlayback(5, start, 4, {reason: r}), {ask});
      return info.given;
    }""")
    assert out["result"] == "case 88"
    assert out["calls"] == ["/api/v1/channels/5/playback", "/api/v1/channels/5/playback?reason=case+88"]


def test_the_timeline_thumbnail_and_snapshot_reads_send_the_reason_too(blank: Page) -> None:  # noqa: F811
    out = _stubbed(blank, """async (reason, api) => {
      await api.listRecordings(6, 0, 3_600_000, {reason: 'case 9'});
      await api.fetchThumbnail(6, 1_800_000, {reason: 'case 9'});
      await api.fetchSnapshot(6, {reason: 'case 9'});
      return null;
    }""")
    calls = [urlsplit(url) for url in cast(list[str], out["calls"])]
    assert [c.path for c in calls] == ["/api/v1/channels/6/recordings", "/api/v1/channels/6/thumbnails",
                                       "/api/v1/channels/6/snapshot"]
    assert [parse_qs(c.query)["reason"] for c in calls] == [["case 9"]] * 3
    assert parse_qs(calls[0].query)["start"] == ["1970-01-01T00:00:00.000Z"]
