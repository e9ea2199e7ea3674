"""Exports: requested over HTTP, built, downloaded, decoded. An exporter without `lift_mask` gets the masks
burnt in (re-encoded), one with it the recording as it is; the manifest names the masks by ID and polygon
hash, the audit entry says where masks were applied or lifted, and `clearsight verify-export` passes."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.privacy import polygon_digest, validate_polygon
from clearsight.signing import SigningKey
from tests.api.session import BASE_URL, bearer
from tests.export.conftest import T0
from tests.export.held_builds import hold_builds
from tests.export.recordings import HEIGHT, WIDTH
from tests.privacy.platform import PrivacyPlatform, privacy_platform
from tests.privacy.test_api import WINDOW
from tests.recording.platform_stack import eventually

POLL_TIMEOUT = 90.0
LUMA_BLACK_MAX = 24  # the fill is limited-range black (16); H.264 at CRF 20 keeps a flat area within a few steps
INSET = 4  # pixels kept clear of the polygon's edges when sampling its inside


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    plane = frame.planes[0]
    flat = np.frombuffer(memoryview(plane), dtype=np.uint8)
    return flat[: frame.height * plane.line_size].reshape(frame.height, plane.line_size)[:, :frame.width]


def _inside(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    (x0, y0), (x1, y1) = WINDOW[0], WINDOW[2]
    return luma[round(y0 * HEIGHT) + INSET: round(y1 * HEIGHT) - INSET,
                round(x0 * WIDTH) + INSET: round(x1 * WIDTH) - INSET]


def _far_outside(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return luma[:, : round(WINDOW[0][0] * WIDTH) - 3 * INSET]


async def _export(client: httpx.AsyncClient, user: str, channel_id: int, folder: Path, **extra: Any) -> Path:
    """Request, wait for and download an export; returns the package's path."""
    headers = await bearer(client, user)
    response = await client.post("/api/v1/exports", headers=headers, json={
        "channels": [channel_id], "start": (T0 + timedelta(seconds=0.5)).isoformat(),
        "end": (T0 + timedelta(seconds=3.5)).isoformat(), "reason": f"case of {user}"} | extra)
    assert response.status_code == 202, response.text
    export_id = response.json()["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_TIMEOUT
    while (body := (await client.get(f"/api/v1/exports/{export_id}", headers=headers)).json())["state"] not in (
            "done", "failed"):
        assert loop.time() < deadline, f"export still {body['state']}"
        await asyncio.sleep(0.1)
    assert body["state"] == "done", body
    package = await client.get(body["download_url"], headers=headers)
    assert package.status_code == 200
    path = folder / f"clearsight-export-{export_id}.zip"
    path.write_bytes(package.content)
    return path


def _read(path: Path) -> tuple[dict[str, Any], list[Any]]:
    """The manifest and the decoded frames of its one clip."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [entry] = manifest["files"]
        clip = archive.read(entry["name"])
    with av.open(io.BytesIO(clip), format="mp4") as container:
        frames = list(container.decode(video=0))
    assert len(frames) == entry["frames"] > 0
    return manifest, frames


def _verify(path: Path, fingerprint: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clearsight.cli", "verify-export", str(path), "--fingerprint",
                           fingerprint], capture_output=True, text=True, timeout=60, check=False)


async def test_an_export_has_masks_burnt_in_unless_the_exporter_may_lift_them(
        client: httpx.AsyncClient, platform: PrivacyPlatform, tmp_path: Path) -> None:
    channel = platform.channel_id
    created = await client.post(f"/api/v1/channels/{channel}/privacy-masks", headers=await bearer(client, "oper"),
                                json={"name": "window", "polygon": WINDOW})
    mask = created.json()

    masked_path = await _export(client, "oper", channel, tmp_path)
    lifted_path = await _export(client, "lifter", channel, tmp_path)
    masked_manifest, masked = _read(masked_path)
    lifted_manifest, lifted = _read(lifted_path)

    assert len(masked) == len(lifted)
    for masked_frame, lifted_frame in zip(masked, lifted, strict=True):
        original, burnt = _luma(lifted_frame), _luma(masked_frame)
        assert _inside(original).mean() > 60  # the test picture has content behind the mask
        assert _inside(burnt).max() <= LUMA_BLACK_MAX
        assert np.abs(_far_outside(burnt).astype(int) - _far_outside(original).astype(int)).mean() < 4

    [masked_channel] = masked_manifest["channels"]
    expected_mask = {"id": mask["id"], "name": "window", "polygon": WINDOW,
                     "polygon_sha256": polygon_digest(validate_polygon(WINDOW))}
    assert masked_channel["privacy_masks"] == [expected_mask] and masked_channel["privacy_masks_lifted"] is False
    assert masked_manifest["files"][0]["privacy_masks"] == [mask["id"]]
    assert masked_manifest["files"][0]["codec"] == "h264" and masked_manifest["watermark"] is False
    [lifted_channel] = lifted_manifest["channels"]
    assert lifted_channel["privacy_masks"] == [expected_mask] and lifted_channel["privacy_masks_lifted"] is True
    assert lifted_manifest["files"][0]["privacy_masks"] == []
    assert expected_mask["polygon_sha256"] == mask["polygon_sha256"]

    creates = [e for e in platform.audit.entries if e.action == "export.create"]
    assert [(e.actor, e.details["masks_applied"], e.details["masks_lifted"]) for e in creates] == [
        ("oper", [channel], []), ("lifter", [], [channel])]

    fingerprint = (await client.get("/api/v1/exports/signing-key", headers=await bearer(client, "oper"))).json()
    for path in (masked_path, lifted_path):
        result = await asyncio.to_thread(_verify, path, fingerprint["fingerprint"])
        assert result.returncode == 0, result.stdout + result.stderr


async def test_masks_and_a_watermark_go_in_together(client: httpx.AsyncClient, platform: PrivacyPlatform,
                                                    tmp_path: Path) -> None:
    await client.post(f"/api/v1/channels/{platform.channel_id}/privacy-masks", headers=await bearer(client, "oper"),
                      json={"name": "window", "polygon": WINDOW})
    manifest, frames = _read(await _export(client, "oper", platform.channel_id, tmp_path, watermark=True))
    assert manifest["watermark"] is True and manifest["files"][0]["privacy_masks"] != []
    luma = _luma(frames[0])
    assert _inside(luma).max() <= LUMA_BLACK_MAX
    assert luma[: HEIGHT // 10, : WIDTH // 3].max() > 200  # the exporter line's white text, top left


async def test_a_channel_without_masks_is_exported_as_recorded(client: httpx.AsyncClient,
                                                              platform: PrivacyPlatform, tmp_path: Path) -> None:
    manifest, frames = _read(await _export(client, "oper", platform.channel_id, tmp_path))
    assert manifest["channels"][0]["privacy_masks"] == [] and manifest["files"][0]["privacy_masks"] == []
    assert manifest["channels"][0]["privacy_masks_lifted"] is False
    assert _inside(_luma(frames[0])).mean() > 60


async def test_masks_are_those_in_force_when_the_export_is_built(db_engine: AsyncEngine, tmp_path: Path,
                                                                 signing_key: SigningKey,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The lift right is decided at the request; the masks are read when the export is built, so one added
    while the export waited its turn still hides the area from an exporter who may not lift it."""
    release = hold_builds(monkeypatch, POLL_TIMEOUT)
    async with privacy_platform(db_engine, tmp_path, signing_key, exports_at_once=1) as platform:
        transport = httpx.ASGITransport(app=platform.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            oper = await bearer(client, "oper")

            def requested(count: int) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return len((await client.get("/api/v1/exports", headers=oper)).json()["items"]) >= count
                return check

            first = asyncio.create_task(_export(client, "oper", platform.channel_id, tmp_path))
            await eventually(requested(1), POLL_TIMEOUT, "the first export")  # holds the only slot
            second = asyncio.create_task(_export(client, "oper", platform.channel_id, tmp_path))
            await eventually(requested(2), POLL_TIMEOUT, "the second export")  # queued behind it, not planned
            response = await client.post(f"/api/v1/channels/{platform.channel_id}/privacy-masks", headers=oper,
                                         json={"name": "window", "polygon": WINDOW})
            assert response.status_code == 201
            release.set()
            await first
            manifest, frames = _read(await second)
    assert manifest["files"][0]["privacy_masks"] == [response.json()["id"]]
    assert all(_inside(_luma(frame)).max() <= LUMA_BLACK_MAX for frame in frames)
