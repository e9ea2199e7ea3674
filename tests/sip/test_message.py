"""The SIP parser: RFC 4475-style torture cases and every GB/T 28181 capture fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clearsight.sip.address import CSeq, NameAddress, SipUri, Via
from clearsight.sip.errors import MalformedRequest, SipParseError
from clearsight.sip.headers import Headers
from clearsight.sip.message import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
)

FIXTURES = Path("/work/shared/fixtures/gb28181-captures")
_GB_DECLARATION = re.compile(rb'encoding="(?:gb2312|gb18030)"', re.IGNORECASE)


def wire_bytes(path: Path) -> bytes:
    """The bytes a device sent: files are UTF-8, GB2312/GB18030 bodies were stored re-encoded."""
    raw = path.read_bytes()
    if _GB_DECLARATION.search(raw):
        return raw.decode("utf-8").encode("gb18030")
    return raw


def fixture_path(number: str) -> Path:
    (path,) = FIXTURES.glob(f"{number}-*.sip")
    return path


def msg(text: str) -> bytes:
    """Test messages are written with LF; the wire has CRLF."""
    return text.replace("\n", "\r\n").encode()


BASE = """\
INVITE sip:34020000001320000001@192.0.2.20:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9
Max-Forwards: 70
From: <sip:34020000002000000001@3402000000>;tag=9fxced76sl
To: <sip:34020000001320000001@3402000000>
Call-ID: 3848276298220188511@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0

"""


def request_of(data: bytes) -> SipRequest:
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


# --- well-formed but unusual (RFC 4475 §3.1.1) ------------------------------------------------------

def test_base_message() -> None:
    request = request_of(msg(BASE))
    assert request.method == "INVITE"
    assert request.uri == "sip:34020000001320000001@192.0.2.20:5060"
    assert request.call_id == "3848276298220188511@192.0.2.10"
    assert request.cseq == CSeq(1, "INVITE")
    assert request.from_addr.tag == "9fxced76sl"
    assert request.to_addr.tag is None
    assert request.top_via.branch == "z9hG4bK74bf9"
    assert request.body == b""


def test_compact_forms() -> None:
    data = msg("""\
MESSAGE sip:34020000001320000001@3402000000 SIP/2.0
v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcompact
f: <sip:34020000002000000001@3402000000>;tag=1
t: <sip:34020000001320000001@3402000000>
i: compact-call
CSeq: 5 MESSAGE
m: <sip:34020000002000000001@192.0.2.10:5060>
c: Application/MANSCDP+xml
l: 5

hello""")
    request = request_of(data)
    assert request.call_id == "compact-call"
    assert request.headers.get("Contact") == "<sip:34020000002000000001@192.0.2.10:5060>"
    assert request.content_type == "application/manscdp+xml"
    assert request.body == b"hello"
    names = [name for name, _ in request.headers]
    assert names[:4] == ["Via", "From", "To", "Call-ID"]


def test_folded_headers_and_whitespace_around_colons() -> None:
    data = msg("""\
OPTIONS sip:user@example.com SIP/2.0
Via   :   SIP / 2.0
  / UDP
    192.0.2.2;branch=z9hG4bKwsinv
TO :
 sip:user@example.com
from   : "J Rosenberg \\\\\\"" <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
Call-ID\t:\twsinv.ndaksdj@192.0.2.1
CSeq: 8
   OPTIONS
Subject: first line
\tsecond line
Content-Length: 0

""")
    request = request_of(data)
    via = request.top_via
    assert (via.transport, via.host, via.branch) == ("UDP", "192.0.2.2", "z9hG4bKwsinv")
    assert request.to_addr.uri.user == "user"
    assert request.from_addr.tag == "98asjd8"
    assert request.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert request.cseq == CSeq(8, "OPTIONS")
    assert request.headers.get("Subject") == "first line second line"


def test_header_names_in_odd_case() -> None:
    data = msg(BASE.replace("Call-ID:", "cAlL-iD:").replace("CSeq:", "cseq:").replace("Via:", "VIA:")
               .replace("Max-Forwards", "max-FORWARDS"))
    request = request_of(data)
    assert request.call_id == "3848276298220188511@192.0.2.10"
    assert request.headers.get("Max-Forwards") == "70"
    assert request.headers.get("MAX-forwards") == "70"
    assert ("CSeq", "1 INVITE") in list(request.headers)  # stored canonically
    assert b"Call-ID: " in request.to_bytes()


def test_repeated_and_comma_joined_via_keep_order() -> None:
    data = msg(BASE.replace(
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9\n",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfirst, "
        "SIP/2.0/TCP 198.51.100.1;branch=z9hG4bKsecond\n"
        "Via: SIP/2.0/UDP 203.0.113.5:5070;branch=z9hG4bKthird\n",
    ))
    vias = request_of(data).vias
    assert [v.branch for v in vias] == ["z9hG4bKfirst", "z9hG4bKsecond", "z9hG4bKthird"]
    assert [v.transport for v in vias] == ["UDP", "TCP", "UDP"]
    assert vias[1].port is None


def test_lf_only_line_endings() -> None:
    data = (BASE.replace("Content-Length: 0", "Content-Length: 4") + "body").encode()
    assert b"\r" not in data
    request = request_of(data)
    assert request.cseq.number == 1
    assert request.body == b"body"


def test_leading_crlf_keepalives_are_ignored() -> None:
    assert request_of(b"\r\n\r\n" + msg(BASE)).method == "INVITE"


def test_quoted_display_names_with_commas_and_escapes() -> None:
    data = msg(BASE.replace(
        "From: <sip:34020000002000000001@3402000000>;tag=9fxced76sl",
        'From: "Zhang, San \\"ZS\\"" <sip:34020000002000000001@3402000000>;tag=9fxced76sl',
    ).replace("Content-Length: 0", 'Contact: "A, B" <sip:a@192.0.2.1>, <sip:b@192.0.2.2;transport=tcp>\n'
                                   "Content-Length: 0"))
    request = request_of(data)
    assert request.from_addr.tag == "9fxced76sl"
    assert request.from_addr.display_name is not None and "Zhang, San" in request.from_addr.display_name
    contacts = request.headers.get_all("Contact")
    assert len(contacts) == 2
    assert NameAddress.parse(contacts[1]).uri.params == {"transport": "tcp"}


def test_ipv6_in_via_and_uri() -> None:
    data = msg(BASE.replace(
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9",
        "Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111;received=2001:db8::9:255",
    ).replace("INVITE sip:34020000001320000001@192.0.2.20:5060", "INVITE sip:user@[2001:db8::10]:5070"))
    request = request_of(data)
    via = request.top_via
    assert (via.host, via.port, via.params["received"]) == ("2001:db8::9:1", 5060, "2001:db8::9:255")
    assert str(via).startswith("SIP/2.0/UDP [2001:db8::9:1]:5060")
    uri = SipUri.parse(request.uri)
    assert (uri.host, uri.port) == ("2001:db8::10", 5070)
    assert str(uri) == "sip:user@[2001:db8::10]:5070"


def test_unknown_method_is_a_request_like_any_other() -> None:
    data = msg(BASE.replace("INVITE sip", "NEWMETHOD sip").replace("1 INVITE", "1 NEWMETHOD"))
    assert request_of(data).method == "NEWMETHOD"


def test_content_length_shorter_than_datagram_truncates_body() -> None:
    data = msg(BASE.replace("Content-Length: 0", "Content-Length: 3")) + b"abcdef"
    assert request_of(data).body == b"abc"


def test_no_content_length_on_udp_body_runs_to_end() -> None:
    data = msg(BASE.replace("Content-Length: 0\n", "")) + b"xyz"
    assert request_of(data).body == b"xyz"


def test_padded_content_length() -> None:
    data = msg(BASE.replace("Content-Length: 0", "Content-Length:    2  ")) + b"ok"
    assert request_of(data).body == b"ok"


def test_gb2312_display_name_in_headers() -> None:
    data = msg(BASE).replace(b"From: <sip:", '"摄像机" <sip:'.encode("gb18030").join([b"From: ", b""]))
    request = request_of(data)
    assert request.from_addr.display_name == "摄像机"


def test_empty_reason_phrase_and_odd_status() -> None:
    response = parse_message(msg(BASE.replace("INVITE sip:34020000001320000001@192.0.2.20:5060 SIP/2.0",
                                              "SIP/2.0 699")))
    assert isinstance(response, SipResponse)
    assert (response.status, response.reason) == (699, "")


# --- broken input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("Content-Length: 0", "Content-Length: abc", "Content-Length"),
    ("Content-Length: 0", "Content-Length: -5", "Content-Length"),
    ("Content-Length: 0", "Content-Length: ²", "Content-Length"),
    ("Content-Length: 0", f"Content-Length: {MAX_BODY_BYTES + 1}", "exceeds"),
    ("Content-Length: 0", "Content-Length: 50", "shorter"),
    ("CSeq: 1 INVITE", "CSeq: 1 BYE", "does not match"),
    ("To: <sip:34020000001320000001@3402000000>", "To: <sip:34020000001320000001@3402000000",
     "To"),
    ("Max-Forwards: 70", "Max Forwards: 70", "malformed header line"),
    ("Max-Forwards: 70", "no colon here", "malformed header line"),
])
def test_answerable_requests_raise_malformed_request(old: str, new: str, fragment: str) -> None:
    with pytest.raises(MalformedRequest) as info:
        parse_message(msg(BASE.replace(old, new)))
    assert fragment in info.value.reason
    broken = info.value.request
    assert isinstance(broken, SipRequest)
    assert broken.call_id == "3848276298220188511@192.0.2.10"
    assert isinstance(make_response(broken, 400), SipResponse)


@pytest.mark.parametrize(("old", "new"), [
    ("Call-ID: 3848276298220188511@192.0.2.10\n", ""),  # no Call-ID: cannot be matched, so not answered
    ("CSeq: 1 INVITE\n", ""),
    ("Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9\n", ""),
    ("From: <sip:34020000002000000001@3402000000>;tag=9fxced76sl\n", ""),
    ("CSeq: 1 INVITE", "CSeq: -1 INVITE"),
    ("CSeq: 1 INVITE", "CSeq: 2147483648 INVITE"),  # 2**31: RFC 3261 §8.1.1.5 limit
    ("CSeq: 1 INVITE", "CSeq: 99999999999999999999999 INVITE"),
    ("CSeq: 1 INVITE", "CSeq: ² INVITE"),
    ("CSeq: 1 INVITE", "CSeq: INVITE"),
    ("Via: SIP/2.0/UDP 192.0.2.10:5060", "Via: SIP/2.0/UDP 192.0.2.10:99999"),
    ("Via: SIP/2.0/UDP 192.0.2.10:5060", "Via: SIP/2.0/UDP 192.0.2.10:²"),
    ("Via: SIP/2.0/UDP", "Via: HTTP/1.1/UDP"),
])
def test_unanswerable_requests_raise_plain_parse_error(old: str, new: str) -> None:
    data = msg(BASE.replace(old, new))
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert not isinstance(info.value, MalformedRequest)


@pytest.mark.parametrize("start_line", [
    "INVITE sip:user@example.com SIP/7.0",
    "invite sip:user@example.com SIP/2.0",
    "INVITE user.example.com SIP/2.0",
    "INVITE sip:user@example.com",
    "INVITE  SIP/2.0",
    "SIP/2.0 20 OK",
    "SIP/2.0 1000 OK",
    "SIP/2.0 099 Too Low",
    "SIP/2.0 700 Too High",
    "SIP/2.0 ２００ OK",
    "SIP/1.0 200 OK",
    "",
])
def test_bad_start_lines(start_line: str) -> None:
    lines = BASE.split("\n", 1)
    with pytest.raises(SipParseError):
        parse_message(msg(start_line + "\n" + lines[1]))


@pytest.mark.parametrize("data", [
    b"",
    b"\r\n\r\n",
    b"\x00\x01\x02\xff\xfe" * 50,
    bytes(range(256)),
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello
    b"INVITE",
    b"SIP/2.0 200 OK\r\n\r\n",
    b"X" * (MAX_HEADER_BYTES + 10),
])
def test_junk_raises_sip_parse_error_only(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


def test_responses_with_bad_headers_are_never_malformed_request() -> None:
    data = msg(BASE.replace("INVITE sip:34020000001320000001@192.0.2.20:5060 SIP/2.0", "SIP/2.0 200 OK")
               .replace("Content-Length: 0", "Content-Length: zero"))
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert not isinstance(info.value, MalformedRequest)


# --- serialization and make_response -------------------------------------------------------------

def test_round_trip_sets_content_length_and_crlf() -> None:
    request = request_of(msg(BASE))
    request.body = b"<xml/>"
    wire = request.to_bytes()
    assert wire.startswith(b"INVITE sip:34020000001320000001@192.0.2.20:5060 SIP/2.0\r\n")
    assert b"\r\nContent-Length: 6\r\n\r\n<xml/>" in wire
    again = request_of(wire)
    assert again.body == b"<xml/>"
    assert list(again.headers) == list(request.headers)


def test_make_response_copies_dialog_headers_and_adds_tag() -> None:
    request = request_of(msg(BASE.replace(
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK74bf9\n"
        "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKp",
    )))
    response = make_response(request, 200, to_tag="abc", body=b"v=0\r\n", content_type="application/sdp")
    assert response.reason == "OK"
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.to_addr.tag == "abc"
    assert (response.call_id, response.cseq) == (request.call_id, request.cseq)
    assert response.headers.get("Content-Type") == "application/sdp"
    trying = make_response(request, 100, to_tag="abc")
    assert trying.to_addr.tag is None  # 100 Trying carries no tag
    assert make_response(request, 486).reason == "Busy Here"
    assert make_response(request, 599).reason == "Unknown"
    reason = "Bad Request (missing Expires)"
    assert make_response(request, 400, reason).reason == reason
    tagged = make_response(make_response_request_with_tag(), 200, to_tag="new")
    assert tagged.to_addr.tag == "existing"


def make_response_request_with_tag() -> SipRequest:
    return request_of(msg(BASE.replace("To: <sip:34020000001320000001@3402000000>",
                                       "To: <sip:34020000001320000001@3402000000>;tag=existing")))


def test_headers_helpers() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("content-length", "0")])
    assert list(headers) == [("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Content-Length", "0")]
    headers.set("l", "5")
    assert headers.get("Content-Length") == "5"
    headers.remove("VIA")
    assert "Via" not in headers and len(headers) == 1
    assert Via.parse("SIP/2.0/tcp host;branch=x").transport == "TCP"


# --- the capture fixtures --------------------------------------------------------------------------

ALL_FIXTURES = sorted(FIXTURES.glob("*.sip"))
NEGATIVE = {"13", "26", "27", "28", "38", "42", "45", "40", "54", "67", "68", "64"}


def test_fixture_set_is_complete() -> None:
    assert len(ALL_FIXTURES) == 68


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=[p.name[:2] for p in ALL_FIXTURES])
def test_every_fixture_parses_or_raises_sip_parse_error(path: Path) -> None:
    number = path.name[:2]
    try:
        message = parse_message(wire_bytes(path))
    except SipParseError as exc:
        assert number in NEGATIVE, f"{path.name}: {exc.reason}"
        return
    assert number not in NEGATIVE, f"{path.name} should not parse"
    assert message.call_id
    assert message.cseq.number >= 1
    assert message.top_via.host
    assert message.from_addr.uri.user
    content_length = message.headers.get("Content-Length")
    assert content_length is not None and len(message.body) == int(content_length)


# number: (method or status, Call-ID, CSeq, From user)
EXPECTED: dict[str, tuple[str | int, str, str, str]] = {
    "01": ("REGISTER", "1455222403", "1 REGISTER", "34020000001320000002"),
    "02": (401, "1455222403", "1 REGISTER", "34020000001320000002"),
    "03": (401, "575393982", "1 REGISTER", "34020000001320000264"),
    "05": ("REGISTER", "1128656905", "3 REGISTER", "34020000001320000002"),
    "06": (302, "719011525", "2 REGISTER", "34020000001320000099"),
    "07": ("REGISTER", "143225205", "1 REGISTER", "130909113319427420"),
    "10": (200, "143225205", "2 REGISTER", "130909113319427420"),
    "11": ("REGISTER", "1881196343@192.168.6.71", "1 REGISTER", "34020000001320000002"),
    "14": ("REGISTER", "2b08604a19ccf8120a31000f0840547f@192.168.76.9", "3 REGISTER", "41010500003000000001"),
    "15": ("MESSAGE", "594186441", "20 MESSAGE", "34020000001320000002"),
    "17": ("MESSAGE", "1932152994", "20 MESSAGE", "21032300101110000002"),
    "19": ("MESSAGE", "63810466", "20 MESSAGE", "130909113319427420"),
    "24": ("MESSAGE", "685380150", "20 MESSAGE", "34020000001110000001"),
    "33": (200, "521293060", "15 MESSAGE", "34020000002000000001"),
    "37": ("MESSAGE", "360379917", "20 MESSAGE", "34020000001320000002"),
    "43": ("SUBSCRIBE", "715f605e3307409d8fb3a8617e04a0e5", "34 SUBSCRIBE", "34020000002000000001"),
    "44": (200, "xxx", "18467 SUBSCRIBE", "xxx"),
    "48": ("INVITE", "1316183468", "20 INVITE", "34020000002000000010"),
    "49": (101, "1316183468", "20 INVITE", "34020000002000000010"),
    "50": (200, "1316183468", "20 INVITE", "34020000002000000010"),
    "58": ("INFO", "2293065782", "21 INFO", "34020000002000000010"),
    "63": ("INVITE", "fd514e34c2a7e40940437ac0272afd44", "1 INVITE", "34020000001320000001"),
    "65": ("MESSAGE", "1066186907", "20 MESSAGE", "34020000001320000001"),
    "66": ("MESSAGE", "21190318", "20 MESSAGE", "34020000001320000001"),
}


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_fixture_values(number: str) -> None:
    kind, call_id, cseq, from_user = EXPECTED[number]
    message = parse_message(wire_bytes(fixture_path(number)))
    if isinstance(kind, int):
        assert isinstance(message, SipResponse) and message.status == kind
    else:
        assert isinstance(message, SipRequest) and message.method == kind
    assert message.call_id == call_id
    assert str(message.cseq) == cseq
    assert message.from_addr.uri.user == from_user


def test_fixture_details() -> None:
    preset = parse_message(wire_bytes(fixture_path("37")))
    assert "预置点 1" in preset.body.decode("gb18030")  # 258 bytes in GB2312, as declared
    assert len(preset.body) == 258
    dialog_101 = parse_message(wire_bytes(fixture_path("49")))
    assert isinstance(dialog_101, SipResponse) and dialog_101.reason == "Dialog Establishement"
    alphabetical = parse_message(wire_bytes(fixture_path("44")))
    assert alphabetical.top_via.branch is not None  # Via is the last header
    info = parse_message(wire_bytes(fixture_path("58")))
    assert info.body.startswith(b"PAUSE RTSP/1.0")  # padded `Content-Length:    40`
    redirect = parse_message(wire_bytes(fixture_path("06")))
    assert redirect.headers.get("Contact") is not None
    subscribe = parse_message(wire_bytes(fixture_path("43")))
    assert subscribe.top_via.branch == "z3hG9bKb7c9f520b8104e56942cb6083322c99a"


@pytest.mark.parametrize(("number", "malformed"), [
    ("13", False), ("26", False), ("45", False), ("54", False),
    ("40", True), ("64", True), ("67", True), ("68", True),
])
def test_negative_fixture_kinds(number: str, malformed: bool) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(wire_bytes(fixture_path(number)))
    assert isinstance(info.value, MalformedRequest) is malformed
