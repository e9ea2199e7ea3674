"""RTP over TCP for one stream (GB/T 28181 ``TCP/RTP/AVP``, RFC 4571 framing): listen or connect, one connection.

`TcpMediaLink` is the TCP side of a stream's receiver. Passive (the device connects): `listen()` opens a
server socket whose port goes into the SDP offer; the first connection is adopted and any further one is
refused (closed at once) and logged. Active (the platform connects): `connect()` opens the connection to the
port the device answered. Either way at most one connection carries the stream.

`RtpTcpConnection` is that connection's protocol: bytes go through `Rfc4571Buffer` and every whole frame is
handed to `on_packet`. A framing error closes that connection only, logged with the stream label; however
the connection ends, `ended` resolves with a reason an operator can read (the device closed it, bad framing,
a socket error) so the owner can end the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from clearsight.media.rtp_framing import FramingError, Rfc4571Buffer

logger = logging.getLogger(__name__)

# Seconds an outgoing (active) media connection may take before the device is declared unreachable.
CONNECT_TIMEOUT = 5.0

PacketHandler = Callable[[bytes, object], None]


class MediaConnectError(Exception):
    """The platform could not open the TCP media connection to the device (active mode)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot connect to {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class RtpTcpConnection(asyncio.Protocol):
    """One TCP connection carrying RFC 4571-framed RTP; whole frames go to `on_packet`."""

    def __init__(self, link: TcpMediaLink) -> None:
        self._link = link
        self._buffer = Rfc4571Buffer()
        self._transport: asyncio.Transport | None = None
        self.peer: object = None
        self.adopted = False
        self._closing_reason: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = transport.get_extra_info("peername")
        self.adopted = self._link.adopt(self)
        if not self.adopted:
            transport.abort()
            self._transport = None

    def data_received(self, data: bytes) -> None:
        if self._transport is None or self._closing_reason is not None:
            return
        self._buffer.feed(data)
        while True:
            try:
                packet = self._buffer.next_packet()
            except FramingError as exc:
                self._link.framing_errors += 1
                logger.warning("stream %s: closing TCP media connection from %s: bad RFC 4571 framing: %s",
                               self._link.label, format_peer(self.peer), exc)
                self.close(f"bad RFC 4571 framing from {format_peer(self.peer)}: {exc}")
                return
            if packet is None:
                return
            self._link.on_packet(packet, self.peer)

    def eof_received(self) -> bool | None:
        if self._closing_reason is None:
            partial = "" if self._buffer.at_frame_boundary else f" in the middle of a frame ({len(self._buffer)} bytes)"
            self._closing_reason = f"device closed the TCP media connection{partial}"
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.adopted:
            return
        reason = self._closing_reason
        if reason is None:
            reason = f"TCP media connection lost: {exc}" if exc is not None else "TCP media connection closed"
        self._link.connection_ended(self, reason)

    def close(self, reason: str) -> None:
        """Close this connection (the link reports `reason`)."""
        if self._closing_reason is None:
            self._closing_reason = reason
        if self._transport is not None:
            self._transport.abort()


class TcpMediaLink:
    """The TCP listener and/or connection of one stream; `ended` resolves when its connection ends."""

    def __init__(self, *, label: str, on_packet: PacketHandler) -> None:
        self.label = label
        self.on_packet = on_packet
        self.connection: RtpTcpConnection | None = None
        self.connections_refused = 0
        self.framing_errors = 0
        self._server: asyncio.Server | None = None
        self._loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[None] = self._loop.create_future()
        self.ended: asyncio.Future[str] = self._loop.create_future()
        self._closed = False

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def listen(self, host: str, port: int) -> int:
        """Accept the device's connection on `host`:`port` (0: ephemeral); returns the port bound."""
        self._server = await self._loop.create_server(lambda: RtpTcpConnection(self), host, port)
        bound = int(self._server.sockets[0].getsockname()[1])
        logger.debug("stream %s: listening for TCP media on %s:%d", self.label, host, bound)
        return bound

    async def connect(self, host: str, port: int, *, within: float = CONNECT_TIMEOUT) -> None:
        """Open the media connection to the device (active mode); MediaConnectError when that fails."""
        try:
            async with asyncio.timeout(within):
                await self._loop.create_connection(lambda: RtpTcpConnection(self), host, port)
        except TimeoutError as exc:
            raise MediaConnectError(host, port, f"no answer within {within:g} s") from exc
        except OSError as exc:
            raise MediaConnectError(host, port, exc.strerror or str(exc)) from exc
        if self.connection is None:  # adopt() refused it: a passive connection came first
            raise MediaConnectError(host, port, "another TCP connection already carries the stream")
        logger.debug("stream %s: connected to TCP media at %s:%d", self.label, host, port)

    def stop_listening(self) -> None:
        """Close the listening socket; an adopted connection stays open."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def close(self) -> None:
        self._closed = True
        self.stop_listening()
        if self.connection is not None:
            self.connection.close("stream closed")
        for future in (self.connected, self.ended):
            if not future.done():
                future.cancel()

    # --- called by RtpTcpConnection --------------------------------------------------------------
    def adopt(self, connection: RtpTcpConnection) -> bool:
        """Take `connection` as the stream's one connection; False (refuse) when there is one already."""
        if self._closed or self.connection is not None:
            self.connections_refused += 1
            logger.warning("stream %s: refusing TCP media connection from %s: %s", self.label,
                           format_peer(connection.peer),
                           "stream closed" if self._closed else
                           f"the stream already has one from {format_peer(self.connection and self.connection.peer)}")
            return False
        self.connection = connection
        logger.info("stream %s: TCP media connection with %s", self.label, format_peer(connection.peer))
        if not self.connected.done():
            self.connected.set_result(None)
        return True

    def connection_ended(self, connection: RtpTcpConnection, reason: str) -> None:
        if connection is not self.connection:
            return
        if not self._closed:
            logger.info("stream %s: %s", self.label, reason)
        if not self.ended.done():
            self.ended.set_result(reason)


def format_peer(peer: object) -> str:
    """A socket peer as HOST:PORT for logs and reasons."""
    if isinstance(peer, tuple) and len(peer) >= 2:  # (host, port) or (host, port, flow, scope)
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer is not None else "?"
