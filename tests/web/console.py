"""Driving the operator console in a Playwright page: sign in, pick channels, read tiles and frames."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

# Draws the tile's <video> to a canvas and returns its size and the variance of its luma: a blank (black,
# grey, or not yet decoded) picture has a variance near zero.
FRAME_VARIANCE_JS = """(video) => {
  const width = video.videoWidth, height = video.videoHeight;
  if (!width || !height) return { width, height, variance: 0 };
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height).data;
  let sum = 0, squares = 0;
  const count = pixels.length / 4;
  for (let i = 0; i < pixels.length; i += 4) {
    const luma = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
    sum += luma; squares += luma * luma;
  }
  const mean = sum / count;
  return { width, height, variance: squares / count - mean * mean };
}"""
MIN_FRAME_VARIANCE = 100.0  # the test pictures have ramps and colour bars: thousands; a blank frame ~0


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-view button[type=submit]")


def signed_in(page: Page) -> None:
    page.wait_for_selector("#app-view:not([hidden]) .tree__row--channel", state="visible")


def channel_row(page: Page, name: str) -> Locator:
    return page.locator(".tree__row--channel", has=page.locator(".tree__name", has_text=name)).first


def tile(page: Page, index: int) -> Locator:
    return page.locator(f".tile[data-index='{index}']")


def play(page: Page, channel_name: str, tile_index: int = 0) -> Locator:
    """Select the tile, click the channel in the tree; returns the tile."""
    target = tile(page, tile_index)
    target.click(position={"x": 40, "y": 60})
    channel_row(page, channel_name).click()
    return target


def video_time(target: Locator) -> float:
    return float(target.locator("video").evaluate("(video) => video.currentTime"))


def wait_playing(target: Locator, *, within: float = 10.0, advance: float = 1.0) -> float:
    """Wait until the tile's video plays and its currentTime has advanced by `advance` s; returns the time."""
    _wait_state(target, "live", within)
    start = video_time(target)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        now = video_time(target)
        if now - start >= advance:
            return now
        time.sleep(0.1)
    raise AssertionError(f"video time stuck at {video_time(target)} (was {start})")


def frame_stats(target: Locator) -> dict[str, Any]:
    result: dict[str, Any] = target.locator("video").evaluate(FRAME_VARIANCE_JS)
    return result


def wait_failed(target: Locator, *, within: float = 15.0) -> str:
    """Wait for the tile to show a failure; returns the step it names."""
    _wait_state(target, "failed", within)
    return str(target.get_attribute("data-step"))


def _wait_state(target: Locator, state: str, within: float) -> None:
    try:
        target.page.wait_for_function("([tile, state]) => tile.dataset.state === state",
                                      arg=[target.element_handle(), state], timeout=within * 1000)
    except PlaywrightTimeoutError:
        shown = target.evaluate("(tile) => [tile.dataset.state, tile.dataset.step, tile.innerText]")
        raise AssertionError(f"tile not {state} within {within} s; state, step, text: {shown}") from None
