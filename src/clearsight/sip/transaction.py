"""RFC 3261 §17 transactions as pure state machines (sans-I/O).

Each machine takes messages and the current time and returns actions for its owner to carry out:
`SendMessage`, `DeliverResponse`, `Timeout`, `Terminated`. Times are plain floats (`loop.time()`),
`next_deadline` says when `on_timer` wants to be called next. Retransmissions happen only on
unreliable transports. RFC 6026's Accepted state is used for INVITE after a 2xx on both sides, so 2xx
retransmissions reach the dialog (client) and INVITE retransmissions are absorbed (server).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from clearsight.sip.address import BRANCH_MAGIC_COOKIE, Via
from clearsight.sip.errors import SipError, SipParseError
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipMessage, SipRequest, SipResponse, make_response

T1 = 0.5  # RFC 3261 §17.1.1.1: round-trip time estimate, default 500 ms
T2 = 4.0  # RFC 3261 §17.1.2.2: maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # RFC 3261 §17.1.2.2: maximum duration a message will remain in the network
TIMER_D = 32.0  # RFC 3261 §17.1.1.2: Timer D, at least 32 s on unreliable transports
TIMEOUT_FACTOR = 64  # RFC 3261 §17.1.1.2: Timers B, F, H, J (and RFC 6026 L, M) are 64*T1
DEFAULT_SIP_PORT = 5060  # RFC 3261 §19.1.2: port of a sent-by without one (UDP/TCP)


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1/T2/T4 and Timer D; tests shrink them to run fast."""

    t1: float = T1
    t2: float = T2
    t4: float = T4
    d: float = TIMER_D

    @property
    def timeout(self) -> float:
        return TIMEOUT_FACTOR * self.t1


DEFAULT_TIMERS = TimerConfig()


class TransactionStateError(SipError):
    """An operation the transaction's state forbids, e.g. a second final response."""


class TransactionState(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"  # RFC 6026 §7.1/§7.2
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class SendMessage:
    message: SipMessage


@dataclass(frozen=True, slots=True)
class DeliverResponse:
    response: SipResponse


@dataclass(frozen=True, slots=True)
class Timeout:
    timer: str  # "B" / "F": no final response; "H": no ACK for our non-2xx; "L": no ACK for our 2xx


@dataclass(frozen=True, slots=True)
class Terminated:
    pass


TransactionAction = SendMessage | DeliverResponse | Timeout | Terminated
TransactionKey = tuple[str, ...]


def _normalized_via(message: SipMessage) -> tuple[str, str, str, str]:
    """(transport, host, port, branch) of the top Via; received/rport stamps do not matter."""
    vias = message.headers.get_all("Via")
    if not vias:
        raise SipParseError("no Via header")
    via = Via.parse(vias[0])
    return via.transport, via.host.lower(), str(via.port or DEFAULT_SIP_PORT), via.branch or ""


def server_key(request: SipRequest, method: str | None = None) -> TransactionKey:
    """The key an incoming request matches server transactions by (RFC 3261 §17.2.3).

    ACK matches the INVITE transaction; pass `method="INVITE"` to find the INVITE a CANCEL targets.
    Peers without the magic cookie (RFC 2543, and GB platforms using `z3hG9bK`) are matched on
    Call-ID, CSeq number, From tag and top Via. Raises SipParseError on a broken Via/CSeq/From.
    """
    if method is None:
        method = "INVITE" if request.method == "ACK" else request.method
    transport, host, port, branch = _normalized_via(request)
    if branch.startswith(BRANCH_MAGIC_COOKIE):
        return ("3261", branch, host, port, method)
    return ("2543", request.call_id, str(request.cseq.number), method, request.from_addr.tag or "",
            transport, host, port, branch)


def client_key(branch: str, method: str) -> TransactionKey:
    """The key of a client transaction (RFC 3261 §17.1.3): our branch plus the CSeq method."""
    return (branch, method)


def response_key(response: SipResponse) -> TransactionKey | None:
    """The client-transaction key a response matches, None when its top Via has no branch."""
    if not response.headers.get_all("Via"):
        return None
    branch = _normalized_via(response)[3]
    if not branch:
        return None
    return client_key(branch, response.cseq.method)


def build_non2xx_ack(request: SipRequest, response: SipResponse) -> SipRequest:
    """ACK for a 3xx–6xx answer to INVITE, built by the client transaction (RFC 3261 §17.1.1.3)."""
    headers = Headers()
    vias = request.headers.get_all("Via")
    if vias:
        headers.add("Via", vias[0])
    headers.add("Max-Forwards", "70")
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or request.headers.get("To") or "")
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq.number} ACK")
    return SipRequest(headers=headers, method="ACK", uri=request.uri)


class _Timers:
    """Named deadlines of one transaction."""

    __slots__ = ("_deadlines",)

    def __init__(self) -> None:
        self._deadlines: dict[str, float] = {}

    def set(self, name: str, at: float) -> None:
        self._deadlines[name] = at

    def cancel(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def clear(self) -> None:
        self._deadlines.clear()

    def due(self, now: float) -> list[str]:
        due = [(at, name) for name, at in self._deadlines.items() if at <= now]
        due.sort()
        for _, name in due:
            del self._deadlines[name]
        return [name for _, name in due]

    def pending(self) -> dict[str, float]:
        return dict(self._deadlines)

    def next(self) -> float | None:
        return min(self._deadlines.values()) if self._deadlines else None


class _Transaction:
    __slots__ = ("_interval", "_timers", "config", "key", "method", "reliable", "state")

    def __init__(self, method: str, key: TransactionKey, *, reliable: bool, timers: TimerConfig) -> None:
        self.method = method
        self.key = key
        self.reliable = reliable
        self.config = timers
        self.state = TransactionState.TERMINATED
        self._timers = _Timers()
        self._interval = timers.t1

    @property
    def next_deadline(self) -> float | None:
        return self._timers.next()

    @property
    def terminated(self) -> bool:
        return self.state is TransactionState.TERMINATED

    def pending_timers(self) -> dict[str, float]:
        """Timer name → deadline (for tests and debugging)."""
        return self._timers.pending()

    def _terminate(self) -> list[TransactionAction]:
        self.state = TransactionState.TERMINATED
        self._timers.clear()
        return [Terminated()]

    def _linger(self, name: str, duration: float, now: float) -> list[TransactionAction]:
        """Start a wait-then-terminate timer (D, I, J, K); zero on reliable transports ends at once."""
        if duration <= 0:
            return self._terminate()
        self._timers.set(name, now + duration)
        return []

    def terminate(self) -> list[TransactionAction]:
        """Abandon the transaction (transport error, owner shutting down)."""
        if self.terminated:
            return []
        return self._terminate()


class ClientTransaction(_Transaction):
    """INVITE (§17.1.1) and non-INVITE (§17.1.2) client transaction for one outgoing request."""

    __slots__ = ("_ack", "request")

    def __init__(self, request: SipRequest, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        if request.method == "ACK":
            raise ValueError("ACK has no client transaction")
        branch = _normalized_via(request)[3]
        if not branch:
            raise ValueError("a client transaction needs a Via branch")
        super().__init__(request.method, client_key(branch, request.method), reliable=reliable, timers=timers)
        self.request = request
        self._ack: SipRequest | None = None

    @property
    def is_invite(self) -> bool:
        return self.method == "INVITE"

    def start(self, now: float) -> list[TransactionAction]:
        if self.is_invite:
            self.state = TransactionState.CALLING
            retransmit, timeout = "A", "B"
        else:
            self.state = TransactionState.TRYING
            retransmit, timeout = "E", "F"
        self._interval = self.config.t1
        if not self.reliable:
            self._timers.set(retransmit, now + self._interval)
        self._timers.set(timeout, now + self.config.timeout)
        return [SendMessage(self.request)]

    def receive_response(self, response: SipResponse, now: float) -> list[TransactionAction]:
        if self.is_invite:
            return self._invite_response(response, now)
        return self._non_invite_response(response, now)

    def _invite_response(self, response: SipResponse, now: float) -> list[TransactionAction]:
        state, status = self.state, response.status
        if state in (TransactionState.CALLING, TransactionState.PROCEEDING):
            if status < 200:
                self.state = TransactionState.PROCEEDING
                self._timers.cancel("A", "B")
                return [DeliverResponse(response)]
            self._timers.cancel("A", "B")
            if status < 300:
                self.state = TransactionState.ACCEPTED
                self._timers.set("M", now + self.config.timeout)
                return [DeliverResponse(response)]
            self.state = TransactionState.COMPLETED
            self._ack = build_non2xx_ack(self.request, response)
            actions: list[TransactionAction] = [SendMessage(self._ack), DeliverResponse(response)]
            return actions + self._linger("D", 0.0 if self.reliable else self.config.d, now)
        if state is TransactionState.COMPLETED and status >= 300 and self._ack is not None:
            return [SendMessage(self._ack)]  # retransmitted final response: ACK again, TU not told
        if state is TransactionState.ACCEPTED and 200 <= status < 300:
            return [DeliverResponse(response)]  # 2xx retransmission: the dialog ACKs it again
        return []

    def _non_invite_response(self, response: SipResponse, now: float) -> list[TransactionAction]:
        if self.state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            return []  # Completed absorbs retransmitted finals
        if response.status < 200:
            self.state = TransactionState.PROCEEDING
            return [DeliverResponse(response)]
        self.state = TransactionState.COMPLETED
        self._timers.cancel("E", "F")
        return [DeliverResponse(response), *self._linger("K", 0.0 if self.reliable else self.config.t4, now)]

    def on_timer(self, now: float) -> list[TransactionAction]:
        actions: list[TransactionAction] = []
        for name in self._timers.due(now):
            if self.terminated:
                break
            if name == "A":
                self._interval *= 2  # §17.1.1.2: A doubles without bound
                self._timers.set("A", now + self._interval)
                actions.append(SendMessage(self.request))
            elif name == "E":
                if self.state is TransactionState.PROCEEDING:
                    self._interval = self.config.t2  # §17.1.2.2: Proceeding retransmits every T2
                else:
                    self._interval = min(2 * self._interval, self.config.t2)
                self._timers.set("E", now + self._interval)
                actions.append(SendMessage(self.request))
            elif name in ("B", "F"):
                actions.append(Timeout(name))
                actions += self._terminate()
            else:  # D, K, M
                actions += self._terminate()
        return actions


class ServerTransaction(_Transaction):
    """INVITE (§17.2.1, RFC 6026) and non-INVITE (§17.2.2) server transaction for one incoming request.

    An INVITE server transaction sends `100 Trying` itself on `start` (unless `auto_trying=False`) and,
    after a 2xx on an unreliable transport, retransmits it until `receive_ack` or Timer L (§13.3.1.4).
    """

    __slots__ = ("_acked", "_auto_trying", "_last_response", "_request")

    def __init__(self, request: SipRequest, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS,
                 key: TransactionKey | None = None, auto_trying: bool = True) -> None:
        if request.method == "ACK":
            raise ValueError("ACK has no server transaction")
        super().__init__(request.method, key if key is not None else server_key(request),
                         reliable=reliable, timers=timers)
        self._request: SipRequest | None = request  # kept only until the 100 Trying is built
        self._auto_trying = auto_trying
        self._last_response: SipResponse | None = None
        self._acked = False

    @property
    def is_invite(self) -> bool:
        return self.method == "INVITE"

    @property
    def last_response(self) -> SipResponse | None:
        return self._last_response

    @property
    def acked(self) -> bool:
        """The ACK for our 2xx arrived (Accepted state)."""
        return self._acked

    @property
    def final_sent(self) -> bool:
        return self._last_response is not None and self._last_response.status >= 200

    def start(self, now: float) -> list[TransactionAction]:
        request, self._request = self._request, None
        if not self.is_invite:
            self.state = TransactionState.TRYING
            return []
        self.state = TransactionState.PROCEEDING
        if self._auto_trying and request is not None:
            self._last_response = make_response(request, 100)
            return [SendMessage(self._last_response)]
        return []

    def receive_request(self, request: SipRequest, now: float) -> list[TransactionAction]:
        """A retransmission of our request (or, for INVITE, the ACK of a non-2xx final response)."""
        state = self.state
        if request.method == "ACK":
            if self.is_invite and state is TransactionState.COMPLETED:
                self.state = TransactionState.CONFIRMED
                self._timers.cancel("G", "H")
                return self._linger("I", 0.0 if self.reliable else self.config.t4, now)
            if self.is_invite and state is TransactionState.ACCEPTED:
                return self.receive_ack(now)
            return []
        if state is TransactionState.ACCEPTED and self._acked:
            return []
        if state in (TransactionState.PROCEEDING, TransactionState.COMPLETED, TransactionState.ACCEPTED) \
                and self._last_response is not None:
            return [SendMessage(self._last_response)]
        return []  # Trying (nothing to resend yet), Confirmed, Terminated absorb

    def receive_ack(self, now: float) -> list[TransactionAction]:
        """The ACK for our 2xx arrived (matched by dialog, its branch differs): stop retransmitting."""
        if self.state is TransactionState.ACCEPTED:
            self._acked = True
            self._timers.cancel("G")
        return []

    def send_response(self, response: SipResponse, now: float) -> list[TransactionAction]:
        state = self.state
        if state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            raise TransactionStateError(
                f"{self.method} transaction is {state.value}: final response already sent")
        self._last_response = response
        if response.status < 200:
            self.state = TransactionState.PROCEEDING
            return [SendMessage(response)]
        actions: list[TransactionAction] = [SendMessage(response)]
        self._interval = self.config.t1
        if not self.is_invite:
            self.state = TransactionState.COMPLETED
            return actions + self._linger("J", 0.0 if self.reliable else self.config.timeout, now)
        if response.status < 300:
            self.state = TransactionState.ACCEPTED
            self._timers.set("L", now + self.config.timeout)
        else:
            self.state = TransactionState.COMPLETED
            self._timers.set("H", now + self.config.timeout)
        if not self.reliable:
            self._timers.set("G", now + self._interval)
        return actions

    def on_timer(self, now: float) -> list[TransactionAction]:
        actions: list[TransactionAction] = []
        for name in self._timers.due(now):
            if self.terminated:
                break
            if name == "G":
                self._interval = min(2 * self._interval, self.config.t2)  # §17.2.1 and §13.3.1.4
                self._timers.set("G", now + self._interval)
                if self._last_response is not None:
                    actions.append(SendMessage(self._last_response))
            elif name == "H":
                actions.append(Timeout("H"))
                actions += self._terminate()
            elif name == "L":
                if not self._acked:
                    actions.append(Timeout("L"))
                actions += self._terminate()
            else:  # I, J
                actions += self._terminate()
        return actions

