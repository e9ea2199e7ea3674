"""Building the SIP requests the platform sends to devices (MESSAGE, SUBSCRIBE)."""

from __future__ import annotations

from collections.abc import Callable

from clearsight.sip.headers import Headers
from clearsight.sip.message import SipRequest
from clearsight.sip.transport import Peer

MANSCDP_CONTENT_TYPE = "Application/MANSCDP+xml"


class RequestFactory:
    """Requests from this platform (`platform_id` in the SIP domain) to devices."""

    def __init__(self, platform_id: str, domain: str, local_host: str, local_port: int,
                 new_call_id: Callable[[], str], new_tag: Callable[[], str]) -> None:
        self.platform_id = platform_id
        self.domain = domain
        self._local_host = local_host
        self._local_port = local_port
        self._new_call_id = new_call_id
        self._new_tag = new_tag
        self._cseq = 0

    def _next_cseq(self) -> int:
        self._cseq = self._cseq % 2_000_000_000 + 1
        return self._cseq

    def request(self, method: str, target_id: str, peer: Peer, *, body: bytes = b"",
                content_type: str | None = None, extra: list[tuple[str, str]] | None = None) -> SipRequest:
        uri = f"sip:{target_id}@{peer.host}:{peer.port}"
        headers = Headers()
        headers.add("From", f"<sip:{self.platform_id}@{self.domain}>;tag={self._new_tag()}")
        headers.add("To", f"<sip:{target_id}@{peer.host}:{peer.port}>")
        headers.add("Call-ID", self._new_call_id())
        headers.add("CSeq", f"{self._next_cseq()} {method}")
        headers.add("Contact", f"<sip:{self.platform_id}@{self._local_host}:{self._local_port}>")
        for name, value in extra or []:
            headers.add(name, value)
        if content_type is not None:
            headers.add("Content-Type", content_type)
        return SipRequest(headers=headers, body=body, method=method, uri=uri)

    def message(self, target_id: str, peer: Peer, body: bytes) -> SipRequest:
        return self.request("MESSAGE", target_id, peer, body=body, content_type=MANSCDP_CONTENT_TYPE)
