"""The whole path on the real platform: a simulated camera recorded continuously, an export requested over
HTTP, built, downloaded, checked by `clearsight verify-export` as a process, and a tampered copy refused."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from clearsight.recording.records import SegmentState
from tests.export.tampering import flip_byte_in_entry
from tests.recording.platform_stack import CHANNEL_GB_IDS, RecordingStack, eventually, recording_stack

pytestmark = pytest.mark.integration

SEGMENT_SECONDS = 2
GOP_SECONDS = 1.0  # the simulator's encoder: a keyframe every second


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    async with recording_stack(tmp_path / "platform", recording_default="continuous",
                               recording_segment_seconds=SEGMENT_SECONDS, live_grace_period=1) as running:
        yield running


def _verify(path: Path, fingerprint: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clearsight.cli", "verify-export", str(path), "--fingerprint",
                           fingerprint], capture_output=True, text=True, timeout=60, check=False)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_recorded_video_exported_over_http_verifies_and_tampering_is_caught(stack: RecordingStack,
                                                                                  tmp_path: Path) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    since = datetime.now(UTC) - timedelta(minutes=1)

    async def complete_segments() -> list[Any]:
        segments = await stack.recordings.store.segments_between(pk, since, datetime.now(UTC) + timedelta(minutes=1))
        return [s for s in segments if s.state is SegmentState.COMPLETE]

    async def three_closed() -> bool:
        return len(await complete_segments()) >= 3

    await eventually(three_closed, 40, "three closed segments")
    segments = await complete_segments()
    start = segments[0].start_at + timedelta(seconds=0.5)
    end = segments[2].end_at - timedelta(seconds=0.5)

    async with stack.client() as client:
        response = await client.post("/api/v1/exports", json={
            "channels": [pk], "start": start.isoformat(), "end": end.isoformat(), "reason": "round trip"})
        assert response.status_code == 202, response.text
        export_id = response.json()["id"]

        async def finished() -> bool:
            state = (await client.get(f"/api/v1/exports/{export_id}")).json()["state"]
            return bool(state in ("done", "failed"))

        await eventually(finished, 60, "the export is built")
        export = (await client.get(f"/api/v1/exports/{export_id}")).json()
        assert export["state"] == "done", export
        package = (await client.get(export["download_url"])).content
        fingerprint = (await client.get("/api/v1/exports/signing-key")).json()["fingerprint"]
    path = tmp_path / f"clearsight-export-{export_id}.zip"
    path.write_bytes(package)

    result = await asyncio.to_thread(_verify, path, fingerprint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "by admin" in result.stdout and "reason: round trip" in result.stdout

    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [entry] = manifest["files"]
        clip = archive.read(entry["name"])
    assert entry["gb_id"] == CHANNEL_GB_IDS[0] and manifest["platform_id"] == stack.platform.settings.platform_id
    covered_start, covered_end = _instant(entry["covered"]["start"]), _instant(entry["covered"]["end"])
    assert start - timedelta(seconds=GOP_SECONDS + 0.1) <= covered_start <= start
    assert end - timedelta(seconds=0.1) <= covered_end <= end + timedelta(seconds=0.1)
    assert entry["gaps"] == [] and {s["integrity"] for s in entry["sources"]} == {"verified"}
    with av.open(io.BytesIO(clip), format="mp4") as container:
        frames = list(container.decode(video=0))
    assert len(frames) == entry["frames"] and frames[0].key_frame
    assert abs(float(frames[-1].time) - (covered_end - covered_start).total_seconds()) < 0.2

    flip_byte_in_entry(path, entry["name"])
    result = await asyncio.to_thread(_verify, path, fingerprint)
    assert result.returncode == 1 and f"  {entry['name']}: SHA-256 differs from the manifest" in result.stdout
