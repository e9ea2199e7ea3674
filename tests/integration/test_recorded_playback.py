"""Playback of the platform's own recordings end to end: the real platform records the simulator's channel, a
viewer opens a playback at an instant and receives fMP4 over a real WebSocket, which PyAV decodes; the pictures'
burnt-in clock shows the instant asked for, at 1×, after a seek, and at 8× (keyframes a second of recording)
until it catches up with the segment being recorded (`live`)."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
import websockets

from clearsight.recording.records import SegmentState
from clearsight.sim.clock_reader import clock_seconds, read_clock
from clearsight.sim.video import clock_text
from tests.recording.platform_stack import CHANNEL_GB_IDS, RecordingStack, eventually, recording_stack

pytestmark = pytest.mark.integration

SEGMENT_SECONDS = 2
GOP_SECONDS = 1.0  # the simulator sends a keyframe a second
CLOCK_TOLERANCE = 0.5  # seconds between a frame's burnt-in clock and the wall-clock time it was recorded at
DAY = 86_400.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    async with recording_stack(tmp_path / "platform", recording_default="continuous",
                               recording_segment_seconds=SEGMENT_SECONDS, recording_thumbnail_seconds=0,
                               live_grace_period=1) as running:
        yield running


def shown(moment: datetime) -> float:
    """The simulator's burnt-in clock for `moment` (its local time of day, in seconds)."""
    return clock_seconds(clock_text(moment.astimezone()))


def apart(clock: float, expected: float) -> float:
    difference = abs(clock - expected) % DAY
    return min(difference, DAY - difference)


def clocks(data: list[bytes]) -> list[float | None]:
    """The burnt-in clock of each picture the received fMP4 decodes to (None: unreadable)."""
    with av.open(io.BytesIO(b"".join(data)), format="mp4") as container:
        return [None if (text := read_clock(frame)) is None else clock_seconds(text)
                for frame in container.decode(video=0)]


async def receive(ws: Any, *, binaries: int, within: float = 15.0, stop_at: str | None = None
                  ) -> tuple[list[bytes], list[dict[str, Any]]]:
    data: list[bytes] = []
    texts: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while len(data) < binaries:
            message = await ws.recv()
            if isinstance(message, bytes):
                data.append(message)
            else:
                texts.append(json.loads(message))
                if stop_at is not None and texts[-1]["type"] == stop_at:
                    break
    return data, texts


async def test_recorded_video_plays_from_the_instant_asked_seeks_and_runs_at_8x(stack: RecordingStack) -> None:
    pk = await stack.channel_pk(CHANNEL_GB_IDS[0])
    began = datetime.now(UTC)

    async def recorded() -> bool:
        segments = await stack.recordings.store.segments_between(pk, began - timedelta(minutes=1),
                                                                 began + timedelta(minutes=5))
        return sum(s.state is SegmentState.COMPLETE for s in segments) >= 6

    await eventually(recorded, 50, "six closed segments")
    first = (await stack.recordings.store.segments_between(pk, began - timedelta(minutes=1),
                                                           began + timedelta(minutes=5)))[0]
    asked = first.start_at + timedelta(seconds=3.4)
    async with stack.client() as client:
        response = await client.post(f"/api/v1/channels/{pk}/playback", json={"start": asked.isoformat()})
    assert response.status_code == 201, response.text
    body = response.json()
    start = datetime.fromisoformat(body["start"])
    assert asked - timedelta(seconds=GOP_SECONDS + 0.1) <= start <= asked  # the keyframe at or before

    async with websockets.connect(body["ws_url"], max_size=None) as ws:
        data, texts = await receive(ws, binaries=1 + 50)  # the init segment and two seconds of frames
        assert data[0][4:8] == b"ftyp"
        seen = clocks(data)
        assert len(seen) == 50 and seen[0] is not None, seen[:5]
        assert apart(seen[0], shown(start)) <= CLOCK_TOLERANCE, (seen[0], shown(start))
        assert apart(seen[0], shown(asked)) <= GOP_SECONDS + CLOCK_TOLERANCE
        readable = [c for c in seen if c is not None]
        assert len(readable) >= 45 and apart(readable[-1], readable[0]) == pytest.approx(49 / 25, abs=0.2)
        assert any(t["type"] == "position" for t in texts)

        target = first.start_at + timedelta(seconds=6.5)
        await ws.send(json.dumps({"type": "seek", "time": target.isoformat()}))
        _, texts = await receive(ws, binaries=10**6, stop_at="seeked")
        seeked = datetime.fromisoformat(texts[-1]["time"].replace("Z", "+00:00"))
        assert target - timedelta(seconds=GOP_SECONDS + 0.1) <= seeked <= target
        data, _ = await receive(ws, binaries=1 + 10)
        assert data[0][4:8] == b"ftyp"  # a fresh init segment after "seeked"
        seen = clocks(data)
        assert seen[0] is not None and apart(seen[0], shown(seeked)) <= CLOCK_TOLERANCE, (seen[0], shown(seeked))

        await ws.send(json.dumps({"type": "speed", "speed": 8}))
        # What was sent ahead at 1× (a second's lead), then keyframes at 8× into the segment being recorded, until
        # caught up with it: `live`.
        faster, texts = await receive(ws, binaries=10**6, stop_at="live")
        assert texts[-1]["type"] == "live" and not any(t["type"] == "end" for t in texts)
        caught_up = datetime.fromisoformat(texts[-1]["time"].replace("Z", "+00:00"))
        assert timedelta(0) <= datetime.now(UTC) - caught_up < timedelta(seconds=SEGMENT_SECONDS + 2)  # near now
        tail = [c for c in clocks(data + faster)[len(data) - 1:] if c is not None][-4:]
        steps = [apart(b, a) for a, b in itertools.pairwise(tail)]
        assert len(steps) == 3 and all(abs(step - GOP_SECONDS) <= 0.3 for step in steps), steps  # a keyframe a second
