"""SIP messages: parse one message from bytes and serialize it back (RFC 3261 §7, sans-I/O)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from clearsight.sip.address import CSeq, NameAddress, Via
from clearsight.sip.errors import MalformedRequest, SipParseError
from clearsight.sip.headers import Headers

logger = logging.getLogger(__name__)

SIP_VERSION = "SIP/2.0"
# A generous bound: real GB28181 headers are < 2 KiB; anything larger is hostile or broken.
MAX_HEADER_BYTES = 16 * 1024
# Catalog chunks of big NVRs stay well under this; a larger body is refused.
MAX_BODY_BYTES = 1024 * 1024
# Headers without which no transaction can be matched (RFC 3261 §8.1.1).
REQUIRED_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")

REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 302: "Moved Temporarily",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 415: "Unsupported Media Type",
    423: "Interval Too Brief", 480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
}


@dataclass(slots=True)
class _MessageBase:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("no Via header")
        return Via.parse(values[0])

    @property
    def from_addr(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("From") or "")

    @property
    def to_addr(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("To") or "")

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def _serialize(self, start_line: str) -> bytes:
        self.headers.set("Content-Length", str(len(self.body)))
        lines = [start_line, *(f"{name}: {value}" for name, value in self.headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(slots=True)
class SipRequest(_MessageBase):
    method: str = ""
    uri: str = ""

    def to_bytes(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {SIP_VERSION}")

    def __str__(self) -> str:
        return f"{self.method} {self.uri} (Call-ID {self.call_id})"


@dataclass(slots=True)
class SipResponse(_MessageBase):
    status: int = 200
    reason: str = "OK"

    def to_bytes(self) -> bytes:
        return self._serialize(f"{SIP_VERSION} {self.status} {self.reason}")

    def __str__(self) -> str:
        return f"{self.status} {self.reason} (Call-ID {self.call_id})"


SipMessage = SipRequest | SipResponse


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """Split at the first empty line; tolerate bare LF line endings as several devices send them."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    if lf >= 0:
        return data[:lf], data[lf + 2 :]
    return data, b""


def _unfold(head: str) -> list[str]:
    """Header lines with folded continuation lines (leading SP/HT) joined (RFC 3261 §7.3.1)."""
    lines: list[str] = []
    for raw in head.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + raw.strip()
        else:
            lines.append(raw.rstrip("\r"))
    return lines


def _is_ascii_digits(text: str) -> bool:
    """str.isdigit() alone accepts digits such as "²" that int() refuses."""
    return text.isascii() and text.isdigit()


def _parse_start_line(line: str) -> SipRequest | SipResponse:
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        if parts[0] != SIP_VERSION or len(parts) < 2 or not _is_ascii_digits(parts[1]) or len(parts[1]) != 3:
            raise SipParseError(f"bad status line {line[:80]!r}")
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise SipParseError(f"status code out of range in {line[:80]!r}")
        return SipResponse(status=status, reason=parts[2].strip() if len(parts) > 2 else "")
    parts = line.split()
    if len(parts) != 3 or parts[2] != SIP_VERSION:
        raise SipParseError(f"bad request line {line[:80]!r}")
    method, uri = parts[0], parts[1]
    if not method.isalpha() or not method.isupper():
        raise SipParseError(f"bad method in request line {line[:80]!r}")
    if ":" not in uri:
        raise SipParseError(f"bad Request-URI in request line {line[:80]!r}")
    return SipRequest(method=method, uri=uri)


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse exactly one message (one UDP datagram, or one frame cut by `SipStreamBuffer`).

    Raises `SipParseError` when the bytes are not a usable SIP message, and its subclass
    `MalformedRequest` (carrying the parsed request) when a request is broken but still answerable
    with `400 Bad Request`.
    """
    data = data.lstrip(b"\r\n")
    if not data:
        raise SipParseError("empty message")
    head_bytes, body = _split_head(data)
    if len(head_bytes) > MAX_HEADER_BYTES:
        raise SipParseError(f"header section larger than {MAX_HEADER_BYTES} bytes")
    # Header text is ASCII by the grammar; display names may be UTF-8 or GB2312 in the field.
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError:
        head = head_bytes.decode("gb18030", errors="replace")
    lines = _unfold(head)
    message = _parse_start_line(lines[0])
    problems: list[str] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or any(c in name.strip() for c in " \t"):
            problems.append(f"malformed header line {line[:60]!r}")
            continue
        message.headers.add(name, value.strip())
    body = _apply_content_length(message, body, problems)
    message.body = body
    for required in REQUIRED_HEADERS:
        if message.headers.get(required) is None:
            problems.append(f"missing {required} header")
    if not problems:
        problems.extend(_check_header_grammar(message))
    if problems:
        reason = "; ".join(problems)
        if isinstance(message, SipRequest) and _answerable(message):
            raise MalformedRequest(reason, message)
        raise SipParseError(reason)
    return message


def _apply_content_length(message: SipRequest | SipResponse, body: bytes, problems: list[str]) -> bytes:
    raw = message.headers.get("Content-Length")
    if raw is None:
        # RFC 3261 §18.3: on UDP the body runs to the end of the datagram.
        return body
    if not _is_ascii_digits(raw.strip()):
        problems.append(f"bad Content-Length {raw!r}")
        return b""
    length = int(raw.strip())
    if length > MAX_BODY_BYTES:
        problems.append(f"Content-Length {length} exceeds {MAX_BODY_BYTES}")
        return b""
    if length > len(body):
        problems.append(f"body shorter ({len(body)} bytes) than Content-Length {length}")
        return body
    return body[:length]


def _check_header_grammar(message: SipRequest | SipResponse) -> list[str]:
    problems: list[str] = []
    try:
        cseq = message.cseq
        if isinstance(message, SipRequest) and cseq.method != message.method:
            problems.append(f"CSeq method {cseq.method} does not match {message.method}")
    except SipParseError as exc:
        problems.append(exc.reason)
    for name, getter in (("Via", lambda: message.vias), ("From", lambda: message.from_addr),
                         ("To", lambda: message.to_addr)):
        try:
            getter()
        except SipParseError as exc:
            problems.append(f"{name}: {exc.reason}")
    return problems


def _answerable(request: SipRequest) -> bool:
    """A 400 needs a Via to route it and the dialog identifiers to match it (RFC 3261 §8.2.6)."""
    try:
        request.top_via  # noqa: B018 - parse for validity
        CSeq.parse(request.headers.get("CSeq") or "")
    except SipParseError:
        return False
    return all(request.headers.get(h) for h in ("From", "To", "Call-ID"))


def make_response(
    request: SipRequest, status: int, reason: str | None = None, *,
    to_tag: str | None = None, body: bytes = b"", content_type: str | None = None,
) -> SipResponse:
    """A response to `request` copying Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2)."""
    headers = Headers()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is not None:
            headers.add(name, value)
    if to_tag is not None and status > 100:
        to_value = request.headers.get("To") or ""
        if ";tag=" not in to_value.replace(" ", "").lower():
            headers.set("To", f"{to_value};tag={to_tag}")
    if content_type is not None:
        headers.add("Content-Type", content_type)
    return SipResponse(headers=headers, body=body, status=status,
                       reason=reason if reason is not None else REASON_PHRASES.get(status, "Unknown"))
