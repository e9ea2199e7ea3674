"""Snapshots and thumbnails: masked for a caller without `lift_mask`, as recorded for one with it.

The JPEGs are decoded and their luma inside the polygon checked (full-range JPEG: the fill is 0).
"""

from __future__ import annotations

from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt

from tests.api.session import assert_problem, bearer
from tests.privacy.platform import LIVE_HEIGHT, LIVE_WIDTH, PrivacyPlatform
from tests.privacy.test_api import WINDOW

JPEG_BLACK_MAX = 12  # the fill is luma 0; JPEG ringing at the block edges stays below this
INSET = 8  # pixels kept clear of the polygon's edges when sampling its inside


def _luma(jpeg: bytes) -> npt.NDArray[np.uint8]:
    decoder = av.CodecContext.create("mjpeg", "r")
    pictures: list[Any] = [*decoder.decode(av.Packet(jpeg)), *decoder.decode(None)]
    assert len(pictures) == 1
    picture = pictures[0]
    plane = picture.planes[0]
    flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
    return flat[: picture.height * plane.line_size].reshape(picture.height, plane.line_size)[:, :picture.width]


def _window_inside(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = luma.shape
    (x0, y0), (x1, y1) = WINDOW[0], WINDOW[2]
    return luma[round(y0 * height) + INSET: round(y1 * height) - INSET, round(x0 * width) + INSET:
                round(x1 * width) - INSET]


def _left_half(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return luma[:, : luma.shape[1] // 2 - INSET]  # far from the window (x 0.6..0.9)


async def _add_window(client: httpx.AsyncClient, channel_id: int, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/channels/{channel_id}/privacy-masks",
                                 headers=await bearer(client, "manager"),
                                 json={"name": "window", "polygon": WINDOW} | body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _snapshot(client: httpx.AsyncClient, user: str, channel_id: int) -> npt.NDArray[np.uint8]:
    response = await client.get(f"/api/v1/channels/{channel_id}/snapshot", headers=await bearer(client, user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    luma = _luma(response.content)
    assert luma.shape == (LIVE_HEIGHT, LIVE_WIDTH)
    return luma


async def test_a_snapshot_is_masked_unless_the_caller_may_lift_masks(client: httpx.AsyncClient,
                                                                     platform: PrivacyPlatform) -> None:
    channel = platform.channel_id
    before = await _snapshot(client, "oper", channel)
    assert _window_inside(before).mean() > 60  # the picture has content there (a gradient, mean ~128)
    mask = await _add_window(client, channel)

    masked = await _snapshot(client, "oper", channel)
    assert _window_inside(masked).max() <= JPEG_BLACK_MAX
    assert np.abs(_left_half(masked).astype(int) - _left_half(before).astype(int)).mean() < 4

    for lifter in ("lifter", "admin"):
        lifted = await _snapshot(client, lifter, channel)
        assert _window_inside(lifted).mean() > 60, lifter

    snapshots = [e for e in platform.audit.entries if e.action == "snapshot"]
    assert [(e.actor, e.details["privacy_masks"], e.details["masks_lifted"]) for e in snapshots] == [
        ("oper", [], False), ("oper", [mask["id"]], False), ("lifter", [mask["id"]], True),
        ("admin", [mask["id"]], True)]


async def test_a_disabled_mask_is_not_applied(client: httpx.AsyncClient, platform: PrivacyPlatform) -> None:
    await _add_window(client, platform.channel_id, enabled=False)
    assert _window_inside(await _snapshot(client, "oper", platform.channel_id)).mean() > 60


async def test_thumbnails_are_masked_when_read_by_a_caller_without_lift(client: httpx.AsyncClient,
                                                                        platform: PrivacyPlatform) -> None:
    url = f"/api/v1/channels/{platform.channel_id}/thumbnails?at=2026-05-01T12:00:00Z"
    stored = _luma(platform.thumbnails.jpeg)
    assert _window_inside(stored).mean() > 60
    await _add_window(client, platform.channel_id)  # added after the thumbnail was stored

    masked = await client.get(url, headers=await bearer(client, "oper"))
    assert masked.status_code == 200, masked.text
    luma = _luma(masked.content)
    assert luma.shape == stored.shape and _window_inside(luma).max() <= JPEG_BLACK_MAX
    assert np.abs(_left_half(luma).astype(int) - _left_half(stored).astype(int)).mean() < 4
    assert masked.headers["X-Thumbnail-At"].startswith("2026-05-01T12:00:00")
    assert masked.headers["Cache-Control"] == "no-store"  # a browser may not keep it past a mask change

    lifted = await client.get(url, headers=await bearer(client, "lifter"))
    assert lifted.content == platform.thumbnails.jpeg  # as stored: nothing to burn in
    assert lifted.headers["Cache-Control"] == "no-store"  # nor to be shown later to another user of the browser
    player = await client.get(url, headers=await bearer(client, "player"))  # playback, no lift
    assert _window_inside(_luma(player.content)).max() <= JPEG_BLACK_MAX


async def test_a_thumbnail_that_cannot_be_masked_is_not_handed_out(client: httpx.AsyncClient,
                                                                   platform: PrivacyPlatform) -> None:
    await _add_window(client, platform.channel_id)
    platform.thumbnails.jpeg = b"\xff\xd8 not a picture"
    url = f"/api/v1/channels/{platform.channel_id}/thumbnails?at=2026-05-01T12:00:00Z"
    assert_problem(await client.get(url, headers=await bearer(client, "oper")), 502)
