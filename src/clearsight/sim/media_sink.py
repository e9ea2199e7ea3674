"""The simulated device's media socket towards the platform, on the transport of the platform's SDP offer.

* ``RTP/AVP`` (UDP): datagrams to the address and port of the offer.
* ``TCP/RTP/AVP`` with ``a=setup:passive`` (the platform listens): the device connects, after the ACK, from a
  port bound at once (it goes into the answer with ``a=setup:active``) and sends RFC 4571-framed RTP.
* ``TCP/RTP/AVP`` with ``a=setup:active`` (the platform connects): the device listens, answers
  ``a=setup:passive`` with that port and sends once the platform has connected (one connection only).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from clearsight.gb28181.sdp import MediaTransport, SessionDescription, TcpSetup
from clearsight.media.rtp_framing import frame_rtp

logger = logging.getLogger(__name__)


class _NullProtocol(asyncio.DatagramProtocol):
    """The sending socket ignores anything sent back to it."""


class _UdpSink:
    """RTP as datagrams to the offered address."""

    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self._transport = transport

    async def open(self) -> None:
        return None

    def send(self, packet: bytes) -> None:
        self._transport.sendto(packet)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self._transport.close()


class _TcpSink:
    """RFC 4571-framed RTP on one TCP connection, opened by us (`sock` bound) or by the platform (`server`)."""

    def __init__(self, *, label: str, connect_to: tuple[str, int] | None = None, sock: socket.socket | None = None,
                 server: asyncio.Server | None = None, accepted: asyncio.Future[asyncio.StreamWriter] | None = None
                 ) -> None:
        self._label = label
        self._connect_to = connect_to
        self._sock = sock
        self._server = server
        self._accepted = accepted
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    def connecting(cls, label: str, local_host: str, remote: tuple[str, int]) -> tuple[_TcpSink, int]:
        """A sink that will connect to `remote` from a port bound now (the port goes into the answer)."""
        sock = socket.socket(socket.AF_INET6 if ":" in local_host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((local_host, 0))
        return cls(label=label, connect_to=remote, sock=sock), int(sock.getsockname()[1])

    @classmethod
    async def listening(cls, label: str, local_host: str) -> tuple[_TcpSink, int]:
        """A sink that waits for the platform to connect to the port returned."""
        accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

        async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if accepted.done():
                logger.warning("stream %s: refusing a second media connection from %s", label,
                               writer.get_extra_info("peername"))
                writer.close()
                return
            accepted.set_result(writer)

        server = await asyncio.start_server(accept, local_host, 0)
        return cls(label=label, server=server, accepted=accepted), int(server.sockets[0].getsockname()[1])

    async def open(self) -> None:
        if self._sock is not None and self._connect_to is not None:
            loop = asyncio.get_running_loop()
            await loop.sock_connect(self._sock, self._connect_to)
            _reader, self._writer = await asyncio.open_connection(sock=self._sock)
        elif self._accepted is not None:
            self._writer = await asyncio.shield(self._accepted)
        logger.debug("stream %s: media connection open", self._label)

    def send(self, packet: bytes) -> None:
        if self._writer is not None:
            if self._writer.is_closing():  # the platform hung up: stop before asyncio warns about lost writes
                raise ConnectionResetError("the platform closed the media connection")
            self._writer.write(frame_rtp(packet))

    async def drain(self) -> None:
        if self._writer is not None:
            await self._writer.drain()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self._sock is not None:
            self._sock.close()
        if self._accepted is not None and self._accepted.done() and not self._accepted.cancelled():
            self._accepted.result().close()
        if self._server is not None:
            self._server.close()


MediaSink = _UdpSink | _TcpSink  # what `open_media_sink` returns: open(), send(packet), drain(), close()


async def open_media_sink(offer: SessionDescription, local_host: str, label: str
                          ) -> tuple[MediaSink, int, MediaTransport]:
    """The device's media socket for `offer`, the port for the answer and the device's transport role."""
    remote = (offer.host, offer.stream.port)
    if not offer.stream.is_tcp:
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(_NullProtocol, local_addr=(local_host, 0), remote_addr=remote)
        return _UdpSink(udp), int(udp.get_extra_info("sockname")[1]), MediaTransport.UDP
    if offer.setup in (TcpSetup.PASSIVE, TcpSetup.ACTPASS):  # the platform listens: we connect
        sink, port = _TcpSink.connecting(label, local_host, remote)
        return sink, port, MediaTransport.TCP_ACTIVE
    sink, port = await _TcpSink.listening(label, local_host)  # a=setup:active or none (RFC 4145)
    return sink, port, MediaTransport.TCP_PASSIVE
