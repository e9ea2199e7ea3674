"""SIP (RFC 3261) as GB/T 28181 uses it: sans-I/O parsing, framing, transactions; thin asyncio transports."""

from clearsight.sip.address import CSeq, NameAddress, SipUri, Via
from clearsight.sip.errors import FramingError, MalformedRequest, SipError, SipParseError
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipMessage, SipRequest, SipResponse, make_response, parse_message

__all__ = [
    "CSeq", "FramingError", "Headers", "MalformedRequest", "NameAddress", "SipError", "SipMessage",
    "SipParseError", "SipRequest", "SipResponse", "SipUri", "Via", "make_response", "parse_message",
]
