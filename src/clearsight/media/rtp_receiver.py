"""Receive one RTP stream over UDP and turn it into elementary-stream frames.

The asyncio shell around the sans-I/O pieces: each datagram goes through `parse_rtp` (bad packets are
counted and dropped), `StreamStats` (the SSRC gate, with its "wrong SSRC" report), `ReorderBuffer`, then
payload detection on the first packets released and, for an MPEG program stream, `PsDemuxer`; every
frame the demuxer completes is handed to `on_frame`. Other payload kinds (TS, raw H.264/H.265 RTP) are
detected and reported as unsupported: this slice handles PS only.

`first_packet` resolves on the first datagram that parses as RTP, whatever its SSRC, so that "no RTP at
all" and "RTP with the wrong SSRC" stay distinguishable; `payload_detected` resolves with the payload
kind once it is known.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from clearsight.media.es import EsFrame
from clearsight.media.payload import MAX_PAYLOADS_EXAMINED, PayloadKind, detect_payload
from clearsight.media.ps_demux import PsDemuxer
from clearsight.media.reorder import ReorderBuffer
from clearsight.media.rtp import RtpError, RtpPacket, parse_rtp
from clearsight.media.rtp_stats import StreamStats

logger = logging.getLogger(__name__)

# Payloads looked at before the payload kind is decided (more only when these are inconclusive).
DETECTION_PACKETS = 8
# Receive buffer asked of the kernel: a keyframe burst of a few hundred packets must not overflow it.
SOCKET_RECEIVE_BUFFER = 2 * 1024 * 1024

FrameHandler = Callable[[EsFrame], None]


class UnsupportedPayload(Exception):
    """The stream carries something this receiver cannot demultiplex (yet)."""

    def __init__(self, kind: PayloadKind) -> None:
        super().__init__(f"payload {kind.value} is not supported (only MPEG-PS so far)")
        self.kind = kind


@dataclass(slots=True)
class ReceiverCounters:
    """What arrived, for diagnosis."""

    datagrams: int = 0
    bad_packets: int = 0  # not RTP (too short, wrong version, RTCP on the RTP port)
    wrong_ssrc: int = 0  # RTP dropped by the SSRC gate
    frames: int = 0  # frames handed to on_frame
    undecoded_packets: int = 0  # released packets dropped because the payload kind is unsupported


class RtpReceiver(asyncio.DatagramProtocol):
    """One UDP socket, one RTP stream. `start()` binds; `close()` releases the port."""

    def __init__(self, *, expected_ssrc: int | None, on_frame: FrameHandler | None = None, label: str = "") -> None:
        self.label = label
        self.counters = ReceiverCounters()
        self.stats = StreamStats(expected_ssrc, stream_id=label)
        self.reorder = ReorderBuffer()
        self.demuxer = PsDemuxer(label=label)
        self.payload_kind: PayloadKind | None = None
        self.on_frame: FrameHandler = on_frame or _discard
        self._detecting: list[bytes] = []
        self._transport: asyncio.DatagramTransport | None = None
        self._poll_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.first_packet: asyncio.Future[None] | None = None
        self.payload_detected: asyncio.Future[PayloadKind] | None = None
        self.host = ""
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind on `host`:`port` (0: an ephemeral port) and return the port bound."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.first_packet = loop.create_future()
        self.payload_detected = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
        self.host, self.port = transport.get_extra_info("sockname")[:2]
        logger.debug("stream %s: receiving RTP on %s:%d", self.label, self.host, self.port)
        return self.port

    def close(self) -> None:
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in (self.first_packet, self.payload_detected):
            if future is not None and not future.done():
                future.cancel()

    def expect_ssrc(self, ssrc: int | None) -> None:
        """Change the SSRC expected (the device's answer named another); only before RTP arrives."""
        if self.counters.datagrams == 0:
            self.stats = StreamStats(ssrc, stream_id=self.label)

    # --- asyncio.DatagramProtocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.counters.datagrams += 1
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.counters.bad_packets += 1
            if self.counters.bad_packets == 1:
                logger.info("stream %s: dropping non-RTP datagram from %s: %s", self.label, addr, exc)
            return
        if self.first_packet is not None and not self.first_packet.done():
            self.first_packet.set_result(None)
        assert self._loop is not None
        now = self._loop.time()
        if not self.stats.accept(packet, now):
            self.counters.wrong_ssrc += 1
            return
        late_before = self.reorder.counters.late
        released = self.reorder.push(packet, now)
        self.stats.record_late(self.reorder.counters.late - late_before)
        self._release(released)
        self._schedule_poll()

    def error_received(self, exc: Exception) -> None:
        logger.warning("stream %s: socket error: %s", self.label, exc)

    # --- pipeline --------------------------------------------------------------------------------
    def _schedule_poll(self) -> None:
        if self._poll_handle is not None or self._loop is None:
            return
        deadline = self.reorder.next_deadline
        if deadline is not None:
            self._poll_handle = self._loop.call_at(deadline, self._poll)

    def _poll(self) -> None:
        self._poll_handle = None
        assert self._loop is not None
        self._release(self.reorder.poll(self._loop.time()))
        self._schedule_poll()

    def _release(self, packets: list[RtpPacket]) -> None:
        for packet in packets:
            payload = bytes(packet.payload)
            if self.payload_kind is None:
                self._detect(payload)
            elif self.payload_kind is PayloadKind.MPEG_PS:
                self._demux(payload)
            else:
                self.counters.undecoded_packets += 1

    def _detect(self, payload: bytes) -> None:
        self._detecting.append(payload)
        if len(self._detecting) < DETECTION_PACKETS:
            return
        kind = detect_payload(self._detecting)
        if kind is PayloadKind.UNKNOWN and len(self._detecting) < MAX_PAYLOADS_EXAMINED:
            return
        self.payload_kind = kind
        held, self._detecting = self._detecting, []
        logger.info("stream %s: payload is %s", self.label, kind.value)
        if self.payload_detected is not None and not self.payload_detected.done():
            self.payload_detected.set_result(kind)
        if kind is PayloadKind.MPEG_PS:
            for data in held:
                self._demux(data)
        else:
            self.counters.undecoded_packets += len(held)

    def _demux(self, payload: bytes) -> None:
        self.demuxer.feed(payload)
        while (frame := self.demuxer.next_frame()) is not None:
            self.counters.frames += 1
            self.on_frame(frame)


def _discard(_frame: EsFrame) -> None:
    return None
