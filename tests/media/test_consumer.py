"""A consumer's own queue: slow readers are skipped ahead to a keyframe, then dropped; others are untouched."""

from __future__ import annotations

import asyncio

from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.media.fmp4 import PTS_CLOCK_HZ, MediaFragment

TICKS = PTS_CLOCK_HZ // 25


def fragment(index: int, *, gop: int = 25) -> MediaFragment:
    return MediaFragment(bytes([index % 256]) * 10, index % gop == 0, index * TICKS, TICKS)


def drain(consumer: Consumer) -> list[object]:
    items: list[object] = []
    while (item := consumer.get_nowait()) is not None:
        items.append(item)
    return items


async def test_items_arrive_in_order_and_end_last() -> None:
    consumer = Consumer("c")
    for i in range(5):
        consumer.offer(fragment(i))
    consumer.offer(StreamEnd("bye"))
    consumer.offer(fragment(5))  # after the end: ignored
    items = [item async for item in consumer]
    assert items[:-1] == [fragment(i) for i in range(5)] and items[-1] == StreamEnd("bye")
    assert consumer.fragments_sent == 5 and consumer.bytes_sent == 50


async def test_a_reader_waits_for_the_next_item() -> None:
    consumer = Consumer("c")
    reader = asyncio.create_task(consumer.get())
    await asyncio.sleep(0)
    assert not reader.done()
    consumer.offer(fragment(0))
    assert await asyncio.wait_for(reader, 1) == fragment(0)


async def test_a_lagging_reader_skips_ahead_to_the_next_keyframe() -> None:
    consumer = Consumer("slow", max_lag=1.0)  # 25 fragments of 40 ms
    for i in range(40):
        consumer.offer(fragment(i, gop=30))
    items = drain(consumer)
    # 25 queued, the 26th overflowed: the queue was emptied and the reader resumed at the keyframe 30.
    assert items == [fragment(i, gop=30) for i in range(30, 40)]
    assert consumer.skips == 1 and consumer.fragments_skipped == 30


async def test_a_reader_that_keeps_lagging_is_dropped() -> None:
    consumer = Consumer("hopeless", max_lag=0.2, max_skips=2)
    for i in range(200):
        consumer.offer(fragment(i, gop=10))
    assert consumer.ended is not None and "too slow" in consumer.ended.reason
    assert drain(consumer) == [consumer.ended]


async def test_new_consumers_may_wait_for_a_keyframe() -> None:
    consumer = Consumer("late", waiting_for_keyframe=True)
    for i in range(1, 30):
        consumer.offer(fragment(i))
    assert drain(consumer)[0] == fragment(25)
