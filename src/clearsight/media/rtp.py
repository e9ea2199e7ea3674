"""RTP packets (RFC 3550 §5.1): parse and serialize a fixed header, CSRCs, a header extension and padding.

Parsing is on the media hot path (hundreds of streams at a few hundred packets a second each), so
`parse_rtp` reads the fixed header with a single `struct.unpack_from` and hands out the payload as a
`memoryview` over the caller's buffer instead of copying it. The common packet (no CSRC, extension or
padding) takes a short path that fills the slots of a new `RtpPacket` directly, without the keyword call of
its constructor. Anything malformed raises `RtpError`; no IndexError or struct.error escapes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2  # RFC 3550 §5.1: the only version in use
RTP_HEADER_SIZE = 12  # RFC 3550 §5.1: V/P/X/CC, M/PT, sequence number, timestamp, SSRC
RTP_SEQ_MOD = 1 << 16  # RFC 3550 §5.1: sequence numbers are 16 bits
RTP_MAX_CSRC = 15  # RFC 3550 §5.1: CC is 4 bits
RTP_EXTENSION_HEADER_SIZE = 4  # RFC 3550 §5.3.1: profile-defined 16 bits + length in 32-bit words
RTCP_PACKET_TYPES = range(200, 205)  # RFC 3550 §12.1: SR, RR, SDES, BYE, APP (second octet of RTCP)

_HALF_SEQ = RTP_SEQ_MOD // 2
_SEQ_MASK = RTP_SEQ_MOD - 1
_FIXED_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_CSRC_LISTS = tuple(struct.Struct(f"!{count}I") for count in range(RTP_MAX_CSRC + 1))
_PLAIN_FIRST_OCTET = RTP_VERSION << 6  # V=2 with no padding, no extension and no CSRC: the common packet
_RTCP_FIRST, _RTCP_LAST = RTCP_PACKET_TYPES[0], RTCP_PACKET_TYPES[-1]
_unpack_fixed_header = _FIXED_HEADER.unpack_from
_new_packet = object.__new__

Buffer = bytes | bytearray | memoryview


class RtpError(ValueError):
    """A datagram or frame is not a well-formed RTP packet; `reason` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True, kw_only=True)
class RtpPacket:
    """One RTP packet. `payload` and `extension_data` may be memoryviews over the received datagram.

    `padding_size` counts every padding octet including the final count octet (0 means no padding);
    `extension_profile` is None when the packet has no header extension. Treat it as immutable: it is not
    frozen only because a frozen dataclass costs a call per field to build, and one is built per packet.
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes | memoryview = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension_data: bytes | memoryview = b""
    padding_size: int = 0

    @property
    def version(self) -> int:
        return RTP_VERSION

    @property
    def padding(self) -> bool:
        return self.padding_size > 0

    @property
    def extension(self) -> bool:
        return self.extension_profile is not None

    @property
    def payload_size(self) -> int:
        return len(self.payload)

    def to_bytes(self) -> bytes:
        """Serialize; raises RtpError if a field is out of its range."""
        _check_range("payload_type", self.payload_type, 0x7F)
        _check_range("sequence", self.sequence, _SEQ_MASK)
        _check_range("timestamp", self.timestamp, 0xFFFFFFFF)
        _check_range("ssrc", self.ssrc, 0xFFFFFFFF)
        if len(self.csrcs) > RTP_MAX_CSRC:
            raise RtpError(f"{len(self.csrcs)} CSRCs; at most {RTP_MAX_CSRC} fit in the header")
        for csrc in self.csrcs:
            _check_range("csrc", csrc, 0xFFFFFFFF)
        if not 0 <= self.padding_size <= 0xFF:
            raise RtpError(f"padding_size {self.padding_size} out of range 0..255")
        first = (RTP_VERSION << 6) | len(self.csrcs)
        if self.padding_size:
            first |= 0x20
        parts = [b""]
        if self.csrcs:
            parts.append(_CSRC_LISTS[len(self.csrcs)].pack(*self.csrcs))
        if self.extension_profile is not None:
            first |= 0x10
            _check_range("extension_profile", self.extension_profile, 0xFFFF)
            words, rest = divmod(len(self.extension_data), 4)
            if rest or words > 0xFFFF:
                raise RtpError(f"extension data of {len(self.extension_data)} bytes is not a whole number "
                               "of 32-bit words below 2^16")
            parts.append(_EXTENSION_HEADER.pack(self.extension_profile, words))
            parts.append(bytes(self.extension_data))
        parts.append(bytes(self.payload))
        if self.padding_size:
            parts.append(bytes(self.padding_size - 1) + bytes((self.padding_size,)))
        second = (0x80 if self.marker else 0) | self.payload_type
        parts[0] = _FIXED_HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        return b"".join(parts)


def _check_range(name: str, value: int, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise RtpError(f"{name} {value} out of range 0..{maximum}")


def parse_rtp(data: Buffer) -> RtpPacket:
    """Parse one RTP packet; the payload is a memoryview over `data` (no copy).

    The views keep `data` alive, and a bytearray cannot be resized while they exist: pass bytes (a
    datagram, a frame from `Rfc4571Buffer`) or copy the payload before reusing the buffer.

    Raises RtpError when the version is not 2, the packet is shorter than its header, CSRC list or
    extension, the padding count is zero or longer than what follows the header, or the packet is
    RTCP (RFC 5761 §4: second octet 200–204) multiplexed onto the RTP port.
    """
    size = len(data)
    if size < RTP_HEADER_SIZE:
        raise RtpError(f"{size} bytes is shorter than the {RTP_HEADER_SIZE}-byte RTP header")
    first, second, sequence, timestamp, ssrc = _unpack_fixed_header(data)
    if first == _PLAIN_FIRST_OCTET and not _RTCP_FIRST <= second <= _RTCP_LAST:
        packet: RtpPacket = _new_packet(RtpPacket)
        packet.payload_type = second & 0x7F
        packet.sequence = sequence
        packet.timestamp = timestamp
        packet.ssrc = ssrc
        packet.payload = (data if isinstance(data, memoryview) else memoryview(data))[RTP_HEADER_SIZE:]
        packet.marker = second > 0x7F
        packet.csrcs = ()
        packet.extension_profile = None
        packet.extension_data = b""
        packet.padding_size = 0
        return packet
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected {RTP_VERSION}")
    if second in RTCP_PACKET_TYPES:
        raise RtpError(f"RTCP packet type {second}, not RTP")
    view = data if isinstance(data, memoryview) else memoryview(data)
    offset = RTP_HEADER_SIZE
    csrc_count = first & 0x0F
    csrcs: tuple[int, ...] = ()
    if csrc_count:
        offset += 4 * csrc_count
        if offset > size:
            raise RtpError(f"{csrc_count} CSRCs need {offset} bytes, packet has {size}")
        csrcs = _CSRC_LISTS[csrc_count].unpack_from(data, RTP_HEADER_SIZE)
    extension_profile: int | None = None
    extension_data: bytes | memoryview = b""
    if first & 0x10:
        if offset + RTP_EXTENSION_HEADER_SIZE > size:
            raise RtpError(f"header extension starts at byte {offset}, packet has {size}")
        extension_profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
        offset += RTP_EXTENSION_HEADER_SIZE
        end = offset + 4 * words
        if end > size:
            raise RtpError(f"header extension of {words} words ends at byte {end}, packet has {size}")
        extension_data = view[offset:end]
        offset = end
    end = size
    padding_size = 0
    if first & 0x20:
        if offset == size:
            raise RtpError("padding bit set but no octets after the header")
        padding_size = view[size - 1]
        if padding_size == 0:
            raise RtpError("padding bit set with a padding count of 0")
        if offset + padding_size > size:
            raise RtpError(f"padding of {padding_size} bytes is longer than the {size - offset} after the header")
        end = size - padding_size
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=view[offset:end],
        marker=bool(second & 0x80),
        csrcs=csrcs,
        extension_profile=extension_profile,
        extension_data=extension_data,
        padding_size=padding_size,
    )


def seq_diff(a: int, b: int) -> int:
    """`a - b` on the 16-bit sequence circle, in -32768..32767 (so 0 - 65535 is 1)."""
    return ((a - b + _HALF_SEQ) & _SEQ_MASK) - _HALF_SEQ


def seq_lt(a: int, b: int) -> bool:
    """True when `a` comes before `b` on the 16-bit circle (RFC 1982 serial-number order).

    Numbers exactly 32768 apart are unordered: `seq_lt` is False both ways.
    """
    return 0 < ((b - a) & _SEQ_MASK) < _HALF_SEQ


def seq_add(a: int, delta: int) -> int:
    """`a + delta` modulo 2^16."""
    return (a + delta) & _SEQ_MASK
