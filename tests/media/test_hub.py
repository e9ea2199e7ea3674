"""The stream hub with a fake source: sharing, GOP cache, grace period, failures, independent consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from clearsight.media.es import Codec, EsFrame, is_keyframe
from clearsight.media.fmp4 import InitSegment, MediaFragment
from clearsight.media.hub import SourceStats, StreamEnd, StreamHub, StreamNotReady
from clearsight.media.parameter_sets import split_annexb
from tests.media.media_samples import encode

UNITS = encode("h264", 15).access_units  # keyframes at 0, 5, 10


class FakeSource:
    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        self.handler: Callable[[EsFrame], None] | None = None
        self.close_calls = 0
        self.sent = 0

    def set_frame_handler(self, handler: Callable[[EsFrame], None]) -> None:
        self.handler = handler

    async def close(self) -> None:
        self.close_calls += 1
        self.close_reason = self.close_reason or "closed by the hub"
        self.closed.set()

    def stats(self) -> SourceStats:
        return SourceStats(transport="fake", packets=self.sent)

    def send(self, count: int) -> None:
        assert self.handler is not None
        for _ in range(count):
            unit = UNITS[self.sent % len(UNITS)]
            key = is_keyframe(Codec.H264, [n[:3] for n in split_annexb(unit)])
            self.handler(EsFrame(0xE0, Codec.H264, self.sent * 3600, None, unit, key))
            self.sent += 1


class Opener:
    def __init__(self, frames_at_open: int = 2, error: Exception | None = None) -> None:
        self.sources: list[FakeSource] = []
        self.frames_at_open = frames_at_open
        self.error = error

    async def __call__(self) -> FakeSource:
        await asyncio.sleep(0.01)
        if self.error is not None:
            raise self.error
        source = FakeSource()
        self.sources.append(source)
        asyncio.get_running_loop().call_soon(lambda: source.send(self.frames_at_open))
        return source


def items(consumer: object) -> list[object]:
    out = []
    while (item := consumer.get_nowait()) is not None:  # type: ignore[attr-defined]
        out.append(item)
    return out


async def test_concurrent_opens_share_one_source_and_viewers_start_on_a_keyframe() -> None:
    hub = StreamHub(grace_period=60)
    opener = Opener()
    first, second = await asyncio.gather(hub.open("ch", opener), hub.open("ch", opener))
    assert first is second and len(opener.sources) == 1
    source = opener.sources[0]
    source.send(6)  # frames 2..7: the keyframe 5 starts a new GOP
    viewer = first.subscribe("v1")
    got = items(viewer)
    assert isinstance(got[0], InitSegment)
    fragments = [g for g in got[1:] if isinstance(g, MediaFragment)]
    assert fragments[0].keyframe and len(fragments) == 3  # frames 5, 6 and 7: each is out as soon as it is in
    source.send(1)
    assert [f.keyframe for f in items(viewer)] == [False]
    assert hub.consumer_count == 1
    await hub.close()


async def test_the_source_stops_a_grace_period_after_the_last_consumer() -> None:
    hub = StreamHub(grace_period=0.2)
    opener = Opener()
    stream = await hub.open("ch", opener)
    viewer = stream.subscribe("v")
    await asyncio.sleep(0.3)
    assert opener.sources[0].close_calls == 0  # a consumer holds it
    stream.unsubscribe(viewer)
    rejoined = stream.subscribe("back within the grace period")
    await asyncio.sleep(0.3)
    assert opener.sources[0].close_calls == 0
    stream.unsubscribe(rejoined)
    await asyncio.sleep(0.3)
    assert opener.sources[0].close_calls == 1 and hub.streams == []
    assert stream.ended == StreamEnd("no viewers")


async def test_an_open_without_subscriber_also_ends_after_the_grace_period() -> None:
    hub = StreamHub(grace_period=0.1)
    opener = Opener()
    await hub.open("ch", opener)
    await asyncio.sleep(0.3)
    assert opener.sources[0].close_calls == 1


async def test_the_device_ending_the_stream_tells_every_consumer() -> None:
    hub = StreamHub()
    opener = Opener()
    stream = await hub.open("ch", opener)
    viewers = [stream.subscribe(f"v{i}") for i in range(3)]
    source = opener.sources[0]
    source.close_reason = "device sent BYE"
    source.closed.set()
    await asyncio.sleep(0.01)
    for viewer in viewers:
        assert items(viewer)[-1] == StreamEnd("device sent BYE")
    assert hub.streams == []
    again = await hub.open("ch", opener)  # a new source for the next viewer
    assert again is not stream and len(opener.sources) == 2
    await hub.close()


async def test_failures_reach_every_waiting_caller_and_nothing_is_kept() -> None:
    hub = StreamHub()
    opener = Opener(error=RuntimeError("device answered 486"))
    results = await asyncio.gather(hub.open("ch", opener), hub.open("ch", opener), return_exceptions=True)
    assert [str(r) for r in results] == ["device answered 486"] * 2
    assert hub.streams == [] and hub.open_failures == 1


async def test_a_source_without_keyframe_fails_not_ready_and_is_closed() -> None:
    hub = StreamHub(ready_timeout=0.2)
    opener = Opener(frames_at_open=0)
    with pytest.raises(StreamNotReady, match=r"no keyframe within 0\.2 s"):
        await hub.open("ch", opener)
    assert opener.sources[0].close_calls == 1 and hub.streams == []


async def test_a_slow_consumer_does_not_hold_back_the_others() -> None:
    hub = StreamHub(max_lag=0.5)
    opener = Opener()
    stream = await hub.open("ch", opener)
    slow, fast = stream.subscribe("slow"), stream.subscribe("fast")
    received = 0
    for _ in range(60):
        opener.sources[0].send(1)
        received += sum(isinstance(i, MediaFragment) for i in items(fast))
    assert received >= 58  # the fast one got every frame as it came
    assert slow.skips >= 1 and slow.queued_seconds <= 0.5
    await hub.close()
