"""The transport layer under `SipEndpoint` (RFC 3261 §18), asyncio: one UDP socket and one TCP
listener on the same port, a registry of TCP connections, and one timer queue for all transactions.

Beyond framing, the only SIP it knows is §18's: stamping `received`/`rport` into the top Via of what
arrives, and where a response goes when its request's connection has closed.

TCP connections are bounded (`TcpLimits`): one that receives nothing for `idle_timeout` seconds is closed,
and accepted connections beyond `max_connections` in all or `max_per_source` from one address are closed
at once (logged once per LOG_INTERVAL with a count), while the open ones keep serving.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

from clearsight.sip.address import Via
from clearsight.sip.errors import FramingError, SipError, SipParseError
from clearsight.sip.framing import SipStreamBuffer
from clearsight.sip.headers import Headers, split_list_value
from clearsight.sip.interval_log import IntervalLog
from clearsight.sip.message import SipRequest, SipResponse
from clearsight.sip.transaction import DEFAULT_SIP_PORT

logger = logging.getLogger(__name__)

# A peer that does not read its responses must not make us buffer without bound.
MAX_TCP_WRITE_BUFFER = 1024 * 1024
# Enough kernel buffer to ride out a burst of keepalives from tens of thousands of devices.
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024
# asyncio may run a timer handle slightly before its deadline (clock resolution); treat those as due.
TIMER_SLACK = 0.001

# Refused TCP connections are logged at most this often (with how many were refused in between).
LOG_INTERVAL = 60.0
DEFAULT_TCP_IDLE_TIMEOUT = 300.0  # above 3 missed keepalives at the standard 60 s
DEFAULT_TCP_MAX_CONNECTIONS = 10_000
DEFAULT_TCP_MAX_PER_SOURCE = 1_000  # a site of 500 devices behind one NAT address, twice over

TRANSPORTS = ("UDP", "TCP")
BIND_ATTEMPTS = 5  # tries to find an ephemeral port free on both UDP and TCP


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from or goes to. `host` is an IP address literal."""

    transport: str  # "UDP" | "TCP"
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport} {host}:{self.port}"


@dataclass(frozen=True, slots=True)
class TcpLimits:
    """Bounds on SIP-over-TCP connections; 0 turns a bound off. Connections we open count towards none."""

    idle_timeout: float = DEFAULT_TCP_IDLE_TIMEOUT  # seconds without receiving a byte
    max_connections: int = DEFAULT_TCP_MAX_CONNECTIONS  # accepted and open at once
    max_per_source: int = DEFAULT_TCP_MAX_PER_SOURCE  # accepted and open at once from one address

    def __post_init__(self) -> None:
        if self.idle_timeout < 0 or self.max_connections < 0 or self.max_per_source < 0:
            raise ValueError("TCP limits must not be negative")


@dataclass(slots=True)
class TcpCounts:
    """Totals since start, read by the metrics collector."""

    accepted: int = 0
    refused_global: int = 0  # over max_connections
    refused_per_source: int = 0  # over max_per_source
    idle_closed: int = 0


class TransportError(SipError):
    """A message could not be sent to a peer (connection refused or lost, endpoint closed)."""

    def __init__(self, peer: Peer, reason: str) -> None:
        super().__init__(f"{peer}: {reason}")
        self.peer = peer
        self.reason = reason


def guess_local_host(bind_host: str) -> str:
    """The address to advertise in Via/Contact when bound to a wildcard: the one routing outwards."""
    if bind_host not in ("", "0.0.0.0", "::"):
        return bind_host
    family = socket.AF_INET6 if bind_host == "::" else socket.AF_INET
    probe = "2001:db8::1" if family == socket.AF_INET6 else "192.0.2.1"  # documentation ranges
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))  # UDP connect sends nothing; it only selects a route
            return str(sock.getsockname()[0])
    except OSError:
        return "::1" if family == socket.AF_INET6 else "127.0.0.1"


class UdpSocket(asyncio.DatagramProtocol):
    """The endpoint's UDP socket: hands every datagram to `on_datagram(data, (host, port))`."""

    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # cast, not isinstance: the selector loop's datagram transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            except OSError as exc:
                logger.info("could not enlarge the UDP receive buffer: %s", exc)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._on_datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for an earlier sendto: the device went away; transactions time out.
        logger.debug("UDP socket error: %s", exc)

    def send(self, data: bytes, host: str, port: int) -> None:
        if self.transport is None or self.transport.is_closing():
            raise TransportError(Peer("UDP", host, port), "UDP socket closed")
        self.transport.sendto(data, (host, port))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class StreamSink(Protocol):
    """What a `TcpConnection` reports to (the endpoint)."""

    def connection_opened(self, connection: TcpConnection) -> None: ...
    def stream_message(self, data: bytes, connection: TcpConnection) -> None: ...
    def stream_rejected(self, connection: TcpConnection, reason: str) -> None: ...
    def connection_idle(self, connection: TcpConnection) -> None: ...
    def connection_closed(self, connection: TcpConnection) -> None: ...


class TcpConnection(asyncio.Protocol):
    """One SIP-over-TCP connection, accepted or opened by us; frames with `SipStreamBuffer`."""

    def __init__(self, sink: StreamSink, *, accepted: bool = False, idle_timeout: float = 0.0) -> None:
        self._sink = sink
        self._buffer = SipStreamBuffer()
        self.transport: asyncio.Transport | None = None
        self.peer = Peer("TCP", "", 0)
        self.closed = False
        self.accepted = accepted  # the peer connected to us (counted against the limits)
        self.refused = False  # closed at once by the connection limits; never served
        self._idle_timeout = idle_timeout
        self._idle_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set while idle time is watched
        self._last_received = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peername = self.transport.get_extra_info("peername")
        if peername:
            self.peer = Peer("TCP", str(peername[0]), int(peername[1]))
        if self._idle_timeout > 0:
            self._loop = loop = asyncio.get_running_loop()
            self._last_received = loop.time()
            self._idle_handle = loop.call_later(self._idle_timeout, self._check_idle)
        self._sink.connection_opened(self)

    def _check_idle(self) -> None:
        # One timer per connection, moved only when it fires: data_received just notes the time.
        self._idle_handle = None
        loop = self._loop
        if self.closed or loop is None:
            return
        quiet = loop.time() - self._last_received
        if quiet + TIMER_SLACK >= self._idle_timeout:
            self._sink.connection_idle(self)
            self.abort()
            return
        self._idle_handle = loop.call_later(self._idle_timeout - quiet, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self._loop is not None:
            self._last_received = self._loop.time()
        self._buffer.feed(data)
        while not self.closed:
            try:
                message = self._buffer.next_message()
            except FramingError as exc:
                self._sink.stream_rejected(self, str(exc))
                self.abort()
                return
            if message is None:
                return
            self._sink.stream_message(message, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        self._sink.connection_closed(self)

    def send(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise TransportError(self.peer, "connection closed")
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > MAX_TCP_WRITE_BUFFER:
            logger.warning("%s does not read (over %d bytes queued); disconnecting", self.peer,
                           MAX_TCP_WRITE_BUFFER)
            self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def stamp_received(request: SipRequest, peer: Peer) -> None:
    """Add `received=` and fill `rport=` in the top Via (RFC 3261 §18.2.1, RFC 3581 §4).

    Raises SipParseError when the top Via is unreadable.
    """
    items = list(request.headers)
    for index, (name, value) in enumerate(items):
        if name != "Via":
            continue
        parts = split_list_value(value)
        top = Via.parse(parts[0])
        params = dict(top.params)
        if top.host != peer.host:
            params["received"] = peer.host
        if "rport" in params:
            params["rport"] = str(peer.port)
        if params != top.params:
            parts[0] = str(Via(top.transport, top.host, top.port, params))
            items[index] = (name, ", ".join(parts))
            request.headers = Headers(items)
        return


def response_destination(response: SipResponse, peer: Peer) -> Peer:
    """Where a response goes over TCP when its request's connection is gone: `received` (or the
    source address) and the sent-by port of the top Via (RFC 3261 §18.2.2)."""
    try:
        via = response.top_via
    except SipParseError:
        return peer
    return Peer("TCP", via.params.get("received") or peer.host, via.port or DEFAULT_SIP_PORT)


class TransportUser(Protocol):
    """What the transport layer hands received bytes to (the endpoint)."""

    def message_bytes(self, data: bytes, peer: Peer, connection: TcpConnection | None) -> None: ...
    def input_rejected(self, peer: Peer, reason: str) -> None: ...
    def connection_lost(self, connection: TcpConnection) -> None: ...


class SipTransport:
    """UDP and TCP bound to one port, plus the open TCP connections keyed by remote address."""

    def __init__(self, host: str, port: int, user: TransportUser, *, udp: bool = True,
                 tcp: bool = True, limits: TcpLimits | None = None) -> None:
        self.limits = limits or TcpLimits()
        self.counts = TcpCounts()
        self._accepted_open = 0
        self._accepted_by_host: dict[str, int] = {}
        self._refusal_log = IntervalLog(logger, LOG_INTERVAL)
        self.host = host
        self.port = port
        self.udp_port = 0
        self.tcp_port = 0
        self._user = user
        self._use_udp, self._use_tcp = udp, tcp
        self._udp: UdpSocket | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], TcpConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Future[TcpConnection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(BIND_ATTEMPTS):
            port = self.port
            if self._use_udp:
                transport, self._udp = await loop.create_datagram_endpoint(
                    lambda: UdpSocket(self._on_datagram), local_addr=(self.host, port))
                port = self.udp_port = int(transport.get_extra_info("sockname")[1])
            if self._use_tcp:
                try:
                    self._server = await loop.create_server(self._accept, self.host, port, reuse_address=True)
                except OSError:
                    if self._udp is not None and self.port == 0 and attempt + 1 < BIND_ATTEMPTS:
                        self._udp.close()  # that ephemeral port is taken on TCP: try another
                        continue
                    raise
                self.tcp_port = int(self._server.sockets[0].getsockname()[1])
            return

    async def close(self) -> None:
        self._closed = True
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections.values()):
            conn.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive pings (CRLF, NUL) carry nothing
        self._user.message_bytes(data, Peer("UDP", addr[0], addr[1]), None)

    def _accept(self) -> TcpConnection:
        return TcpConnection(self, accepted=True, idle_timeout=self.limits.idle_timeout)

    @property
    def accepted_connections(self) -> int:
        """Connections peers opened to us that are open now."""
        return self._accepted_open

    # StreamSink
    def connection_opened(self, connection: TcpConnection) -> None:
        if connection.accepted and not self._admit(connection):
            connection.refused = True
            connection.abort()
            return
        self._connections[(connection.peer.host, connection.peer.port)] = connection
        logger.debug("TCP connection with %s", connection.peer)

    def _admit(self, connection: TcpConnection) -> bool:
        host, limits = connection.peer.host, self.limits
        if limits.max_connections and self._accepted_open >= limits.max_connections:
            self.counts.refused_global += 1
            self._refusal_log.warning("global", "refused TCP connection from %s: %d connections open (the "
                                      "limit, CLEARSIGHT_SIP_TCP_MAX_CONNECTIONS)", connection.peer,
                                      self._accepted_open)
            return False
        from_host = self._accepted_by_host.get(host, 0)
        if limits.max_per_source and from_host >= limits.max_per_source:
            self.counts.refused_per_source += 1
            self._refusal_log.warning(host, "refused TCP connection from %s: %d connections open from that "
                                      "address (the limit, CLEARSIGHT_SIP_TCP_MAX_PER_SOURCE)", connection.peer,
                                      from_host)
            return False
        self.counts.accepted += 1
        self._accepted_open += 1
        self._accepted_by_host[host] = from_host + 1
        return True

    def connection_idle(self, connection: TcpConnection) -> None:
        self.counts.idle_closed += 1
        logger.info("closing TCP connection with %s: nothing received for %.0f s", connection.peer,
                    self.limits.idle_timeout)

    def stream_message(self, data: bytes, connection: TcpConnection) -> None:
        self._user.message_bytes(data, connection.peer, connection)

    def stream_rejected(self, connection: TcpConnection, reason: str) -> None:
        logger.warning("closing TCP connection with %s: %s", connection.peer, reason)
        self._user.input_rejected(connection.peer, reason)

    def connection_closed(self, connection: TcpConnection) -> None:
        if connection.refused:
            return  # never served: nothing refers to it
        if connection.accepted:
            self._accepted_open -= 1
            host = connection.peer.host
            left = self._accepted_by_host.get(host, 1) - 1
            if left > 0:
                self._accepted_by_host[host] = left
            else:
                self._accepted_by_host.pop(host, None)
        key = (connection.peer.host, connection.peer.port)
        if self._connections.get(key) is connection:
            del self._connections[key]
        self._user.connection_lost(connection)

    async def connection_to(self, peer: Peer) -> TcpConnection:
        """The open connection to `peer` (the device's own, if it connected to us) or a new one."""
        key = (peer.host, peer.port)
        conn = self._connections.get(key)
        if conn is not None and not conn.closed:
            return conn
        pending = self._connecting.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        if self._closed:
            raise TransportError(peer, "transport closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TcpConnection] = loop.create_future()
        self._connecting[key] = future
        try:
            _, conn = await loop.create_connection(lambda: TcpConnection(self), peer.host, peer.port)
        except OSError as exc:
            error = TransportError(peer, f"cannot connect: {exc}")
            future.set_exception(error)
            future.exception()  # marks it retrieved: only waiters care
            raise error from exc
        finally:
            self._connecting.pop(key, None)
        future.set_result(conn)
        return conn

    def send(self, data: bytes, peer: Peer, connection: TcpConnection | None = None) -> None:
        """Send now (UDP, open TCP connection) or after connecting; failures are logged, not raised."""
        if self._closed:
            return
        try:
            if peer.transport == "UDP":
                if self._udp is None:
                    raise TransportError(peer, "UDP is disabled")
                self._udp.send(data, peer.host, peer.port)
                return
            if connection is None or connection.closed:
                connection = self._connections.get((peer.host, peer.port))
            if connection is not None and not connection.closed:
                connection.send(data)
                return
        except TransportError as exc:
            logger.warning("cannot send to %s: %s", peer, exc.reason)
            return
        task = asyncio.get_running_loop().create_task(self._send_after_connecting(data, peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_after_connecting(self, data: bytes, peer: Peer) -> None:
        try:
            (await self.connection_to(peer)).send(data)
        except TransportError as exc:
            logger.warning("cannot send to %s: %s", peer, exc.reason)


T = TypeVar("T")


class TimerQueue(Generic[T]):
    """Many deadlines behind one `loop.call_at` handle: a heap of (deadline, seq, item).

    Entries are never removed early; the owner ignores items whose deadline moved (lazy deletion).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_due: Callable[[float, T, float], None]) -> None:
        self._loop = loop
        self._on_due = on_due  # (deadline, item, now)
        self._heap: list[tuple[float, int, T]] = []
        self._seq = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, deadline: float, item: T) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, item))
        if self._armed_at is None or deadline < self._armed_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = deadline
        self._handle = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_at = None
        now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now + TIMER_SLACK:
            deadline, _, item = heapq.heappop(heap)
            try:
                self._on_due(deadline, item, max(now, deadline))
            except Exception:
                logger.exception("timer callback failed")
        if heap and self._armed_at is None:
            self._arm(heap[0][0])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed_at = None
        self._heap.clear()
