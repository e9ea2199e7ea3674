"""Exceptions of the SIP layer; the transports turn them into 400 responses or drop-and-log."""

from __future__ import annotations


class SipError(Exception):
    """Base class of every error raised by clearsight.sip."""


class SipParseError(SipError):
    """A message (or a header value) that does not follow the SIP grammar closely enough to use."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedRequest(SipParseError):
    """A request we could read far enough to answer `400 Bad Request` (its headers are kept)."""

    def __init__(self, reason: str, request: object) -> None:
        super().__init__(reason)
        self.request = request


class FramingError(SipError):
    """A TCP byte stream that cannot be framed into messages (oversized headers, bad Content-Length)."""
