"""HLS window: keyframe-aligned segments, a sliding playlist with tokens in its URIs, idle expiry."""

from __future__ import annotations

import asyncio

from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.media.fmp4 import InitSegment
from clearsight.media.hls import HlsWindow
from clearsight.media.parameter_sets import VideoParameters
from tests.media.test_consumer import fragment

INIT = InitSegment(b"init", VideoParameters(__import__("clearsight.media.es").media.es.Codec.H264, 16, 16, "avc1", b""))


async def _feed(consumer: Consumer, count: int, gop: int) -> None:
    consumer.offer(INIT)
    for i in range(count):
        consumer.offer(fragment(i, gop=gop))
    await asyncio.sleep(0.05)


async def test_segments_start_on_keyframes_and_last_at_least_the_target() -> None:
    consumer = Consumer("hls", max_lag=100)
    window = HlsWindow(consumer, target_duration=1.0, window=3)
    window.start()
    await _feed(consumer, 25 * 6 + 1, gop=13)  # keyframes every 0.52 s
    await window.close()
    assert window.init is INIT
    assert len(window.segments) == 3  # the window slides
    assert all(abs(s.duration - 26 * 0.04) < 1e-9 for s in window.segments)  # two GOPs ≥ 1 s
    assert all(s.data[0] % 13 == 0 for s in window.segments)  # each begins with a keyframe's fragment
    playlist = window.playlist("token=abc")
    assert playlist.startswith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n")
    assert '#EXT-X-MAP:URI="init.mp4?token=abc"' in playlist
    first = window.segments[0].sequence
    assert f"#EXT-X-MEDIA-SEQUENCE:{first}" in playlist and f"seg/{first}.m4s?token=abc" in playlist
    assert window.segment(first) is window.segments[0] and window.segment(first - 1) is None


async def test_the_window_ends_without_fetches_and_with_the_stream() -> None:
    idle = HlsWindow(Consumer("idle"), idle_timeout=0.15)
    idle.start()
    await asyncio.sleep(0.4)
    assert idle.ended == StreamEnd("no HLS client")
    consumer = Consumer("ended")
    ending = HlsWindow(consumer)
    ending.start()
    consumer.offer(StreamEnd("device sent BYE"))
    await asyncio.sleep(0.05)
    assert ending.ended == StreamEnd("device sent BYE") and ending.playlist("").endswith("#EXT-X-ENDLIST\n")
