"""The SIP endpoint: UDP and TCP on one port, transactions driven by one timer queue (asyncio).

Thin by design: parsing is `parse_message`/`SipStreamBuffer`, every protocol decision is in the
`ClientTransaction`/`ServerTransaction` machines; this module moves bytes and runs their actions.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from clearsight.sip.address import BRANCH_MAGIC_COOKIE
from clearsight.sip.dialog import Dialog
from clearsight.sip.errors import MalformedRequest, SipError, SipParseError
from clearsight.sip.gate import Refusal, RequestGate
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipMessage, SipRequest, SipResponse, make_response, parse_message
from clearsight.sip.transaction import (
    DEFAULT_TIMERS,
    ClientTransaction,
    DeliverResponse,
    SendMessage,
    ServerTransaction,
    Terminated,
    Timeout,
    TimerConfig,
    TransactionAction,
    TransactionKey,
    TransactionState,
    TransactionStateError,
    response_key,
    server_key,
)
from clearsight.sip.transport import (
    TRANSPORTS,
    Peer,
    SipTransport,
    TcpConnection,
    TcpLimits,
    TimerQueue,
    TransportError,
    guess_local_host,
    response_destination,
    stamp_received,
)

__all__ = ["IncomingRequest", "Peer", "SipEndpoint", "SipObserver", "TransactionTimeout", "TransportError"]

logger = logging.getLogger(__name__)

MAX_FORWARDS = 70  # RFC 3261 §8.1.1.6
WARN_CODE_MISC = 399  # RFC 3261 §20.43: miscellaneous warning


class TransactionTimeout(SipError):
    """No final response: Timer B/F fired, or the caller's `timeout` ran out."""

    def __init__(self, method: str, peer: Peer) -> None:
        super().__init__(f"{method} to {peer}: no final response")
        self.method = method
        self.peer = peer


class SipObserver(Protocol):
    """Metrics hooks; subclass and override what you need (the rest are no-ops)."""

    def message_received(self, message: SipMessage, peer: Peer) -> None:
        return None

    def message_sent(self, message: SipMessage, peer: Peer) -> None:
        return None

    def transaction_timed_out(self, method: str) -> None:
        return None

    def message_rejected(self, peer: Peer, reason: str) -> None:
        return None


class _NullObserver(SipObserver):
    pass


Handler = Callable[["IncomingRequest"], Awaitable[None]]


@dataclass(slots=True)
class IncomingRequest:
    """A request for the application; answer it with `respond` before the handler returns.

    ACKs for 2xx are delivered too (they end INVITE dialogs' setup) but cannot be answered. A handler
    that returns (or raises) without a final response gets `500` sent for it.
    """

    request: SipRequest
    peer: Peer
    to_tag: str | None = None
    cancelled: bool = False  # the INVITE was CANCELled and answered 487 by the endpoint
    _endpoint: SipEndpoint | None = field(default=None, repr=False)
    _entry: _ServerEntry | None = field(default=None, repr=False)

    @property
    def final_sent(self) -> bool:
        return self._entry is None or self._entry.tx.final_sent or self._entry.tx.terminated

    async def respond(self, status: int, reason: str | None = None, *,
                      headers: dict[str, str] | list[tuple[str, str]] | None = None, body: bytes = b"",
                      content_type: str | None = None, to_tag: str | None = None) -> SipResponse:
        """Send a response through the server transaction; a second final one raises TransactionStateError."""
        endpoint, entry = self._endpoint, self._entry
        if endpoint is None or entry is None:
            raise TransactionStateError(f"{self.request.method} is never answered")
        if to_tag is not None:
            self.to_tag = to_tag
        elif status > 100 and self.to_tag is None:
            self.to_tag = endpoint.new_tag()
        response = make_response(self.request, status, reason, to_tag=self.to_tag if status > 100 else None,
                                 body=body, content_type=content_type)
        items = headers.items() if isinstance(headers, dict) else headers or ()
        for name, value in items:
            response.headers.add(name, value)
        if "User-Agent" not in response.headers:
            response.headers.add("User-Agent", endpoint.user_agent)
        endpoint._send_response(entry, response)
        return response


class _ServerEntry:
    __slots__ = ("accepted_key", "conn", "incoming", "peer", "scheduled_at", "tx")

    def __init__(self, tx: ServerTransaction, peer: Peer, conn: TcpConnection | None) -> None:
        self.tx = tx
        self.peer = peer
        self.conn = conn
        self.incoming: IncomingRequest | None = None
        self.accepted_key: tuple[str, int] | None = None
        self.scheduled_at: float | None = None


class _ClientEntry:
    __slots__ = ("conn", "future", "on_provisional", "peer", "scheduled_at", "tx")

    def __init__(self, tx: ClientTransaction, peer: Peer, future: asyncio.Future[SipResponse],
                 on_provisional: Callable[[SipResponse], None] | None, conn: TcpConnection | None) -> None:
        self.tx = tx
        self.peer = peer
        self.future = future
        self.on_provisional = on_provisional
        self.conn = conn
        self.scheduled_at: float | None = None


@dataclass(slots=True)
class _AckMemo:
    """The ACK we sent for a 2xx, resent when that 2xx is retransmitted (RFC 3261 §13.2.2.4)."""

    key: tuple[str, int]
    data: bytes
    peer: Peer
    expires: float


_Timed = _ServerEntry | _ClientEntry | _AckMemo


def _warning_text(reason: str) -> str:
    cleaned = "".join(c if c.isprintable() and c not in '"\\' else " " for c in reason)
    return cleaned[:200]


class SipEndpoint:
    """A SIP user agent bound to `host:port` on UDP and TCP (the transaction user of RFC 3261 §17).

    `on_request` runs as a task per new request; retransmissions are answered by the transaction and
    never reach it. CANCEL is handled here (200, then 487 for the INVITE, which is marked `cancelled`).
    ACKs are delivered (unanswerable). Malformed requests get 400 with a Warning; other unparsable
    input is logged and dropped. Responses to UDP requests go to the packet's source (RFC 3581).
    A `gate` sees each new request first and may refuse it statelessly or drop it (`sip.gate`).
    """

    def __init__(self, host: str, port: int, *, user_agent: str, on_request: Handler,
                 observer: SipObserver | None = None, udp: bool = True, tcp: bool = True,
                 timers: TimerConfig = DEFAULT_TIMERS, advertised_host: str | None = None,
                 gate: RequestGate | None = None, tcp_limits: TcpLimits | None = None) -> None:
        if not (udp or tcp):
            raise ValueError("enable UDP, TCP or both")
        self.user_agent = user_agent
        self._on_request = on_request
        self._gate = gate
        self._observer: SipObserver = observer or _NullObserver()
        self._timer_config = timers
        self._advertised_host = advertised_host
        self.local_host = advertised_host or host
        self._transport = SipTransport(host, port, self, udp=udp, tcp=tcp, limits=tcp_limits)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: TimerQueue[_Timed] | None = None
        self._client: dict[TransactionKey, _ClientEntry] = {}
        self._server: dict[TransactionKey, _ServerEntry] = {}
        self._accepted: dict[tuple[str, int], _ServerEntry] = {}  # (Call-ID, CSeq) of INVITEs we 2xx'd
        self._acks: dict[tuple[str, int], _AckMemo] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def udp_port(self) -> int:
        return self._transport.udp_port

    @property
    def tcp_port(self) -> int:
        return self._transport.tcp_port

    @property
    def transport(self) -> SipTransport:
        return self._transport

    async def start(self) -> None:
        """Bind UDP and TCP on the same port (0 → an ephemeral one, see `udp_port`/`tcp_port`)."""
        self._loop = asyncio.get_running_loop()
        self._timers = TimerQueue(self._loop, self._on_due)
        await self._transport.start()
        self.local_host = self._advertised_host or guess_local_host(self._transport.host)
        logger.info("SIP endpoint on %s (UDP %s, TCP %s)", self.local_host, self.udp_port or "off",
                    self.tcp_port or "off")

    async def close(self) -> None:
        self._closing = True
        if self._timers is not None:
            self._timers.close()
        for entry in self._client.values():
            if not entry.future.done():
                entry.future.set_exception(TransportError(entry.peer, "endpoint closed"))
        for table in (self._client, self._server, self._accepted, self._acks):
            table.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._transport.close()

    # ----------------------------------------------------------------- identifiers and helpers

    def new_call_id(self) -> str:
        return f"{secrets.token_hex(12)}@{self.local_host}"

    def new_tag(self) -> str:
        return secrets.token_hex(6)

    def new_branch(self) -> str:
        return BRANCH_MAGIC_COOKIE + secrets.token_hex(10)

    def _port_for(self, transport: str) -> int:
        return self.udp_port if transport == "UDP" else self.tcp_port

    def _sent_by(self, transport: str) -> str:
        host = f"[{self.local_host}]" if ":" in self.local_host else self.local_host
        return f"{host}:{self._port_for(transport)}"

    def local_contact(self, transport: str = "UDP", user: str | None = None) -> str:
        """`<sip:user@host:port>` for Contact headers (`;transport=tcp` for TCP)."""
        userinfo = f"{user}@" if user else ""
        suffix = ";transport=tcp" if transport == "TCP" else ""
        return f"<sip:{userinfo}{self._sent_by(transport)}{suffix}>"

    def _now(self) -> float:
        assert self._loop is not None, "SipEndpoint.start() was not awaited"
        return self._loop.time()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------- sending

    def _prepare_request(self, request: SipRequest, peer: Peer) -> None:
        if peer.transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {peer.transport!r}")
        if not request.headers.get_all("Via"):
            via = f"SIP/2.0/{peer.transport} {self._sent_by(peer.transport)};rport;branch={self.new_branch()}"
            request.headers = Headers([("Via", via), *request.headers])
        if "Max-Forwards" not in request.headers:
            request.headers.add("Max-Forwards", str(MAX_FORWARDS))
        if "User-Agent" not in request.headers:
            request.headers.add("User-Agent", self.user_agent)

    async def send_request(
        self, request: SipRequest, peer: Peer, *, timeout: float | None = None,  # noqa: ASYNC109
        on_provisional: Callable[[SipResponse], None] | None = None,
    ) -> SipResponse:
        """Send `request` in a client transaction and return its final response.

        Adds Via (new branch, rport), Max-Forwards and User-Agent when absent (the request is modified).
        Raises TransactionTimeout on Timer B/F or after `timeout` seconds, TransportError when a TCP
        connection cannot be opened or is lost. The ACK for a 2xx to INVITE is the caller's: `send_ack`.
        """
        if request.method == "ACK":
            raise ValueError("ACK has no transaction: use send_ack or send_stateless")
        self._prepare_request(request, peer)
        conn = await self._transport.connection_to(peer) if peer.transport == "TCP" else None
        tx = ClientTransaction(request, reliable=peer.reliable, timers=self._timer_config)
        if tx.key in self._client:
            raise ValueError(f"a transaction with branch {tx.key[0]} is already running")
        assert self._loop is not None
        future: asyncio.Future[SipResponse] = self._loop.create_future()
        entry = _ClientEntry(tx, peer, future, on_provisional, conn)
        self._client[tx.key] = entry
        self._run_client(entry, tx.start(self._now()))
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self._observer.transaction_timed_out(request.method)
            raise TransactionTimeout(request.method, peer) from None
        finally:
            if not future.done() or future.cancelled():
                self._run_client(entry, tx.terminate())

    async def send_stateless(self, message: SipMessage, peer: Peer) -> None:
        """Send without a transaction (ACK for a 2xx, a proxied response…); requests get a Via."""
        if isinstance(message, SipRequest):
            self._prepare_request(message, peer)
        conn = await self._transport.connection_to(peer) if peer.transport == "TCP" else None
        self._transmit(message, peer, conn)

    async def send_ack(self, dialog: Dialog, peer: Peer, *, body: bytes = b"",
                       content_type: str | None = None) -> SipRequest:
        """ACK a 2xx to INVITE; the ACK is resent by itself if the 2xx is retransmitted."""
        ack = dialog.create_ack(body=body, content_type=content_type)
        await self.send_stateless(ack, peer)
        key = (ack.call_id, ack.cseq.number)
        memo = _AckMemo(key, ack.to_bytes(), peer, self._now() + self._timer_config.timeout)
        self._acks[key] = memo
        assert self._timers is not None
        self._timers.schedule(memo.expires, memo)
        return ack

    def _transmit(self, message: SipMessage, peer: Peer, conn: TcpConnection | None) -> None:
        if self._closing:
            return
        self._transport.send(message.to_bytes(), peer, conn)
        self._observer.message_sent(message, peer)

    # ----------------------------------------------------------------- transaction actions

    def _schedule(self, entry: _ServerEntry | _ClientEntry) -> None:
        deadline = entry.tx.next_deadline
        if deadline is not None and (entry.scheduled_at is None or deadline < entry.scheduled_at):
            entry.scheduled_at = deadline
            assert self._timers is not None
            self._timers.schedule(deadline, entry)

    def _on_due(self, deadline: float, item: _Timed, now: float) -> None:
        if isinstance(item, _AckMemo):
            if self._acks.get(item.key) is item:
                del self._acks[item.key]
            return
        if item.scheduled_at != deadline:
            return  # superseded by an earlier deadline
        item.scheduled_at = None
        if isinstance(item, _ClientEntry):
            self._run_client(item, item.tx.on_timer(now))
        else:
            self._run_server(item, item.tx.on_timer(now))

    def _run_client(self, entry: _ClientEntry, actions: list[TransactionAction]) -> None:
        for action in actions:
            if isinstance(action, SendMessage):
                self._transmit(action.message, entry.peer, entry.conn)
            elif isinstance(action, DeliverResponse):
                self._deliver_response(entry, action.response)
            elif isinstance(action, Timeout):
                self._observer.transaction_timed_out(entry.tx.method)
                if not entry.future.done():
                    entry.future.set_exception(TransactionTimeout(entry.tx.method, entry.peer))
            elif isinstance(action, Terminated) and self._client.get(entry.tx.key) is entry:
                del self._client[entry.tx.key]
        self._schedule(entry)

    def _deliver_response(self, entry: _ClientEntry, response: SipResponse) -> None:
        if response.status < 200:
            if entry.on_provisional is not None:
                try:
                    entry.on_provisional(response)
                except Exception:
                    logger.exception("on_provisional callback failed for %s", response)
        elif not entry.future.done():
            entry.future.set_result(response)
        else:
            self._resend_ack(response)

    def _resend_ack(self, response: SipResponse) -> bool:
        memo = self._acks.get((response.call_id, response.cseq.number))
        if memo is None:
            return False
        if not self._closing:
            self._transport.send(memo.data, memo.peer)
        return True

    def _run_server(self, entry: _ServerEntry, actions: list[TransactionAction]) -> None:
        for action in actions:
            if isinstance(action, SendMessage):
                peer = entry.peer
                if entry.conn is not None and entry.conn.closed and isinstance(action.message, SipResponse):
                    peer = response_destination(action.message, peer)
                self._transmit(action.message, peer, entry.conn)
            elif isinstance(action, Timeout):
                self._observer.transaction_timed_out(entry.tx.method)
                logger.warning("no ACK from %s for our %s to INVITE (timer %s)", entry.peer,
                               entry.tx.last_response.status if entry.tx.last_response else "?", action.timer)
            elif isinstance(action, Terminated):
                if self._server.get(entry.tx.key) is entry:
                    del self._server[entry.tx.key]
                if entry.accepted_key is not None and self._accepted.get(entry.accepted_key) is entry:
                    del self._accepted[entry.accepted_key]
                entry.incoming = None
        self._schedule(entry)

    def _send_response(self, entry: _ServerEntry, response: SipResponse) -> None:
        actions = entry.tx.send_response(response, self._now())  # raises TransactionStateError
        if entry.tx.state is TransactionState.ACCEPTED:
            entry.accepted_key = (response.call_id, response.cseq.number)
            self._accepted[entry.accepted_key] = entry
        elif response.status >= 200 and not entry.tx.is_invite:
            entry.incoming = None  # only CANCEL needs it, and only for INVITE
        self._run_server(entry, actions)

    # ----------------------------------------------------------------- receiving

    # TransportUser
    def input_rejected(self, peer: Peer, reason: str) -> None:
        self._observer.message_rejected(peer, reason)

    def connection_lost(self, connection: TcpConnection) -> None:
        for entry in list(self._client.values()):
            if entry.conn is connection and not entry.future.done():
                entry.future.set_exception(TransportError(entry.peer, "connection lost"))
                self._run_client(entry, entry.tx.terminate())

    def message_bytes(self, data: bytes, peer: Peer, connection: TcpConnection | None) -> None:
        self._on_bytes(data, peer, connection)

    def _on_bytes(self, data: bytes, peer: Peer, conn: TcpConnection | None) -> None:
        try:
            message = parse_message(data)
        except MalformedRequest as exc:
            self._reject_malformed(exc, peer, conn)
            return
        except SipParseError as exc:
            logger.warning("dropped unparsable message from %s: %s", peer, exc.reason)
            self._observer.message_rejected(peer, exc.reason)
            return
        try:
            self._observer.message_received(message, peer)
            if isinstance(message, SipRequest):
                self._on_request_message(message, peer, conn)
            else:
                self._on_response_message(message, peer)
        except SipParseError as exc:
            logger.warning("dropped %s from %s: %s", message, peer, exc.reason)
            self._observer.message_rejected(peer, exc.reason)
        except Exception:
            logger.exception("internal error handling %s from %s", message, peer)

    def _reject_malformed(self, exc: MalformedRequest, peer: Peer, conn: TcpConnection | None) -> None:
        logger.warning("malformed request from %s: %s", peer, exc.reason)
        self._observer.message_rejected(peer, exc.reason)
        request = exc.request
        if not isinstance(request, SipRequest) or request.method == "ACK":
            return
        try:
            stamp_received(request, peer)
            text = _warning_text(exc.reason)
            response = make_response(request, 400, f"Bad Request ({text[:80]})", to_tag=self.new_tag())
            response.headers.add("Warning", f'{WARN_CODE_MISC} {self._sent_by(peer.transport)} "{text}"')
            response.headers.add("User-Agent", self.user_agent)
            self._transmit(response, peer, conn)
        except SipParseError as error:
            logger.warning("cannot answer malformed request from %s: %s", peer, error.reason)

    def _on_request_message(self, request: SipRequest, peer: Peer, conn: TcpConnection | None) -> None:
        if request.method == "ACK":
            self._on_ack(request, peer, conn)
            return
        key = server_key(request)
        entry = self._server.get(key)
        if entry is not None:  # a retransmission: the transaction answers it, the handler never sees it
            self._run_server(entry, entry.tx.receive_request(request, self._now()))
            return
        stamp_received(request, peer)
        if self._gate is not None and (refusal := self._gate(request, peer)) is not None:
            self._refuse(request, peer, conn, refusal)
            return
        tx = ServerTransaction(request, reliable=peer.reliable, timers=self._timer_config, key=key)
        entry = _ServerEntry(tx, peer, conn)
        self._server[key] = entry
        if request.method == "CANCEL":
            self._run_server(entry, tx.start(self._now()))
            self._on_cancel(request, entry)
            return
        incoming = IncomingRequest(request, peer, _endpoint=self, _entry=entry)
        entry.incoming = incoming
        self._run_server(entry, tx.start(self._now()))
        self._spawn(self._dispatch(incoming))

    def _refuse(self, request: SipRequest, peer: Peer, conn: TcpConnection | None, refusal: Refusal) -> None:
        if refusal.status is None:
            return
        response = make_response(request, refusal.status, refusal.reason, to_tag=self.new_tag())
        for name, value in refusal.headers:
            response.headers.add(name, value)
        response.headers.add("User-Agent", self.user_agent)
        self._transmit(response, peer, conn)

    def _on_ack(self, request: SipRequest, peer: Peer, conn: TcpConnection | None) -> None:
        entry = self._server.get(server_key(request))
        if entry is not None and entry.tx.state is not TransactionState.ACCEPTED:
            self._run_server(entry, entry.tx.receive_request(request, self._now()))  # ACK for a non-2xx
            return
        if entry is None:  # ACK for a 2xx has a branch of its own: match it by Call-ID and CSeq
            entry = self._accepted.get((request.call_id, request.cseq.number))
        if entry is not None:
            if entry.tx.acked:
                return  # a retransmitted ACK
            self._run_server(entry, entry.tx.receive_ack(self._now()))
        # The dialog layer above decides what an ACK means, including one that matches nothing here.
        self._spawn(self._dispatch(IncomingRequest(request, peer)))

    def _on_cancel(self, cancel: SipRequest, cancel_entry: _ServerEntry) -> None:
        invite_entry = self._server.get(server_key(cancel, method="INVITE"))
        incoming = invite_entry.incoming if invite_entry is not None else None
        if invite_entry is None or incoming is None:
            response = make_response(cancel, 481, to_tag=self.new_tag())
            response.headers.add("User-Agent", self.user_agent)
            self._send_response(cancel_entry, response)
            return
        if incoming.to_tag is None:
            incoming.to_tag = self.new_tag()
        ok = make_response(cancel, 200, to_tag=incoming.to_tag)
        ok.headers.add("User-Agent", self.user_agent)
        self._send_response(cancel_entry, ok)
        if not invite_entry.tx.final_sent:
            incoming.cancelled = True
            terminated = make_response(incoming.request, 487, to_tag=incoming.to_tag)
            terminated.headers.add("User-Agent", self.user_agent)
            self._send_response(invite_entry, terminated)
            logger.info("%s from %s cancelled", incoming.request, invite_entry.peer)

    async def _dispatch(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            await self._on_request(incoming)
        except TransactionStateError:
            if incoming.cancelled:  # the handler answered after a CANCEL: the 487 is already out
                logger.info("%s from %s was cancelled before the handler answered", request, incoming.peer)
                return
            logger.exception("handler failed on %s from %s", request, incoming.peer)
        except Exception:
            logger.exception("handler failed on %s from %s", request, incoming.peer)
            await self._answer_unanswered(incoming, "handler failed")
        else:
            if not incoming.final_sent:
                logger.warning("handler returned without answering %s from %s", request, incoming.peer)
                await self._answer_unanswered(incoming, "request not answered")

    async def _answer_unanswered(self, incoming: IncomingRequest, why: str) -> None:
        if incoming.final_sent:
            return
        try:
            await incoming.respond(500, headers=[("Warning", f'{WARN_CODE_MISC} {self.local_host} "{why}"')])
        except SipError as exc:
            logger.warning("cannot answer %s with 500: %s", incoming.request, exc)

    def _on_response_message(self, response: SipResponse, peer: Peer) -> None:
        key = response_key(response)
        entry = self._client.get(key) if key is not None else None
        if entry is not None:
            self._run_client(entry, entry.tx.receive_response(response, self._now()))
            return
        if 200 <= response.status < 300 and response.cseq.method == "INVITE" and self._resend_ack(response):
            return
        logger.info("stray response %s from %s dropped", response, peer)
