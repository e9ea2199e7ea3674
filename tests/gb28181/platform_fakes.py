"""Fakes for unit tests of the platform-side handlers: requests answered into a list, a scripted endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from clearsight.sip.endpoint import IncomingRequest, Peer, TransactionTimeout
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipRequest, SipResponse, make_response

DEVICE_ID = "34020000001320000001"
PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
DEVICE_PEER = Peer("UDP", "127.0.0.1", 5062)


class AnsweredRequest(IncomingRequest):
    """An IncomingRequest whose answers are kept instead of sent."""

    answers: list[SipResponse]

    def __init__(self, request: SipRequest, peer: Peer = DEVICE_PEER) -> None:
        super().__init__(request=request, peer=peer)
        self.answers = []

    async def respond(self, status: int, reason: str | None = None, *,
                      headers: dict[str, str] | list[tuple[str, str]] | None = None, body: bytes = b"",
                      content_type: str | None = None, to_tag: str | None = None) -> SipResponse:
        response = make_response(self.request, status, reason, to_tag=to_tag or "t1", body=body,
                                 content_type=content_type)
        items = headers.items() if isinstance(headers, dict) else headers or ()
        for name, value in items:
            response.headers.add(name, value)
        self.answers.append(response)
        return response

    @property
    def status(self) -> int:
        assert len(self.answers) == 1, self.answers
        return self.answers[0].status


def sip_request(method: str, *, device_id: str = DEVICE_ID, body: bytes = b"",
                extra: list[tuple[str, str]] | None = None, cseq: int = 1) -> SipRequest:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5062;rport;branch=z9hG4bK-test")
    headers.add("From", f"<sip:{device_id}@{DOMAIN}>;tag=dev")
    headers.add("To", f"<sip:{device_id if method == 'REGISTER' else PLATFORM_ID}@{DOMAIN}>")
    headers.add("Call-ID", "call-1@127.0.0.1")
    headers.add("CSeq", f"{cseq} {method}")
    headers.add("Contact", f"<sip:{device_id}@127.0.0.1:5062>")
    for name, value in extra or []:
        headers.add(name, value)
    return SipRequest(headers=headers, body=body, method=method, uri=f"sip:{PLATFORM_ID}@{DOMAIN}")


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 2, 0, 0, 123456, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class ScriptedEndpoint:
    """Stands in for SipEndpoint.send_request: records requests, answers with `reply(request)`."""

    reply: Callable[[SipRequest], SipResponse | None] = lambda request: make_response(request, 200)
    sent: list[SipRequest] = field(default_factory=list)

    async def send_request(self, request: SipRequest, peer: Peer, *, timeout: float | None = None  # noqa: ASYNC109
                           ) -> SipResponse:
        self.sent.append(request)
        response = self.reply(request)
        if response is None:
            raise TransactionTimeout(request.method, peer)
        return response

    def new_call_id(self) -> str:
        return f"call-{len(self.sent)}"

    def new_tag(self) -> str:
        return f"tag-{len(self.sent)}"
