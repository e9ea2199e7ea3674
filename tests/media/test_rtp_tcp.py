"""RtpReceiver over real TCP sockets on 127.0.0.1: RFC 4571 frames in, PS frames out, one connection per stream."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from clearsight.media.es import EsFrame
from clearsight.media.payload import PayloadKind
from clearsight.media.rtp_framing import frame_rtp
from clearsight.media.rtp_receiver import RtpReceiver
from clearsight.media.rtp_tcp import MediaConnectError
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import ClipLibrary

SSRC = 200_000_002


@pytest.fixture(scope="module")
def clip_packets() -> list[bytes]:
    frames = ClipLibrary().encode_clip(160, 96, 25, 0.6, "h264")  # type: ignore[arg-type]
    stream = PsRtpStream(SSRC, initial_sequence=65_500)
    return [p for frame in frames for p in stream.packets_for(frame, frame.pts_90k)]


async def _until(condition: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - counters have no event to wait on
            await asyncio.sleep(0.01)


async def _send_in_pieces(writer: asyncio.StreamWriter, data: bytes, rng: random.Random) -> int:
    """Write `data` in random pieces of 1 to 700 bytes, yielding in between so that reads split frames."""
    pieces = 0
    position = 0
    while position < len(data):
        size = rng.choice((1, 2, 3, rng.randint(4, 700)))
        writer.write(data[position:position + size])
        await writer.drain()
        await asyncio.sleep(0)
        position += size
        pieces += 1
    return pieces


async def _closed_by_peer(reader: asyncio.StreamReader, within: float = 2.0) -> bool:
    """True when the other side closed (EOF or reset) within `within` seconds."""
    try:
        async with asyncio.timeout(within):
            return await reader.read(1) == b""
    except ConnectionError:
        return True


async def test_frames_split_across_reads_become_frames(clip_packets: list[bytes]) -> None:
    frames: list[EsFrame] = []
    receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=frames.append, label="tcp-split")
    port = await receiver.start("127.0.0.1", 0, udp=False, tcp=True)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        stream = b"".join(frame_rtp(p) for p in clip_packets)
        pieces = await _send_in_pieces(writer, stream, random.Random(4571))
        assert pieces > len(clip_packets)  # most frames were cut somewhere
        assert receiver.first_packet is not None and receiver.payload_detected is not None
        await asyncio.wait_for(receiver.first_packet, 2)
        assert await asyncio.wait_for(receiver.payload_detected, 2) is PayloadKind.MPEG_PS
        await _until(lambda: receiver.counters.datagrams == len(clip_packets), 3)
        await _until(lambda: len(frames) >= 10, 3)
        assert receiver.counters.bad_packets == 0
        assert receiver.stats.packets == len(clip_packets)
        assert receiver.last_rtp_at is not None
        pts = [f.pts for f in frames if f.pts is not None]
        assert pts == sorted(pts) and len(set(pts)) == len(pts)
        assert frames[0].keyframe
        assert receiver.tcp_ended is not None and not receiver.tcp_ended.done()
        writer.close()
        await writer.wait_closed()
        assert await asyncio.wait_for(receiver.tcp_ended, 2) == "device closed the TCP media connection"
    finally:
        receiver.close()


async def test_bad_frame_closes_only_that_connection(clip_packets: list[bytes]) -> None:
    bad_frames: list[EsFrame] = []
    good_frames: list[EsFrame] = []
    bad = RtpReceiver(expected_ssrc=SSRC, on_frame=bad_frames.append, label="tcp-bad")
    good = RtpReceiver(expected_ssrc=SSRC, on_frame=good_frames.append, label="tcp-good")
    bad_port = await bad.start("127.0.0.1", 0, udp=False, tcp=True)
    good_port = await good.start("127.0.0.1", 0, udp=False, tcp=True)
    try:
        bad_reader, bad_writer = await asyncio.open_connection("127.0.0.1", bad_port)
        _good_reader, good_writer = await asyncio.open_connection("127.0.0.1", good_port)
        half = len(clip_packets) // 2
        # Three good frames, then a length prefix followed by something that is not RTP version 2.
        bad_writer.write(b"".join(frame_rtp(p) for p in clip_packets[:3]) + b"\x00\x10" + b"\x00" * 16)
        good_writer.write(b"".join(frame_rtp(p) for p in clip_packets[:half]))
        await asyncio.gather(bad_writer.drain(), good_writer.drain())
        assert bad.tcp_ended is not None
        reason = await asyncio.wait_for(bad.tcp_ended, 2)
        assert "bad RFC 4571 framing" in reason and "not RTP version 2" in reason
        assert await _closed_by_peer(bad_reader)
        assert bad.tcp is not None and bad.tcp.framing_errors == 1
        assert bad.counters.datagrams == 3

        # The other stream's connection is untouched and keeps delivering.
        good_writer.write(b"".join(frame_rtp(p) for p in clip_packets[half:]))
        await good_writer.drain()
        await _until(lambda: good.counters.datagrams == len(clip_packets), 3)
        await _until(lambda: len(good_frames) >= 10, 3)
        assert good.tcp_ended is not None and not good.tcp_ended.done()
        assert good.tcp is not None and good.tcp.framing_errors == 0
        good_writer.close()
        bad_writer.close()
    finally:
        bad.close()
        good.close()


async def test_second_connection_is_refused_and_the_first_keeps_streaming(clip_packets: list[bytes]) -> None:
    frames: list[EsFrame] = []
    receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=frames.append, label="tcp-one")
    port = await receiver.start("127.0.0.1", 0, udp=False, tcp=True)
    try:
        _first_reader, first = await asyncio.open_connection("127.0.0.1", port)
        assert receiver.tcp is not None
        await asyncio.wait_for(receiver.tcp.connected, 2)
        second_reader, second = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_by_peer(second_reader)
        assert receiver.tcp.connections_refused == 1
        with pytest.raises(ConnectionError):  # writes to the reset socket fail at drain
            for _ in range(20):
                second.write(frame_rtp(clip_packets[0]))
                await second.drain()
                await asyncio.sleep(0.01)
        first.write(b"".join(frame_rtp(p) for p in clip_packets))
        await first.drain()
        await _until(lambda: len(frames) >= 10, 3)
        assert receiver.counters.datagrams == len(clip_packets)
        assert receiver.tcp_ended is not None and not receiver.tcp_ended.done()
        first.close()
    finally:
        receiver.close()


async def test_peer_closing_mid_frame_is_reported(clip_packets: list[bytes]) -> None:
    receiver = RtpReceiver(expected_ssrc=SSRC, label="tcp-cut")
    port = await receiver.start("127.0.0.1", 0, udp=False, tcp=True)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame_rtp(clip_packets[0]) + frame_rtp(clip_packets[1])[:40])
        await writer.drain()
        writer.close()
        assert receiver.tcp_ended is not None
        reason = await asyncio.wait_for(receiver.tcp_ended, 2)
        assert reason == "device closed the TCP media connection in the middle of a frame (40 bytes)"
        assert receiver.counters.datagrams == 1
    finally:
        receiver.close()


async def test_active_mode_connects_to_the_device(clip_packets: list[bytes]) -> None:
    frames: list[EsFrame] = []
    connections: list[asyncio.StreamWriter] = []

    async def device(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        writer.write(b"".join(frame_rtp(p) for p in clip_packets))
        await writer.drain()

    server = await asyncio.start_server(device, "127.0.0.1", 0)
    device_port = int(server.sockets[0].getsockname()[1])
    receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=frames.append, label="tcp-active")
    await receiver.start("127.0.0.1", 0, udp=True, tcp=True)
    try:
        await receiver.connect("127.0.0.1", device_port, within=2)
        assert receiver.tcp is not None and not receiver.tcp.listening
        await _until(lambda: len(frames) >= 10, 3)
        assert len(connections) == 1
        assert receiver.counters.bad_packets == 0
    finally:
        receiver.close()
        server.close()
        await server.wait_closed()


async def test_active_mode_reports_an_unreachable_device() -> None:
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    closed_port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    receiver = RtpReceiver(expected_ssrc=SSRC, label="tcp-unreachable")
    try:
        with pytest.raises(MediaConnectError) as caught:
            await receiver.connect("127.0.0.1", closed_port, within=2)
        assert caught.value.port == closed_port
        assert f"127.0.0.1:{closed_port}" in str(caught.value)
    finally:
        receiver.close()


async def test_udp_and_tcp_share_one_port_until_one_is_dropped(clip_packets: list[bytes]) -> None:
    receiver = RtpReceiver(expected_ssrc=SSRC, label="dual")
    port = await receiver.start("127.0.0.1", 0, udp=True, tcp=True)
    try:
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port))
        udp.sendto(clip_packets[0])
        await _until(lambda: receiver.counters.datagrams == 1, 2)
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame_rtp(clip_packets[1]))
        await writer.drain()
        await _until(lambda: receiver.counters.datagrams == 2, 2)
        receiver.stop_udp()
        receiver.stop_listening()
        udp.sendto(clip_packets[2])
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame_rtp(clip_packets[3]))  # the adopted connection stays
        await writer.drain()
        await _until(lambda: receiver.counters.datagrams == 3, 2)
        await asyncio.sleep(0.05)
        assert receiver.counters.datagrams == 3
        udp.close()
        writer.close()
    finally:
        receiver.close()
