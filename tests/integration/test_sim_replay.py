"""The simulator's load mode: many streams replay one clip encoded once, and each decodes at the platform."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from clearsight.config import Settings
from clearsight.media.es import EsFrame
from clearsight.server import running_platform
from clearsight.sim.simulator import Simulator, SimulatorConfig
from tests.integration.processes import ADMIN_PASSWORD, DEVICE_PASSWORD, PLATFORM_ID, free_port

pytestmark = pytest.mark.integration

CHANNELS = 6
DEVICE_ID = "34020000001320000001"


async def _frames(queue: asyncio.Queue[EsFrame], count: int) -> list[EsFrame]:
    async with asyncio.timeout(15):
        return [await queue.get() for _ in range(count)]


def _decodes(frames: list[EsFrame]) -> int:
    context = av.CodecContext.create("h264", "r")
    pictures = 0
    for frame in frames:
        for packet in context.parse(frame.data):
            pictures += len(context.decode(packet))
    return pictures


async def test_streams_replay_one_shared_clip(tmp_path: Path) -> None:
    settings = Settings(platform_id=PLATFORM_ID, sip_port=free_port(), http_port=free_port(),
                        data_dir=tmp_path / "platform", device_password=DEVICE_PASSWORD, admin_password=ADMIN_PASSWORD)
    async with running_platform(settings) as platform:
        events: list[dict[str, object]] = []
        sim = Simulator(SimulatorConfig(platform_host="127.0.0.1", platform_port=settings.sip_port,
                                        platform_id=PLATFORM_ID, password=DEVICE_PASSWORD, channels=CHANNELS,
                                        replay=True), events.append)
        await sim.start()
        try:
            assert await sim.register_all() == 1
            channel_ids = [f"3402000000131{index:07d}" for index in range(2, 2 + CHANNELS)]
            sessions = await asyncio.gather(*(platform.gb28181.open_live(DEVICE_ID, c) for c in channel_ids))
            batches = await asyncio.gather(*(_frames(s.frames, 30) for s in sessions))
            for batch in batches:
                pts = [f.pts for f in batch]
                assert all(p is not None for p in pts) and pts == sorted(pts)  # fresh, increasing timestamps
                assert batch[0].keyframe and _decodes(batch) >= 29
            assert sim.live._clips is not None and len(sim.live._clips) == 1  # encoded once for all streams
            for session in sessions:
                await session.close()
        finally:
            await sim.close()
