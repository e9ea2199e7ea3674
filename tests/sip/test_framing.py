"""SIP-over-TCP framing (RFC 3261 §18.3): concatenated, split and hostile streams."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clearsight.sip import framing
from clearsight.sip.errors import FramingError
from clearsight.sip.framing import SipStreamBuffer
from clearsight.sip.message import MAX_BODY_BYTES, MAX_HEADER_BYTES, SipRequest, parse_message

FIXTURES = Path("/work/shared/fixtures/gb28181-captures")


def message(body: bytes = b"", *, content_length: str | None = None, cseq: int = 1,
            length_first: bool = False) -> bytes:
    length = content_length if content_length is not None else str(len(body))
    lines = [
        "MESSAGE sip:34020000001320000001@3402000000 SIP/2.0",
        f"Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK{cseq}",
        "From: <sip:34020000002000000001@3402000000>;tag=1",
        "To: <sip:34020000001320000001@3402000000>",
        "Call-ID: framing",
        f"CSeq: {cseq} MESSAGE",
    ]
    cl = f"Content-Length: {length}"
    lines = [lines[0], cl, *lines[1:]] if length_first else [*lines, cl]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def drain(buffer: SipStreamBuffer) -> list[bytes]:
    out: list[bytes] = []
    while (item := buffer.next_message()) is not None:
        out.append(item)
    return out


def test_one_message() -> None:
    buffer = SipStreamBuffer()
    data = message(b"<Notify/>")
    buffer.feed(data)
    assert drain(buffer) == [data]
    assert len(buffer) == 0


def test_several_messages_in_one_read() -> None:
    messages = [message(b"a" * n, cseq=n + 1) for n in range(5)]
    buffer = SipStreamBuffer()
    buffer.feed(b"".join(messages))
    assert drain(buffer) == messages


def test_message_split_byte_by_byte() -> None:
    data = message(b"<Notify>\r\n\r\n<CmdType>Keepalive</CmdType></Notify>")
    buffer = SipStreamBuffer()
    for i in range(len(data) - 1):
        buffer.feed(data[i:i + 1])
        assert buffer.next_message() is None
    buffer.feed(data[-1:])
    assert buffer.next_message() == data
    assert buffer.next_message() is None


def test_terminator_split_across_feeds() -> None:
    data = message(b"xyz")
    head_end = data.index(b"\r\n\r\n")
    buffer = SipStreamBuffer()
    for cut in (head_end + 1, head_end + 2, head_end + 3):
        buffer = SipStreamBuffer()
        buffer.feed(data[:cut])
        assert buffer.next_message() is None
        buffer.feed(data[cut:])
        assert buffer.next_message() == data


def test_content_length_anywhere_in_headers() -> None:
    """Regression: a CRLF-terminated Content-Length line that is not the last header was missed."""
    data = message(b"abc", length_first=True)
    buffer = SipStreamBuffer()
    buffer.feed(data + data)
    assert drain(buffer) == [data, data]


@pytest.mark.parametrize("header", ["l: 3", "content-LENGTH:3", "Content-Length :   3   ", "L:\t3"])
def test_content_length_spellings(header: str) -> None:
    data = message(b"abc").replace(b"Content-Length: 3", header.encode())
    buffer = SipStreamBuffer()
    buffer.feed(data + b"tail")
    assert buffer.next_message() == data


def test_lf_only_stream() -> None:
    data = message(b"body").replace(b"\r\n", b"\n")
    buffer = SipStreamBuffer()
    buffer.feed(data * 2)
    assert drain(buffer) == [data, data]


def test_crlf_keepalives_between_messages() -> None:
    data = message(b"x")
    buffer = SipStreamBuffer()
    buffer.feed(b"\r\n\r\n" + data + b"\r\n\r\n\r\n" + data + b"\r\n")
    assert drain(buffer) == [data, data]
    assert len(buffer) == 0


def test_body_containing_header_lookalikes() -> None:
    body = b"Content-Length: 9999\r\n\r\nSIP/2.0 200 OK\r\n\r\n"
    data = message(body)
    buffer = SipStreamBuffer()
    buffer.feed(data + data)
    assert drain(buffer) == [data, data]


@pytest.mark.parametrize(("content_length", "fragment"), [
    ("abc", "bad Content-Length"),
    ("-1", "bad Content-Length"),
    ("", "bad Content-Length"),
    (str(MAX_BODY_BYTES + 1), "exceeds"),
])
def test_bad_content_length(content_length: str, fragment: str) -> None:
    buffer = SipStreamBuffer()
    buffer.feed(message(content_length=content_length))
    with pytest.raises(FramingError, match=fragment):
        buffer.next_message()


def test_missing_content_length_is_a_framing_error() -> None:
    buffer = SipStreamBuffer()
    buffer.feed(re.sub(rb"Content-Length: 0\r\n", b"", message()))
    with pytest.raises(FramingError):
        buffer.next_message()


def test_endless_headers_are_refused() -> None:
    buffer = SipStreamBuffer()
    chunk = b"X-Junk: " + b"a" * 1000 + b"\r\n"
    with pytest.raises(FramingError, match="no end of headers"):
        for _ in range(200):  # 200 KB without CRLFCRLF
            buffer.feed(chunk)
            buffer.next_message()
    assert len(buffer) <= MAX_HEADER_BYTES + len(chunk)


def test_waits_for_the_whole_body() -> None:
    data = message(b"0123456789")
    buffer = SipStreamBuffer()
    buffer.feed(data[:-3])
    assert buffer.next_message() is None
    assert buffer.next_message() is None
    buffer.feed(data[-3:])
    assert buffer.next_message() == data


class _CountingPattern:
    """Wraps the end-of-headers regex to count how many bytes each search scans."""

    def __init__(self, real: re.Pattern[bytes]) -> None:
        self.real = real
        self.scanned = 0

    def search(self, buf: bytearray, start: int) -> re.Match[bytes] | None:
        self.scanned += len(buf) - start
        return self.real.search(buf, start)


def test_dribbling_peer_costs_linear_scanning(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _CountingPattern(framing._HEAD_END)
    monkeypatch.setattr(framing, "_HEAD_END", counter)
    data = message(b"x") + b"X-Pad: " + b"p" * 8000 + b"\r\n"  # the next message's bytes keep coming
    buffer = SipStreamBuffer()
    for byte in data:
        buffer.feed(bytes([byte]))
        buffer.next_message()
    assert counter.scanned < 5 * len(data)  # each byte looked at a bounded number of times


def test_fixture_over_tcp_frames_and_parses() -> None:
    (path,) = FIXTURES.glob("17-*.sip")
    raw = path.read_bytes()
    wire = raw.decode("utf-8").encode("gb18030")
    buffer = SipStreamBuffer()
    buffer.feed(wire + b"\r\n" + wire[:50])
    (framed,) = drain(buffer)
    assert framed == wire
    parsed = parse_message(framed)
    assert isinstance(parsed, SipRequest) and parsed.method == "MESSAGE"
    assert parsed.top_via.transport == "TCP"
    buffer.feed(wire[50:])
    assert drain(buffer) == [wire]


@pytest.mark.parametrize("number", ["01", "02", "43", "48", "50", "63"])
def test_fixtures_frame_with_content_length_in_any_position(number: str) -> None:
    (path,) = FIXTURES.glob(f"{number}-*.sip")
    raw = path.read_bytes()
    if b'encoding="GB2312"' in raw:
        raw = raw.decode("utf-8").encode("gb18030")
    buffer = SipStreamBuffer()
    buffer.feed(raw * 3)
    assert drain(buffer) == [raw] * 3
