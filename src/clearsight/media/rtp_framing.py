"""RTP (and RTCP) over a TCP connection, framed by a 16-bit length (RFC 4571 §2), sans-I/O.

GB/T 28181 uses this framing for `TCP/RTP/AVP` media, passive or active. `Rfc4571Buffer` takes the bytes
as they are read and hands out whole frames, h11-style: each byte is copied a bounded number of times
whatever the read sizes (one byte at a time or many frames per read), and `next_packet()` returns None
until a whole frame has arrived.

The length prefix cannot itself be wrong (any 16-bit value is a length), so a peer that sends something
other than RTP shows up only in the frames' contents. With `check_rtp_version` (the default) the first
octet of every frame must carry RTP version 2 — true of RTP and of RTCP — and is checked as soon as it
arrives, not after the announced length has been buffered; an empty frame fails the same check. A
FramingError means the stream is out of step and the connection must be closed.
"""

from __future__ import annotations

from clearsight.media.rtp import RTP_VERSION

LENGTH_PREFIX_SIZE = 2  # RFC 4571 §2: 16-bit unsigned length, network byte order
MAX_FRAME_SIZE = 0xFFFF  # RFC 4571 §2: the largest length the prefix can carry


class FramingError(Exception):
    """The byte stream cannot be cut into RTP frames any more; close the connection."""

    def __init__(self, reason: str, *, offset: int) -> None:
        super().__init__(f"{reason} (frame at stream offset {offset})")
        self.reason = reason
        self.offset = offset


class Rfc4571Buffer:
    """Accumulates stream bytes; `next_packet()` returns one whole frame's payload or None."""

    __slots__ = ("_buf", "_check_rtp_version", "_consumed", "_pos", "_version_checked")

    def __init__(self, *, check_rtp_version: bool = True) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the next frame's length prefix in _buf
        self._consumed = 0  # stream offset of _buf[0], for error messages
        self._check_rtp_version = check_rtp_version
        self._version_checked = False  # the frame at _pos already passed the version check

    def __len__(self) -> int:
        """Bytes received and not yet returned as frames."""
        return len(self._buf) - self._pos

    @property
    def at_frame_boundary(self) -> bool:
        """True when no partial frame is buffered (a clean place for the peer to close)."""
        return len(self._buf) == self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos:
            # Drop the frames already handed out once per read, not once per frame.
            del self._buf[: self._pos]
            self._consumed += self._pos
            self._pos = 0
        self._buf += data

    def next_packet(self) -> bytes | None:
        """The next frame's bytes, or None until more arrive; FramingError if the stream is not RTP."""
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if available < LENGTH_PREFIX_SIZE:
            return None
        length = (buf[pos] << 8) | buf[pos + 1]
        if self._check_rtp_version and not self._version_checked:
            if length == 0:
                raise FramingError("empty frame", offset=self._consumed + pos)
            if available == LENGTH_PREFIX_SIZE:
                return None
            first = buf[pos + LENGTH_PREFIX_SIZE]
            if first >> 6 != RTP_VERSION:
                raise FramingError(f"frame starts with 0x{first:02x}, not RTP version {RTP_VERSION}",
                                   offset=self._consumed + pos)
            self._version_checked = True
        end = pos + LENGTH_PREFIX_SIZE + length
        if len(buf) < end:
            return None
        packet = bytes(memoryview(buf)[pos + LENGTH_PREFIX_SIZE : end])
        self._pos = end
        self._version_checked = False
        if end == len(buf):
            buf.clear()
            self._consumed += end
            self._pos = 0
        return packet


def frame_rtp(packet: bytes | bytearray | memoryview) -> bytes:
    """Prefix one RTP/RTCP packet with its RFC 4571 length; ValueError if it is over 65535 bytes."""
    size = len(packet)
    if size > MAX_FRAME_SIZE:
        raise ValueError(f"packet of {size} bytes does not fit a {LENGTH_PREFIX_SIZE}-byte length prefix")
    return size.to_bytes(LENGTH_PREFIX_SIZE, "big") + bytes(packet)
