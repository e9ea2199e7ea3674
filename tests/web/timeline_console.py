"""Driving a tile's timeline in a Playwright page: the page's local days, clicking and hovering spans of the bar,
reading the playback position the tile shows."""

from __future__ import annotations

import time
from datetime import datetime

from playwright.sync_api import Locator, Page

from tests.web.console import video_time


def local_date(page: Page, days_back: int = 0) -> str:
    """'YYYY-MM-DD' of the browser's local day `days_back` days ago (an <input type=date> value)."""
    value: str = page.evaluate("(back) => { const d = new Date(); d.setDate(d.getDate() - back); "
                               "return d.toLocaleDateString('sv'); }", days_back)
    return value


def local_midnight(page: Page, days_back: int = 0) -> datetime:
    """The start of the browser's local day `days_back` days ago."""
    iso: str = page.evaluate("(back) => { const d = new Date(); d.setHours(0, 0, 0, 0); "
                             "d.setDate(d.getDate() - back); return d.toISOString(); }", days_back)
    return datetime.fromisoformat(iso)


def point_in(track: Locator, span: Locator, fraction: float = 0.5) -> dict[str, float]:
    """The position on `track` at `fraction` of `span`'s width (spans let the pointer through to the track)."""
    box, track_box = span.bounding_box(), track.bounding_box()
    assert box is not None and track_box is not None
    return {"x": box["x"] - track_box["x"] + box["width"] * fraction, "y": track_box["height"] / 2}


def position(tile: Locator) -> float:
    """The recorded instant the tile shows (epoch seconds)."""
    return datetime.fromisoformat(str(tile.get_attribute("data-position"))).timestamp()


def position_rate(tile: Locator, seconds: float) -> float:
    """Recorded seconds shown per wall-clock second, over `seconds`."""
    start, began = position(tile), time.monotonic()
    time.sleep(seconds)
    return (position(tile) - start) / (time.monotonic() - began)


def wait_video_advances(tile: Locator, *, advance: float = 1.0, within: float = 10.0) -> None:
    """Wait until the tile's video currentTime has moved on by `advance` s."""
    since = video_time(tile)
    deadline = time.monotonic() + within
    while video_time(tile) - since < advance:
        assert time.monotonic() < deadline, f"video time stuck at {video_time(tile)} (was {since})"
        time.sleep(0.1)
