"""Live view latency: glass to glass in Chromium on loopback, and click to first frame.

The simulator burns the wall-clock time (HH:MM:SS.mmm, its local time) into each picture just before it
renders and encodes it. This benchmark runs `clearsight demo` (platform and simulated devices in one
process, its own temp data dir, free ports, TZ=UTC so that the burnt-in clock is UTC), signs in to the web
console in Debian's Chromium through Playwright and plays channels. For every frame the page is told of
(`requestVideoFrameCallback`) it draws the video onto a canvas, crops the clock's box and keeps its luma
with the frame's expected display time. The clock is read here: the box is binarized, cut into its 12
character cells (positions from `overlay_layout`) and each cell matched to templates drawn from the
simulator's font (`glyph`); a cell matching no template closely makes the sample unreadable (it is
counted, never guessed). Latency = expected display time (wall clock) - burnt-in time. The reader is first
checked on pictures encoded with the simulator's encoder and decoded with PyAV.

A hook on the page's WebSocket notes when each fMP4 fragment arrives and its decode time (tfdt), so that
each shown frame also splits into burnt-in → arrival in the page (simulator, platform, network) and
arrival → shown (MSE, decoder, the player's buffer, compositor).

Runs: `--clicks` cold clicks (a channel not played before: click in the tree → first frame shown, → second
frame, i.e. moving video), each followed by a warm click of the same channel (its stream still running in
the hub's grace period); then one tile, then four tiles, sampled for `--seconds` each. It prints figures
and the machine and asserts nothing: figures go to docs/benchmarks.md.

    .venv/bin/python bench/live_latency.py
    .venv/bin/python bench/live_latency.py --seconds 20 --clicks 4
"""

from __future__ import annotations

import argparse
import base64
import os
import platform as host_platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import psutil
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.processes import free_port  # noqa: E402
from tests.web.console import play, sign_in, signed_in, tile, wait_playing  # noqa: E402

from clearsight.sim.live_stream import LIVE_FPS, LIVE_HEIGHT, LIVE_WIDTH  # noqa: E402
from clearsight.sim.video import (  # noqa: E402
    GLYPH_HEIGHT,
    GLYPH_WIDTH,
    LiveEncoder,
    clock_text,
    glyph,
    overlay_layout,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
ADMIN_PASSWORD = "bench-admin-secret-1"
CLOCK_CHARS = 12  # HH:MM:SS.mmm, as `clock_text` writes it
CLOCK_ALPHABET = "0123456789:."
CLOCK_PATTERN = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)")
MAX_CELL_MISMATCH = 0.08  # a cell differing from its nearest template in more of its pixels is unreadable
MIN_CONTRAST = 96  # luma levels between the box's darkest and brightest pixel: less is no text
DAY_MS = 86_400_000
FRAME_MS = 1000 / LIVE_FPS
SERIES_WINDOW_S = 2.0  # the buffered-ahead time series: one median per this many seconds
SETTLE_S = 3.0  # after the tiles play, before sampling: the player's first jump to the live edge is done
FIRST_FRAMES_WITHIN_S = 15.0


class UnreadableClock(Exception):
    """The crop holds no clock this reader is sure of."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ClockReading:
    text: str
    ms_of_day: int
    worst_mismatch: float  # of the 12 cells, the largest fraction of pixels off the template chosen


class ClockReader:
    """Reads the burnt-in clock from the luma of its text box (row-major, one byte a pixel)."""

    def __init__(self, width: int, height: int) -> None:
        layout = overlay_layout(width, height)
        self.scale = layout.scale
        self.box = layout.text_box(layout.clock_origin, CLOCK_CHARS)  # x, y, width, height
        self.cell_width, self.cell_height = (GLYPH_WIDTH + 2) * self.scale, (GLYPH_HEIGHT + 2) * self.scale
        self._templates = {char: self._template(char) for char in CLOCK_ALPHABET}

    def _template(self, char: str) -> int:
        """The cell as bits (1 = ink), row-major: the glyph in a blank font pixel, each scale x scale pixels."""
        blank = "0" * (GLYPH_WIDTH + 2)
        rows = [blank, *(f"0{row}0" for row in glyph(char)), blank]
        return int("".join("".join(cell * self.scale for cell in row) * self.scale for row in rows), 2)

    def read(self, luma: bytes) -> ClockReading:
        box_width, box_height = self.box[2], self.box[3]
        if len(luma) != box_width * box_height:
            raise UnreadableClock(f"crop of {len(luma)} bytes, not {box_width}x{box_height}")
        low, high = min(luma), max(luma)
        if high - low < MIN_CONTRAST:
            raise UnreadableClock(f"no text: contrast {high - low}")
        threshold = (low + high) // 2
        chars, worst = [], 0.0
        for index in range(CLOCK_CHARS):
            x0 = index * (GLYPH_WIDTH + 1) * self.scale  # cells share their blank border column
            cell = int("".join("1" if luma[row * box_width + x] > threshold else "0"
                               for row in range(self.cell_height) for x in range(x0, x0 + self.cell_width)), 2)
            distance, char = min(((cell ^ bits).bit_count(), c) for c, bits in self._templates.items())
            mismatch = distance / (self.cell_width * self.cell_height)
            if mismatch > MAX_CELL_MISMATCH:
                raise UnreadableClock(f"cell {index}: nearest {char!r} with {mismatch:.0%} of pixels off")
            chars.append(char)
            worst = max(worst, mismatch)
        text = "".join(chars)
        match = CLOCK_PATTERN.fullmatch(text)
        if match is None:
            raise UnreadableClock(f"read {text!r}: not a clock")
        hours, minutes, seconds, millis = (int(g) for g in match.groups())
        if hours > 23 or minutes > 59 or seconds > 59:
            raise UnreadableClock(f"read {text!r}: not a time of day")
        return ClockReading(text, ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis, worst)


def rgb_luma(rgb: bytes, stride: int, box: tuple[int, int, int, int]) -> bytes:
    """The box of an RGB24 picture as luma, computed as the page does ((77R + 150G + 29B) >> 8)."""
    x, y, width, height = box
    out = bytearray()
    for row in range(y, y + height):
        line = rgb[row * stride + 3 * x : row * stride + 3 * (x + width)]
        out += bytes((77 * line[i] + 150 * line[i + 1] + 29 * line[i + 2]) >> 8 for i in range(0, len(line), 3))
    return bytes(out)


def validate_reader(frames: int) -> tuple[int, int, int, float, list[float]]:
    """Encode test pictures with known clocks, decode them with PyAV and read them back.

    Returns (decoded, read, exact, worst cell mismatch, render+encode seconds of each picture).
    """
    reader = ClockReader(LIVE_WIDTH, LIVE_HEIGHT)
    encoder = LiveEncoder(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS)
    decoder = av.CodecContext.create("h264", "r")
    start = datetime(2026, 3, 1, 23, 59, 50, tzinfo=UTC)  # crosses midnight
    expected: list[str] = []
    costs: list[float] = []
    decoded = read = exact = 0
    worst = 0.0
    for index in range(frames):
        now = start + timedelta(milliseconds=index * 40 + (index * 7919) % 40)  # every millisecond digit
        expected.append(clock_text(now))
        began = time.perf_counter()
        coded = encoder.encode_test_picture(channel_name="Camera 1-1", now=now, marker=(index * 3.0, 0.0))
        costs.append(time.perf_counter() - began)
        last = index == frames - 1
        packets = [p for unit in coded + (encoder.flush() if last else []) for p in decoder.parse(unit.data)]
        packets += decoder.parse(None) if last else []  # the parser holds the last unit until told the end
        for packet in packets + ([None] if last else []):  # None drains the decoder
            for picture in decoder.decode(packet):
                rgb = picture.to_rgb()
                decoded += 1
                try:
                    reading = reader.read(rgb_luma(bytes(rgb.planes[0]), rgb.planes[0].line_size, reader.box))
                except UnreadableClock:
                    continue
                read += 1
                worst = max(worst, reading.worst_mismatch)
                exact += reading.text == expected[decoded - 1]
    return decoded, read, exact, worst, costs


# In every page before its own scripts. `__clockLuma(video, box)`: the shown frame drawn onto a canvas, the box's
# luma as base64. `__arrivals`: each fMP4 fragment's arrival (wall clock) and decode time (tfdt) per WebSocket.
PAGE_INIT_JS = """(() => {
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  window.__clockLuma = (video, [x, y, w, h]) => {
    if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    }
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const rgba = context.getImageData(x, y, w, h).data;
    let luma = '';
    for (let i = 0; i < rgba.length; i += 4) {
      luma += String.fromCharCode((77 * rgba[i] + 150 * rgba[i + 1] + 29 * rgba[i + 2]) >> 8);
    }
    return btoa(luma);
  };
  const log = (window.__arrivals = { fragments: [], timescales: {} });
  const find = (bytes, [a, b, c, d]) => {
    for (let i = 4; i + 4 <= bytes.length; i++) {
      if (bytes[i] === a && bytes[i + 1] === b && bytes[i + 2] === c && bytes[i + 3] === d) return i;
    }
    return -1;
  };
  const [MOOV, MDHD, TFDT] = ['moov', 'mdhd', 'tfdt'].map((t) => [...t].map((ch) => ch.charCodeAt(0)));
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const url = new URL(String(args[0]), window.location.href).pathname;
      this.addEventListener('message', (event) => {
        if (typeof event.data === 'string') return;
        const at = Date.now(), bytes = new Uint8Array(event.data), view = new DataView(event.data);
        const mdhd = find(bytes, MDHD);
        if (mdhd > 0 && find(bytes, MOOV) > 0) {
          log.timescales[url] = view.getUint32(mdhd + (bytes[mdhd + 4] === 1 ? 24 : 16));
          return;
        }
        const tfdt = find(bytes, TFDT);
        if (tfdt < 0) return;
        const dts = bytes[tfdt + 4] === 1 ? Number(view.getBigUint64(tfdt + 8)) : view.getUint32(tfdt + 8);
        log.fragments.push({ url, at, dts });
      });
    }
  };
})();"""

# On a tile's <video>: for every frame callback, the frame's times, the buffer ahead of it and its clock box.
SAMPLER_JS = """([index, box]) => {
  const tileElement = document.querySelector(`.tile[data-index='${index}']`);
  const video = tileElement.querySelector('video');
  const store = window.__glass;
  const onFrame = (now, meta) => {
    if (store.stopped) return;
    const wall = Date.now(), perf = performance.now(), b = video.buffered;
    store.samples.push({
      tile: index, channel: tileElement.dataset.channelId, media: meta.mediaTime, presented: meta.presentedFrames,
      expected: wall + meta.expectedDisplayTime - perf, callback: wall + now - perf,
      ahead: (b.length ? b.end(b.length - 1) : meta.mediaTime) - meta.mediaTime,
      width: video.videoWidth, height: video.videoHeight, luma: window.__clockLuma(video, box),
    });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""

# Armed before a click in the tree: the click's time, the tile's first two frames, when the tile says live.
CLICK_PROBE_JS = """([index, box]) => {
  const tileElement = document.querySelector(`.tile[data-index='${index}']`);
  const video = tileElement.querySelector('video');
  const probe = (window.__click = { click: null, frames: [], live: null });
  window.__clickListener?.abort();
  window.__clickListener = new AbortController();
  document.addEventListener('click', (e) => {
    if (probe.click === null && e.target.closest('.tree__row--channel')) probe.click = e.timeStamp;
  }, { capture: true, signal: window.__clickListener.signal });
  const observer = new MutationObserver(() => {
    if (tileElement.dataset.state !== 'live') return;
    probe.live = performance.now();
    observer.disconnect();
  });
  observer.observe(tileElement, { attributes: true, attributeFilter: ['data-state'] });
  const onFrame = (now, meta) => {
    const wall = Date.now(), perf = performance.now();
    probe.frames.push({ shown: meta.expectedDisplayTime, wall: wall + meta.expectedDisplayTime - perf,
                        luma: window.__clockLuma(video, box) });
    if (probe.frames.length < 2) video.requestVideoFrameCallback(onFrame);
  };
  // The load the player starts (src = its MediaSource) drops callbacks asked for before it.
  video.addEventListener('loadstart', () => video.requestVideoFrameCallback(onFrame), { once: true });
}"""

QUALITY_JS = """(tiles) => tiles.map((i) => {
  const q = document.querySelector(`.tile[data-index='${i}'] video`).getVideoPlaybackQuality();
  return [q.droppedVideoFrames, q.totalVideoFrames];
})"""


@dataclass
class DemoProcess:
    """`clearsight demo` on free loopback ports with its own data dir; TZ=UTC, so the burnt-in clocks are UTC."""

    data_dir: Path
    devices: int
    channels: int
    http_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "demo.log"

    def start(self, timeout: float = 60.0) -> None:
        self.http_port, sip_port = free_port(), free_port()
        env = dict(os.environ) | {
            "CLEARSIGHT_DATA_DIR": str(self.data_dir), "CLEARSIGHT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CLEARSIGHT_HTTP_PORT": str(self.http_port), "CLEARSIGHT_SIP_PORT": str(sip_port), "TZ": "UTC"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "clearsight.cli", "--log-level", "WARNING", "demo",
                 "--devices", str(self.devices), "--channels", str(self.channels),
                 "--http-port", str(self.http_port), "--sip-port", str(sip_port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"demo exited with {self.proc.returncode}:\n{self.log()}")
            if "Clearsight demo is running" in self.log() and self._channels_known():
                return
            time.sleep(0.2)
        raise RuntimeError(f"demo not ready in {timeout} s:\n{self.log()}")

    def _channels_known(self) -> bool:
        try:
            token = httpx.post(f"{self.base_url}/api/v1/auth/token", timeout=5,
                               data={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
            listed = httpx.get(f"{self.base_url}/api/v1/channels", headers={"Authorization": f"Bearer {token}"},
                               timeout=5).json()
        except (httpx.HTTPError, KeyError):
            return False
        return int(listed.get("total", 0)) >= self.devices * self.channels

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_ms(epoch_ms: float, burnt_ms_of_day: int) -> float:
    """A wall-clock instant minus a burnt-in time of day, both UTC, across midnight."""
    return (epoch_ms % DAY_MS - burnt_ms_of_day + DAY_MS / 2) % DAY_MS - DAY_MS / 2


@dataclass
class RunFigures:
    callbacks: int  # frame callbacks sampled, all tiles
    seconds: float
    unreadable: int = 0
    worst_mismatch: float = 0.0
    latencies: list[float] = field(default_factory=list)  # expected display time - burnt-in time, ms
    callback_latencies: list[float] = field(default_factory=list)  # Date.now() in the callback - burnt-in, ms
    ahead_ms: list[float] = field(default_factory=list)  # buffered.end - mediaTime of the shown frame
    to_arrival_ms: list[float] = field(default_factory=list)  # burnt-in → its fragment arrives in the page
    arrival_to_shown_ms: list[float] = field(default_factory=list)  # that arrival → expected display time
    per_tile_p50: dict[int, float] = field(default_factory=dict)
    pacing_jitter_ms: dict[int, float] = field(default_factory=dict)  # p95 - p5 of (burnt-in - media time)
    ahead_series: dict[int, list[float]] = field(default_factory=dict)  # median ahead per window, per tile
    presented: int = 0  # frames the compositor presented (metadata.presentedFrames), all tiles
    dropped: int = 0  # getVideoPlaybackQuality over the run, all tiles
    decoded: int = 0
    cpu_demo: float = 0.0  # % of one core
    cpu_browser: float = 0.0
    cpu_machine: float = 0.0  # % of all cores busy, whoever used them


def analyse(samples: list[dict[str, Any]], arrivals: dict[str, Any], reader: ClockReader,
            seconds: float) -> RunFigures:
    """Read every sample's clock; match it with its fragment's arrival by channel and decode time."""
    arrived: dict[tuple[str, int], float] = {}
    for fragment in arrivals["fragments"]:
        arrived.setdefault((fragment["url"], fragment["dts"]), fragment["at"])
    figures = RunFigures(len(samples), seconds)
    offsets: dict[int, list[float]] = {}
    per_tile: dict[int, list[float]] = {}
    presented: dict[int, list[int]] = {}
    windows: dict[int, dict[int, list[float]]] = {}
    first = min((sample["expected"] for sample in samples), default=0.0)
    for sample in samples:
        index = sample["tile"]
        presented.setdefault(index, []).append(sample["presented"])
        window = int((sample["expected"] - first) / 1000 / SERIES_WINDOW_S)
        windows.setdefault(index, {}).setdefault(window, []).append(1000 * sample["ahead"])
        try:
            if (sample["width"], sample["height"]) != (LIVE_WIDTH, LIVE_HEIGHT):
                raise UnreadableClock(f"picture {sample['width']}x{sample['height']}")
            reading = reader.read(base64.b64decode(sample["luma"]))
        except UnreadableClock:
            figures.unreadable += 1
            continue
        figures.worst_mismatch = max(figures.worst_mismatch, reading.worst_mismatch)
        latency = latency_ms(sample["expected"], reading.ms_of_day)
        figures.latencies.append(latency)
        figures.callback_latencies.append(latency_ms(sample["callback"], reading.ms_of_day))
        figures.ahead_ms.append(1000 * sample["ahead"])
        offsets.setdefault(index, []).append(reading.ms_of_day - 1000 * sample["media"])
        per_tile.setdefault(index, []).append(latency)
        url = f"/api/v1/live/{sample['channel']}/ws"
        dts = round(sample["media"] * arrivals["timescales"].get(url, 90_000))
        at = next((arrived[(url, d)] for d in (dts, dts - 1, dts + 1) if (url, d) in arrived), None)
        if at is not None:
            figures.to_arrival_ms.append(latency_ms(at, reading.ms_of_day))
            figures.arrival_to_shown_ms.append(sample["expected"] - at)
    figures.presented = sum(max(v) - min(v) + 1 for v in presented.values())
    figures.per_tile_p50 = {t: percentile(v, 0.5) for t, v in per_tile.items()}
    figures.pacing_jitter_ms = {t: percentile(v, 0.95) - percentile(v, 0.05) for t, v in offsets.items()}
    figures.ahead_series = {t: [percentile(w[k], 0.5) for k in sorted(w)] for t, w in windows.items()}
    return figures


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def sample_tiles(page: Page, tiles: list[int], seconds: float, reader: ClockReader, demo: psutil.Process) -> RunFigures:
    """Sample the tiles' frames for `seconds`, with the CPU the demo, Chromium and the whole machine used."""
    page.evaluate("() => { window.__glass = { samples: [], stopped: false }; window.__arrivals.fragments = []; }")
    browser = [p for p in psutil.Process().children(recursive=True) if "chromium" in p.name()]
    quality_before = page.evaluate(QUALITY_JS, tiles)
    psutil.cpu_percent()
    cpu_demo, cpu_browser, began = cpu_seconds([demo]), cpu_seconds(browser), time.monotonic()
    for index in tiles:
        page.evaluate(SAMPLER_JS, [index, list(reader.box)])
    time.sleep(seconds)
    samples = page.evaluate("() => { window.__glass.stopped = true; return window.__glass.samples; }")
    wall = time.monotonic() - began
    cpu_demo, cpu_browser = cpu_seconds([demo]) - cpu_demo, cpu_seconds(browser) - cpu_browser
    cpu_machine = psutil.cpu_percent()
    quality_after = page.evaluate(QUALITY_JS, tiles)
    figures = analyse(samples, page.evaluate("() => window.__arrivals"), reader, wall)
    figures.dropped = sum(a[0] - b[0] for a, b in zip(quality_after, quality_before, strict=True))
    figures.decoded = sum(a[1] - b[1] for a, b in zip(quality_after, quality_before, strict=True))
    figures.cpu_demo, figures.cpu_browser = 100 * cpu_demo / wall, 100 * cpu_browser / wall
    figures.cpu_machine = cpu_machine
    return figures


@dataclass(frozen=True, slots=True)
class ClickFigures:
    first_frame_ms: float  # click → first frame's expected display time
    moving_ms: float  # click → second frame's
    live_state_ms: float  # click → the tile's state says live
    first_frame_age_ms: float  # the first frame's own glass-to-glass latency


def click_to_first_frame(page: Page, channel: str, reader: ClockReader) -> ClickFigures:
    page.evaluate(CLICK_PROBE_JS, [0, list(reader.box)])
    play(page, channel, 0)
    within = FIRST_FRAMES_WITHIN_S * 1000
    page.wait_for_function("() => window.__click.frames.length >= 2 && window.__click.click !== null", timeout=within)
    page.wait_for_function("() => window.__click.live !== null", timeout=within)
    probe: dict[str, Any] = page.evaluate("() => window.__click")
    first, second = probe["frames"]
    try:
        age = latency_ms(first["wall"], reader.read(base64.b64decode(first["luma"])).ms_of_day)
    except UnreadableClock:
        age = float("nan")
    return ClickFigures(first["shown"] - probe["click"], second["shown"] - probe["click"],
                        probe["live"] - probe["click"], age)


def close_tile(page: Page, index: int) -> None:
    target = tile(page, index)
    target.hover()
    target.locator(".tile__tool--close").click()
    page.wait_for_function("(t) => t.dataset.state === 'empty'", arg=target.element_handle())


def set_layout(page: Page, cells: int) -> None:
    page.click(f".layout-switch__button[data-layout='{cells}']")
    page.wait_for_function("(n) => document.querySelectorAll('.tile').length === n", arg=cells)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), host_platform.processor())
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"{host_platform.system()} {host_platform.release()}, Python {host_platform.python_version()}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(values: list[float]) -> str:
    return (f"p50 {percentile(values, 0.5):.0f} ms, p95 {percentile(values, 0.95):.0f} ms, "
            f"p99 {percentile(values, 0.99):.0f} ms, max {max(values, default=float('nan')):.0f} ms")


def print_clicks(name: str, clicks: list[ClickFigures]) -> None:
    def series(values: list[float]) -> str:
        return ", ".join(f"{v:.0f}" for v in values) + " ms"

    print(f"click → first frame shown, {name}: {series([c.first_frame_ms for c in clicks])}; "
          f"→ second frame (moving): {series([c.moving_ms for c in clicks])}; "
          f"→ tile says live: {series([c.live_state_ms for c in clicks])}; "
          f"the first frame's own latency: {series([c.first_frame_age_ms for c in clicks])}")


def print_run(name: str, figures: RunFigures) -> None:
    lat = figures.latencies
    print(f"\n{name}: {figures.callbacks} frame callbacks in {figures.seconds:.1f} s "
          f"({figures.callbacks / figures.seconds:.1f}/s; presented {figures.presented}, "
          f"decoded {figures.decoded}, dropped {figures.dropped}); {len(lat)} clocks read, "
          f"{figures.unreadable} unreadable, worst cell mismatch {figures.worst_mismatch:.1%}")
    print(f"  glass to glass (expected display time - burnt-in): {spread(lat)}, "
          f"min {min(lat, default=float('nan')):.0f} ms")
    print(f"  the same at the frame callback (Date.now()): {spread(figures.callback_latencies)}")
    print(f"  burnt-in → its fragment's WebSocket message in the page: {spread(figures.to_arrival_ms)} "
          f"({len(figures.to_arrival_ms)} frames matched)")
    print(f"  WebSocket message → frame shown: {spread(figures.arrival_to_shown_ms)}")
    print(f"  buffered ahead of the shown frame (buffered.end - mediaTime; includes the last frame's "
          f"{FRAME_MS:.0f} ms): {spread(figures.ahead_ms)}")
    print("  per tile p50: " + ", ".join(f"tile {t} {v:.0f} ms" for t, v in sorted(figures.per_tile_p50.items()))
          + "; sender pacing jitter (p95 - p5 of burnt-in minus media time): "
          + ", ".join(f"{v:.0f} ms" for _, v in sorted(figures.pacing_jitter_ms.items())))
    for index, series in sorted(figures.ahead_series.items()):
        print(f"  tile {index} buffered ahead, median per {SERIES_WINDOW_S:.0f} s: "
              + " ".join(f"{v:.0f}" for v in series) + " ms")
    print(f"  CPU: demo (platform + simulators) {figures.cpu_demo:.0f} % of one core, Chromium "
          f"{figures.cpu_browser:.0f} %, machine {figures.cpu_machine:.0f} % of all cores busy; "
          f"load average now {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="sampling time per run (default 20)")
    parser.add_argument("--clicks", type=int, default=4, help="cold clicks, each on a fresh channel (default 4)")
    parser.add_argument("--validate-frames", type=int, default=250, help="offline clock-reader check (default 250)")
    args = parser.parse_args()

    print(f"machine: {machine()}; load average {load()}")
    decoded, read, exact, worst, costs = validate_reader(args.validate_frames)
    print(f"clock reader, offline (render → libx264 → PyAV decode → RGB → read): {args.validate_frames} encoded, "
          f"{decoded} decoded, {read} read, {exact} exact; worst cell mismatch {worst:.1%}")
    print(f"simulator render + encode of one {LIVE_WIDTH}x{LIVE_HEIGHT} picture (here, one thread): "
          f"p50 {1000 * percentile(costs, 0.5):.1f} ms, p99 {1000 * percentile(costs, 0.99):.1f} ms")
    reader = ClockReader(LIVE_WIDTH, LIVE_HEIGHT)
    devices, channels = 2, max(4, args.clicks)  # device 2's channels for the clicks, device 1's for the runs
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        demo = DemoProcess(Path(tmp), devices, channels)
        demo.start()
        assert demo.proc is not None
        demo_process = psutil.Process(demo.proc.pid)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            print(f"Chromium {browser.version} (headless, software compositing); demo: {devices} devices x "
                  f"{channels} channels, {LIVE_WIDTH}x{LIVE_HEIGHT} H.264 at {LIVE_FPS} fps over UDP")
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(PAGE_INIT_JS)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, demo.base_url, "admin", ADMIN_PASSWORD)
            signed_in(page)
            set_layout(page, 1)
            cold, warm = [], []
            for channel in (f"Camera 2-{n + 1}" for n in range(args.clicks)):
                cold.append(click_to_first_frame(page, channel, reader))
                close_tile(page, 0)
                warm.append(click_to_first_frame(page, channel, reader))
                close_tile(page, 0)
            print_clicks("cold (new INVITE)", cold)
            print_clicks("warm (stream in its grace period)", warm)

            wait_playing(play(page, "Camera 1-1", 0), within=FIRST_FRAMES_WITHIN_S)
            time.sleep(SETTLE_S)
            print_run("1 tile", sample_tiles(page, [0], args.seconds, reader, demo_process))
            close_tile(page, 0)

            set_layout(page, 4)
            for index in range(4):
                play(page, f"Camera 1-{index + 1}", index)
            for index in range(4):
                wait_playing(tile(page, index), within=FIRST_FRAMES_WITHIN_S)
            time.sleep(SETTLE_S)
            print_run("4 tiles", sample_tiles(page, [0, 1, 2, 3], args.seconds, reader, demo_process))
        finally:
            browser.close()
            demo.stop()


if __name__ == "__main__":
    main()
