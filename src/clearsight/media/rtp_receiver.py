"""Receive one RTP stream over UDP or TCP and turn it into elementary-stream frames.

`RtpStreamPipeline` is the transport-independent core, sans-I/O: each packet goes through `parse_rtp` (bad
packets are counted and dropped), `StreamStats` (the SSRC gate, with its "wrong SSRC" report),
`ReorderBuffer`, then payload detection on the first packets released, and then the decoder for the kind
found: `PsRtpDecoder` for an MPEG program stream (`clearsight.media.rtp_ps`: a frame's payloads go to
`PsDemuxer` at once at the marker bit; a loss drops the frame it hits), `TsDemuxer` for a transport stream
(RFC 2250; a sequence gap tells it that bytes are missing), `H264Depacketizer` / `H265Depacketizer` for
elementary video in RTP (RFC 6184 / RFC 7798, which need the packets' sequence numbers, timestamps and marker
bits). Every frame completed is handed to `on_frame`. Only a payload of no known kind is left undecoded (and
counted).

`RtpReceiver` is the asyncio shell feeding it: a UDP socket (datagrams) and/or a TCP media link
(`clearsight.media.rtp_tcp`: RFC 4571 frames, listening for the device or connecting to it), both on the
same port number so that the SDP answer can still pick the transport; `stop_udp()` / `stop_listening()`
drop what the answer did not pick. `first_packet` resolves on the first packet that parses as RTP, whatever
its SSRC, so that "no RTP at all" and "RTP with the wrong SSRC" stay distinguishable; `payload_detected`
resolves with the payload kind once it is known; `last_rtp_at` tells a watchdog when media last arrived.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from clearsight.media.es import EsFrame
from clearsight.media.payload import MAX_PAYLOADS_EXAMINED, PayloadKind, PayloadScores, score_payloads
from clearsight.media.ps_demux import PsDemuxStats
from clearsight.media.reorder import ReorderBuffer
from clearsight.media.rtp import RTP_SEQ_MOD, RtpError, RtpPacket, parse_rtp
from clearsight.media.rtp_es_depacketizer import DepacketizerStats, RtpEsDepacketizer
from clearsight.media.rtp_h264 import H264Depacketizer
from clearsight.media.rtp_h265 import H265Depacketizer
from clearsight.media.rtp_ps import PsRtpDecoder
from clearsight.media.rtp_stats import StreamStats
from clearsight.media.rtp_tcp import CONNECT_TIMEOUT, TcpMediaLink
from clearsight.media.ts_demux import TsDemuxer, TsDemuxStats

logger = logging.getLogger(__name__)

# Payloads looked at before the payload kind is decided (more only when these are inconclusive).
DETECTION_PACKETS = 8
# Receive buffer asked of the kernel: a keyframe burst of a few hundred packets must not overflow it.
SOCKET_RECEIVE_BUFFER = 2 * 1024 * 1024
# Ephemeral ports tried to find one free for both UDP and TCP.
DUAL_BIND_ATTEMPTS = 16

FrameHandler = Callable[[EsFrame], None]


class UnsupportedPayload(Exception):
    """The stream carries something this receiver cannot decode: no known payload kind."""

    def __init__(self, kind: PayloadKind) -> None:
        super().__init__(f"payload {kind.value} is not supported (MPEG-PS, MPEG-TS and H.264/H.265 RTP are)")
        self.kind = kind


@dataclass(slots=True)
class ReceiverCounters:
    """What arrived, for diagnosis."""

    datagrams: int = 0  # packets received: UDP datagrams and RFC 4571 frames
    bad_packets: int = 0  # not RTP (too short, wrong version, RTCP on the RTP port)
    wrong_ssrc: int = 0  # RTP dropped by the SSRC gate
    frames: int = 0  # frames handed to on_frame
    undecoded_packets: int = 0  # released packets dropped because the payload kind is unknown


DecoderStats = PsDemuxStats | TsDemuxStats | DepacketizerStats


class PayloadDecoder(Protocol):
    """Released RTP packets in, frames out: one per payload kind."""

    @property
    def stats(self) -> DecoderStats: ...

    def push(self, packet: RtpPacket) -> None: ...

    def next_frame(self) -> EsFrame | None: ...


class TsPayloadDecoder:
    """MPEG-TS in RTP (RFC 2250): the bytes go to `TsDemuxer`; a sequence gap tells it input was lost."""

    def __init__(self, label: str) -> None:
        self.demuxer = TsDemuxer(label=label)
        self._next_sequence: int | None = None

    @property
    def stats(self) -> TsDemuxStats:
        return self.demuxer.stats

    def push(self, packet: RtpPacket) -> None:
        if self._next_sequence is not None and packet.sequence != self._next_sequence:
            self.demuxer.discontinuity()
        self._next_sequence = (packet.sequence + 1) % RTP_SEQ_MOD
        self.demuxer.feed(packet.payload)

    def next_frame(self) -> EsFrame | None:
        return self.demuxer.next_frame()


def payload_decoder(kind: PayloadKind, label: str) -> PayloadDecoder | None:
    """The decoder for a payload kind; None for UNKNOWN."""
    if kind is PayloadKind.MPEG_PS:
        return PsRtpDecoder(label)
    if kind is PayloadKind.MPEG_TS:
        return TsPayloadDecoder(label)
    if kind is PayloadKind.H264_ES:
        return H264Depacketizer(label=label)
    if kind is PayloadKind.H265_ES:
        return H265Depacketizer(label=label)
    return None


class RtpStreamPipeline:
    """parse → StreamStats → ReorderBuffer → payload detection → the kind's decoder → `on_frame`, for one stream.

    Sans-I/O: `feed()` takes each packet with its arrival time, `poll()` releases what the reorder buffer
    held past `next_deadline`. The caller owns sockets and timers.
    """

    def __init__(self, *, expected_ssrc: int | None, on_frame: FrameHandler | None = None, label: str = "") -> None:
        self.label = label
        self.counters = ReceiverCounters()
        self.stats = StreamStats(expected_ssrc, stream_id=label)
        self.reorder = ReorderBuffer()
        self.decoder: PayloadDecoder | None = None  # chosen once the payload kind is known
        self.payload_kind: PayloadKind | None = None
        self.payload_scores: PayloadScores | None = None  # what detection saw, for diagnosis
        self.on_frame: FrameHandler = on_frame or _discard
        self.rtp_seen = False  # a packet parsed as RTP, whatever its SSRC
        self.last_rtp_at: float | None = None  # arrival time of the last packet the SSRC gate let through
        self._detecting: list[RtpPacket] = []
        self._known_parameter_sets: tuple[bytes, ...] = ()

    @property
    def next_deadline(self) -> float | None:
        return self.reorder.next_deadline

    def expect_ssrc(self, ssrc: int | None) -> None:
        """Change the SSRC expected (the device's answer named another); only before RTP arrives."""
        if self.counters.datagrams == 0:
            self.stats = StreamStats(ssrc, stream_id=self.label)

    def remember_parameter_sets(self, nals: Sequence[bytes]) -> None:
        """H.264/H.265 parameter sets known out of band (the SDP answer's sprop-*), for a raw H.264/H.265 payload
        whose keyframes come without them; a PS or TS payload ignores them."""
        self._known_parameter_sets = tuple(nals)
        self._hand_parameter_sets()

    def feed(self, data: bytes, now: float, source: object = None) -> None:
        """One packet (a datagram or an RFC 4571 frame) arrived at `now` from `source`."""
        self.counters.datagrams += 1
        try:
            packet = parse_rtp(data)
        except RtpError as exc:
            self.counters.bad_packets += 1
            if self.counters.bad_packets == 1:
                logger.info("stream %s: dropping non-RTP packet from %s: %s", self.label, source, exc)
            return
        self.rtp_seen = True
        if not self.stats.accept(packet, now):
            self.counters.wrong_ssrc += 1
            return
        self.last_rtp_at = now
        reorder_counters = self.reorder.counters
        late_before = reorder_counters.late
        released = self.reorder.push(packet, now)
        if reorder_counters.late != late_before:
            self.stats.record_late(reorder_counters.late - late_before)
        self._release(released)

    def poll(self, now: float) -> None:
        self._release(self.reorder.poll(now))

    @property
    def decoder_stats(self) -> DecoderStats | None:
        """The decoder's own counters (frames dropped, losses, resyncs…) once the payload kind is known."""
        return self.decoder.stats if self.decoder is not None else None

    def _release(self, packets: list[RtpPacket]) -> None:
        decoder = self.decoder
        if decoder is None:
            self._release_undecided(packets)
            return
        counters, on_frame = self.counters, self.on_frame
        for packet in packets:
            decoder.push(packet)
            frame = decoder.next_frame()
            while frame is not None:
                counters.frames += 1
                on_frame(frame)
                frame = decoder.next_frame()

    def _release_undecided(self, packets: list[RtpPacket]) -> None:
        """Packets released before the payload kind was known: detection, then the decoder once it is."""
        for packet in packets:
            if self.decoder is not None:
                self._decode(self.decoder, packet)
            elif self.payload_kind is None:
                self._detect(packet)
            else:
                self.counters.undecoded_packets += 1

    def _detect(self, packet: RtpPacket) -> None:
        self._detecting.append(packet)
        if len(self._detecting) < DETECTION_PACKETS:
            return
        scores = score_payloads([held.payload for held in self._detecting])
        kind = scores.kind
        if kind is PayloadKind.UNKNOWN and len(self._detecting) < MAX_PAYLOADS_EXAMINED:
            return
        self.payload_kind, self.payload_scores = kind, scores
        held, self._detecting = self._detecting, []
        logger.info("stream %s: payload is %s", self.label, kind.value)
        self.decoder = payload_decoder(kind, self.label)
        self._hand_parameter_sets()
        if self.decoder is None:
            logger.warning("stream %s: payload not recognised in %d packets (%s)", self.label, len(held), scores)
            self.counters.undecoded_packets += len(held)
            return
        for earlier in held:
            self._decode(self.decoder, earlier)

    def _hand_parameter_sets(self) -> None:
        if isinstance(self.decoder, RtpEsDepacketizer) and self._known_parameter_sets:
            self.decoder.remember_parameter_sets(self._known_parameter_sets)

    def _decode(self, decoder: PayloadDecoder, packet: RtpPacket) -> None:
        decoder.push(packet)
        while (frame := decoder.next_frame()) is not None:
            self.counters.frames += 1
            self.on_frame(frame)


class _UdpRtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: RtpReceiver) -> None:
        self._receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._receiver.packet_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.warning("stream %s: socket error: %s", self._receiver.label, exc)


class RtpReceiver:
    """One RTP stream: a UDP socket and/or a TCP link on one port. `start()` binds; `close()` releases."""

    def __init__(self, *, expected_ssrc: int | None, on_frame: FrameHandler | None = None, label: str = "") -> None:
        self.label = label
        self.pipeline = RtpStreamPipeline(expected_ssrc=expected_ssrc, on_frame=on_frame, label=label)
        self.tcp: TcpMediaLink | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._poll_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.first_packet: asyncio.Future[None] | None = None
        self.payload_detected: asyncio.Future[PayloadKind] | None = None
        self._announcing = True  # first_packet or payload_detected may still need resolving
        self.host = ""
        self.port = 0

    # --- the pipeline's state, as callers knew it ------------------------------------------------
    @property
    def counters(self) -> ReceiverCounters:
        return self.pipeline.counters

    @property
    def stats(self) -> StreamStats:
        return self.pipeline.stats

    @property
    def payload_kind(self) -> PayloadKind | None:
        return self.pipeline.payload_kind

    @property
    def on_frame(self) -> FrameHandler:
        return self.pipeline.on_frame

    @on_frame.setter
    def on_frame(self, handler: FrameHandler) -> None:
        self.pipeline.on_frame = handler

    @property
    def last_rtp_at(self) -> float | None:
        """Loop time of the last packet with the expected SSRC (None before the first)."""
        return self.pipeline.last_rtp_at

    @property
    def tcp_ended(self) -> asyncio.Future[str] | None:
        """Resolves with a reason when the stream's TCP connection ends; None without TCP."""
        return self.tcp.ended if self.tcp is not None else None

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0, *, udp: bool = True, tcp: bool = False) -> int:
        """Bind UDP and/or listen on TCP on `host`:`port` (0: an ephemeral port, the same for both)."""
        if not udp and not tcp:
            raise ValueError("start() needs udp, tcp or both")
        self._bind_loop()
        attempts = DUAL_BIND_ATTEMPTS if udp and tcp and port == 0 else 1
        for attempt in range(1, attempts + 1):
            try:
                self.port = await self._open(host, port, udp=udp, tcp=tcp)
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == attempts:
                    raise
        self.host = host
        logger.debug("stream %s: receiving RTP on %s:%d (%s)", self.label, self.host, self.port,
                     "+".join(name for name, on in (("UDP", udp), ("TCP", tcp)) if on))
        return self.port

    async def _open(self, host: str, port: int, *, udp: bool, tcp: bool) -> int:
        bound = await self._open_udp(host, port) if udp else port
        if tcp:
            self.tcp = TcpMediaLink(label=self.label, on_packet=self.packet_received)
            try:
                bound = await self.tcp.listen(host, bound)
            except OSError:
                self.stop_udp()
                self.tcp.close()
                self.tcp = None
                raise
        return bound

    async def connect(self, host: str, port: int, *, within: float = CONNECT_TIMEOUT) -> None:
        """Open the TCP media connection to the device (TCP active); MediaConnectError when that fails."""
        self._bind_loop()
        if self.tcp is None:
            self.tcp = TcpMediaLink(label=self.label, on_packet=self.packet_received)
        self.tcp.stop_listening()
        await self.tcp.connect(host, port, within=within)

    def _bind_loop(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.first_packet = self._loop.create_future()
            self.payload_detected = self._loop.create_future()

    async def _open_udp(self, host: str, port: int) -> int:
        assert self._loop is not None
        transport, _ = await self._loop.create_datagram_endpoint(lambda: _UdpRtpProtocol(self), local_addr=(host, port))
        self._udp = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
        return int(transport.get_extra_info("sockname")[1])

    def stop_udp(self) -> None:
        """Close the UDP socket (the answer chose TCP)."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def stop_listening(self) -> None:
        """Stop accepting TCP connections (the answer chose UDP, or the platform connects); one adopted stays."""
        if self.tcp is not None:
            self.tcp.stop_listening()

    def close(self) -> None:
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        self.stop_udp()
        if self.tcp is not None:
            self.tcp.close()
        for future in (self.first_packet, self.payload_detected):
            if future is not None and not future.done():
                future.cancel()

    def expect_ssrc(self, ssrc: int | None) -> None:
        """Change the SSRC expected (the device's answer named another); only before RTP arrives."""
        self.pipeline.expect_ssrc(ssrc)

    def remember_parameter_sets(self, nals: Sequence[bytes]) -> None:
        """Parameter sets from the SDP answer, for raw H.264/H.265 (`RtpStreamPipeline.remember_parameter_sets`)."""
        self.pipeline.remember_parameter_sets(nals)

    # --- packets from either transport -----------------------------------------------------------
    def packet_received(self, data: bytes, source: object = None) -> None:
        loop = self._loop
        assert loop is not None
        pipeline = self.pipeline
        pipeline.feed(data, loop.time(), source)
        if self._announcing:
            self._announce()
        # A timer only while the reorder buffer holds packets: an in-order stream never has a deadline.
        if pipeline.reorder.held and self._poll_handle is None:
            self._schedule_poll()

    def _announce(self) -> None:
        """Resolve `first_packet` and `payload_detected` when their time has come; stop looking once both are."""
        pipeline = self.pipeline
        first, detected = self.first_packet, self.payload_detected
        if pipeline.rtp_seen and first is not None and not first.done():
            first.set_result(None)
        kind = pipeline.payload_kind
        if kind is not None and detected is not None and not detected.done():
            detected.set_result(kind)
        self._announcing = not (first is not None and first.done() and detected is not None and detected.done())

    def _schedule_poll(self) -> None:
        if self._poll_handle is not None or self._loop is None:
            return
        deadline = self.pipeline.next_deadline
        if deadline is not None:
            self._poll_handle = self._loop.call_at(deadline, self._poll)

    def _poll(self) -> None:
        self._poll_handle = None
        assert self._loop is not None
        self.pipeline.poll(self._loop.time())
        if self._announcing:
            self._announce()
        self._schedule_poll()


def _discard(_frame: EsFrame) -> None:
    return None
