"""Cut a SIP-over-TCP byte stream into messages by Content-Length (RFC 3261 §18.3), sans-I/O.

Like h11's receive buffer, it remembers how far it has searched for the end of the headers so that a
peer dribbling bytes cannot make it rescan: each byte is looked at a bounded number of times.
"""

from __future__ import annotations

import re

from clearsight.sip.errors import FramingError
from clearsight.sip.message import MAX_BODY_BYTES, MAX_HEADER_BYTES

# `\r?` before `$`: in MULTILINE mode `$` matches before "\n" only, and header lines end in CRLF.
_CONTENT_LENGTH = re.compile(
    rb"^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)
_HEAD_END = re.compile(rb"\r\n\r\n|\n\n")


class SipStreamBuffer:
    """Accumulates stream bytes; `next_message()` returns one whole message's bytes or None."""

    __slots__ = ("_body_len", "_buf", "_head_end", "_searched")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._searched = 0
        self._head_end: int | None = None
        self._body_len = 0

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_message(self) -> bytes | None:
        """The next complete message, or None until more bytes arrive.

        Raises FramingError when the stream cannot be framed any more (the connection must be closed):
        headers over MAX_HEADER_BYTES, a missing or bad Content-Length.
        """
        if self._head_end is None:
            self._skip_keepalive_crlf()
            if not self._buf:
                return None
            # Back up 3 bytes so a terminator split across feeds is still found.
            start = max(0, self._searched - 3)
            match = _HEAD_END.search(self._buf, start)
            if match is None:
                self._searched = len(self._buf)
                if len(self._buf) > MAX_HEADER_BYTES:
                    raise FramingError(f"no end of headers within {MAX_HEADER_BYTES} bytes")
                return None
            head = bytes(self._buf[: match.start()])
            lengths = _CONTENT_LENGTH.findall(head)
            if not lengths:
                raise FramingError("message on a stream transport without Content-Length")
            raw = lengths[0].strip()
            if not raw.isdigit():
                raise FramingError(f"bad Content-Length {raw!r}")
            self._body_len = int(raw)
            if self._body_len > MAX_BODY_BYTES:
                raise FramingError(f"Content-Length {self._body_len} exceeds {MAX_BODY_BYTES}")
            self._head_end = match.end()
        total = self._head_end + self._body_len
        if len(self._buf) < total:
            return None
        message = bytes(self._buf[:total])
        del self._buf[:total]
        self._head_end = None
        self._searched = 0
        return message

    def _skip_keepalive_crlf(self) -> None:
        # RFC 5626 §3.5.1: CRLF keep-alives between messages are ignored.
        i = 0
        while i < len(self._buf) and self._buf[i] in (0x0D, 0x0A):
            i += 1
        if i:
            del self._buf[:i]
            self._searched = max(0, self._searched - i)
