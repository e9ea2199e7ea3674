"""Recording on the real platform with a real simulator over loopback: continuous recording into indexed
segments, thumbnails, and gaps with their reasons when the device stops sending, hangs up or goes offline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from clearsight.recording.records import SegmentState
from tests.recording.platform_stack import CHANNEL_GB_IDS, DEVICE_ID, RecordingStack, eventually, recording_stack

pytestmark = pytest.mark.integration

SEGMENT_SECONDS = 2
MEDIA_TIMEOUT = 2.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    async with recording_stack(tmp_path / "platform", recording_default="continuous",
                               recording_segment_seconds=SEGMENT_SECONDS, recording_thumbnail_seconds=1,
                               media_timeout=MEDIA_TIMEOUT, live_grace_period=1) as running:
        yield running


def frames_of(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


async def test_continuous_recording_writes_segments_indexed_and_decodable(stack: RecordingStack) -> None:
    pks = [await stack.channel_pk(gb_id) for gb_id in CHANNEL_GB_IDS]
    store = stack.recordings.store
    now = datetime.now(UTC)

    async def three_segments_each() -> bool:
        for pk in pks:
            segments = await store.segments_between(pk, now - timedelta(minutes=5), now + timedelta(minutes=5))
            if sum(s.state is SegmentState.COMPLETE for s in segments) < 3:
                return False
        return True

    await eventually(three_segments_each, 30, "three closed segments of each channel")
    for pk, gb_id in zip(pks, CHANNEL_GB_IDS, strict=True):
        segments = [s for s in await store.segments_between(pk, now - timedelta(minutes=5), now + timedelta(minutes=5))
                    if s.state is SegmentState.COMPLETE]
        for segment in segments:
            assert segment.channel_gb_id == gb_id and segment.storage == "default" and segment.sha256
            assert segment.codec.startswith("avc1.") and segment.keyframes and segment.keyframes[0] == (
                segment.keyframes[0][0], 0)
            duration = (segment.end_at - segment.start_at).total_seconds()
            assert SEGMENT_SECONDS <= duration <= SEGMENT_SECONDS + 1.5  # closed at the next 1-second keyframe
            path = stack.storage_root / segment.path
            assert (await asyncio.to_thread(path.stat)).st_size == segment.size
            pictures = await asyncio.to_thread(frames_of, path)
            assert pictures[0].key_frame and pictures[0].width == 320
            assert abs(len(pictures) - duration * 25) <= 2
        timeline = await stack.timeline(pk)
        assert len(timeline["ranges"]) == 1 and timeline["gaps"] == [] and timeline["recording_now"]
    async with stack.client() as client:
        thumbnail = await client.get(f"/api/v1/channels/{pks[0]}/thumbnails",
                                     params={"at": datetime.now(UTC).isoformat()})
        status = (await client.get("/api/v1/recording/status")).json()
    assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"
    assert sorted(r["channel_id"] for r in status["recorders"]) == sorted(pks)
    assert all(r["state"] == "recording" for r in status["recorders"])
    # One INVITE per channel: the recorder holds the source open.
    assert len(stack.platform.hub.streams) == 2


async def _gap_with(stack: RecordingStack, pk: int, fragment: str, *, closed: bool, within: float) -> dict[str, object]:
    found: dict[str, object] = {}

    async def check() -> bool:
        for gap in (await stack.timeline(pk))["gaps"]:
            if fragment in gap["reason"] and (gap["end"] is not None) == closed:
                found.update(gap)
                return True
        return False

    await eventually(check, within, f"a {'closed' if closed else 'open'} gap with {fragment!r}")
    return found


async def test_gaps_are_marked_with_their_reason_and_recording_resumes(stack: RecordingStack) -> None:
    gb_id = CHANNEL_GB_IDS[0]
    pk = await stack.channel_pk(gb_id)
    await _wait_recording(stack, pk)

    # media off: RTP stops; after the media timeout the session ends, reconnecting fails at no-rtp.
    stack.sim.live.mute(gb_id, True)
    gap = await _gap_with(stack, pk, f"no RTP for {MEDIA_TIMEOUT:g} s", closed=False, within=15)
    stack.sim.live.mute(gb_id, False)
    gap = await _gap_with(stack, pk, f"no RTP for {MEDIA_TIMEOUT:g} s", closed=True, within=20)
    assert str(gap["end"]) > str(gap["start"])

    # bye: the device hangs up; the recorder calls again at once.
    await stack.sim.live.bye(gb_id)
    await _gap_with(stack, pk, "device sent BYE", closed=True, within=15)

    # keepalive off: the device goes offline; its stream carries on until it hangs up, then nobody can call it.
    stack.sim.devices[DEVICE_ID].keepalive_enabled = False
    await eventually(lambda: _offline(stack), 15, "the device is offline")
    await asyncio.sleep(1)  # past the earlier BYE gap's resumption
    await stack.sim.live.bye(gb_id)
    open_gap = await _gap_with(stack, pk, "device offline", closed=False, within=15)
    assert str(open_gap["reason"]).startswith("device sent BYE; then device offline")
    stack.sim.devices[DEVICE_ID].keepalive_enabled = True  # 403 to its next keepalive; it registers again
    await _gap_with(stack, pk, "device offline", closed=True, within=20)

    timeline = await stack.timeline(pk)
    assert len(timeline["gaps"]) == 3
    assert len(timeline["ranges"]) == 4  # recording resumed after each gap
    for gap in timeline["gaps"]:  # each gap lies between two covered ranges
        assert any(r["end"] <= gap["start"] for r in timeline["ranges"])
        assert any(r["start"] >= gap["end"] for r in timeline["ranges"])
    # The other channel went on recording throughout (its device went offline, but its stream did not end).
    other = await stack.timeline(await stack.channel_pk(CHANNEL_GB_IDS[1]))
    assert other["gaps"] == [] and len(other["ranges"]) == 1


async def _wait_recording(stack: RecordingStack, pk: int) -> None:
    async def recording() -> bool:
        return bool((await stack.timeline(pk))["segments"])

    await eventually(recording, 20, f"channel {pk} is recorded")


async def _offline(stack: RecordingStack) -> bool:
    presence = stack.platform.gb28181.live_presence(DEVICE_ID)
    return presence is not None and not presence[0]
