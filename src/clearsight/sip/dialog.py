"""SIP dialogs (RFC 3261 §12) and CANCEL construction (§9.1), sans-I/O.

A `Dialog` is the state an INVITE leaves behind on both sides: Call-ID, tags, CSeq counters, the
remote target (Contact) and the route set (Record-Route). It builds in-dialog requests (ACK for a 2xx,
BYE, INFO for playback control) and checks incoming ones. It adds no Via: the endpoint does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from clearsight.sip.address import NameAddress
from clearsight.sip.errors import SipError, SipParseError
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipRequest, SipResponse

logger = logging.getLogger(__name__)

MAX_FORWARDS = 70  # RFC 3261 §8.1.1.6: recommended initial Max-Forwards


class DialogError(SipError):
    """A message that cannot create or belong to a dialog."""

    def __init__(self, reason: str, call_id: str = "") -> None:
        super().__init__(f"{reason} (Call-ID {call_id})" if call_id else reason)
        self.reason = reason
        self.call_id = call_id


class CSeqOutOfOrder(DialogError):
    """An in-dialog request whose CSeq is below the last one seen: answer 500 (RFC 3261 §12.2.2)."""

    def __init__(self, call_id: str, received: int, last: int) -> None:
        super().__init__(f"CSeq {received} lower than {last}", call_id)
        self.received = received
        self.last = last


@dataclass(frozen=True, slots=True)
class DialogId:
    call_id: str
    local_tag: str
    remote_tag: str


def _contact_uri(message: SipRequest | SipResponse) -> str | None:
    contacts = message.headers.get_all("Contact")
    if not contacts:
        return None
    try:
        return str(NameAddress.parse(contacts[0]).uri)
    except SipParseError:
        return None


def _tag(value: str) -> str | None:
    try:
        return NameAddress.parse(value).tag
    except SipParseError:
        return None


@dataclass(slots=True)
class Dialog:
    """One dialog. `local_party` / `remote_party` are the From/To values (with tags) we send."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_party: str
    remote_party: str
    remote_target: str
    local_cseq: int
    remote_cseq: int | None = None
    route_set: list[str] = field(default_factory=list)
    invite_cseq: int = 0  # CSeq number of the INVITE that made the dialog: the 2xx ACK reuses it
    is_uac: bool = True

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def from_uac_response(cls, request: SipRequest, response: SipResponse) -> Dialog:
        """The dialog a 2xx (or a 1xx with To-tag) to our INVITE creates (RFC 3261 §12.1.2)."""
        if request.method != "INVITE" or not 100 < response.status < 300:
            raise DialogError(f"{response.status} to {request.method} creates no dialog", request.call_id)
        local_party = request.headers.get("From") or ""
        remote_party = response.headers.get("To") or ""
        local_tag, remote_tag = _tag(local_party), _tag(remote_party)
        if not local_tag or not remote_tag:
            raise DialogError("From or To tag missing", request.call_id)
        target = _contact_uri(response)
        if target is None:
            logger.warning("no usable Contact in %s to INVITE (Call-ID %s); using the Request-URI",
                           response.status, request.call_id)
            target = request.uri
        cseq = request.cseq.number
        return cls(call_id=request.call_id, local_tag=local_tag, remote_tag=remote_tag,
                   local_party=local_party,
                   remote_party=remote_party, remote_target=target, local_cseq=cseq,
                   route_set=list(reversed(response.headers.get_all("Record-Route"))), invite_cseq=cseq,
                   is_uac=True)

    @classmethod
    def from_uas_request(cls, request: SipRequest, local_tag: str) -> Dialog:
        """The dialog we create by answering `request` (an INVITE) with To-tag `local_tag` (§12.1.1)."""
        remote_party = request.headers.get("From") or ""
        remote_tag = _tag(remote_party)
        if not remote_tag:
            raise DialogError("From tag missing", request.call_id)
        to_value = request.headers.get("To") or ""
        local_party = to_value if _tag(to_value) else f"{to_value};tag={local_tag}"
        target = _contact_uri(request)
        if target is None:
            logger.warning("no usable Contact in %s (Call-ID %s); using the From URI", request.method,
                           request.call_id)
            target = str(NameAddress.parse(remote_party).uri)
        cseq = request.cseq.number
        return cls(call_id=request.call_id, local_tag=local_tag, remote_tag=remote_tag,
                   local_party=local_party,
                   remote_party=remote_party, remote_target=target, local_cseq=0, remote_cseq=cseq,
                   route_set=list(request.headers.get_all("Record-Route")), invite_cseq=cseq, is_uac=False)

    def _new_request(self, method: str, cseq: int) -> SipRequest:
        """Request-URI and Route per RFC 3261 §12.2.1.1 (loose and strict routing)."""
        routes = list(self.route_set)
        uri = self.remote_target
        if routes:
            first = NameAddress.parse(routes[0]).uri
            if "lr" not in first.params:  # strict router: it becomes the Request-URI
                # §19.1.1: `method` and URI headers are not allowed in a Request-URI.
                params = {k: v for k, v in first.params.items() if k != "method"}
                uri = str(replace(first, params=params, headers=""))
                routes = [*routes[1:], f"<{self.remote_target}>"]
        headers = Headers()
        for route in routes:
            headers.add("Route", route)
        headers.add("Max-Forwards", str(MAX_FORWARDS))
        headers.add("From", self.local_party)
        headers.add("To", self.remote_party)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        return SipRequest(headers=headers, method=method, uri=uri)

    def create_request(self, method: str, *, body: bytes = b"", content_type: str | None = None,
                       headers: list[tuple[str, str]] | None = None) -> SipRequest:
        """A new in-dialog request (BYE, INFO, MESSAGE…); takes the next local CSeq."""
        method = method.upper()
        if method in ("ACK", "CANCEL"):
            raise ValueError(f"{method} is built with create_ack / create_cancel")
        self.local_cseq += 1
        request = self._new_request(method, self.local_cseq)
        for name, value in headers or ():
            request.headers.add(name, value)
        if content_type is not None:
            request.headers.add("Content-Type", content_type)
        request.body = body
        return request

    def create_ack(self, cseq: int | None = None, *, body: bytes = b"",
                   content_type: str | None = None) -> SipRequest:
        """ACK for a 2xx to INVITE: the INVITE's CSeq number, method ACK (RFC 3261 §13.2.2.4)."""
        request = self._new_request("ACK", self.invite_cseq if cseq is None else cseq)
        if content_type is not None:
            request.headers.add("Content-Type", content_type)
        request.body = body
        return request

    def create_bye(self) -> SipRequest:
        return self.create_request("BYE")

    def create_info(self, body: bytes, content_type: str) -> SipRequest:
        """INFO carrying playback control (GB/T 28181 uses `Application/MANSRTSP` bodies)."""
        return self.create_request("INFO", body=body, content_type=content_type)

    def matches(self, message: SipRequest | SipResponse) -> bool:
        """Whether an incoming request (ours are To=local) or a response (From=local) is in this dialog."""
        if message.call_id != self.call_id:
            return False
        if isinstance(message, SipRequest):
            local, remote = message.headers.get("To") or "", message.headers.get("From") or ""
        else:
            local, remote = message.headers.get("From") or "", message.headers.get("To") or ""
        return _tag(local) == self.local_tag and _tag(remote) == self.remote_tag

    def validate_request(self, request: SipRequest) -> None:
        """Accept an incoming in-dialog request: check its identifiers and CSeq order (§12.2.2).

        Raises DialogError when it belongs to another dialog and CSeqOutOfOrder (→ 500) when stale.
        Target-refresh requests (re-INVITE, UPDATE) with a Contact update the remote target.
        """
        if not self.matches(request):
            raise DialogError("request does not belong to this dialog", request.call_id)
        if request.method in ("ACK", "CANCEL"):
            return  # they carry the CSeq of the INVITE they refer to
        number = request.cseq.number
        if self.remote_cseq is not None and number < self.remote_cseq:
            raise CSeqOutOfOrder(self.call_id, number, self.remote_cseq)
        self.remote_cseq = number
        if request.method in ("INVITE", "UPDATE"):
            target = _contact_uri(request)
            if target is not None:
                self.remote_target = target


def create_cancel(invite: SipRequest) -> SipRequest:
    """CANCEL for a pending INVITE we sent (RFC 3261 §9.1): same Request-URI, Call-ID, From, To, CSeq
    number and top Via (so it reaches the same server transaction), Route copied.

    Send it only after a provisional response arrived (§9.1); the INVITE must already carry its Via.
    """
    if invite.method != "INVITE":
        raise ValueError("only an INVITE can be cancelled")
    vias = invite.headers.get_all("Via")
    if not vias:
        raise ValueError("the INVITE has not been sent (no Via)")
    headers = Headers()
    headers.add("Via", vias[0])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", str(MAX_FORWARDS))
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", invite.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} CANCEL")
    return SipRequest(headers=headers, method="CANCEL", uri=invite.uri)
