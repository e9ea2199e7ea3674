"""SDP (RFC 4566) as GB/T 28181 uses it in INVITE offers and device answers: the types and the parser.

Building offers and answers is in :mod:`clearsight.gb28181.sdp_build`, reading an answer against
the offer in :mod:`clearsight.gb28181.sdp_negotiate`.

Pure: bytes in, values out. GB/T 28181 adds two lines after the media: ``y=`` (the SSRC, see
:mod:`clearsight.gb28181.ssrc`) and ``f=`` (media format hints). What devices do, and what we do about it:

* ``a=setup`` on a UDP ``RTP/AVP`` stream (Hikvision IPCs answer ``a=setup:active`` on UDP, captures 53
  and 57). RFC 4145 gives ``a=setup`` meaning only for TCP: over UDP the device simply sends RTP to the
  offered port, so ``sdp_negotiate.negotiate`` ignores the attribute and records a note. The parser
  keeps it as sent.
* A different ``y=`` in the answer than offered: the device's value is the one to expect in RTP.
* Playback answers whose ``t=`` is the offer's plus 28800 s (an NVR applying UTC+8 twice, capture 56):
  parsed as sent; ``sdp_negotiate.negotiate`` reports the shift.
* ``a=username`` / ``a=password`` (and any ``k=`` key line) are dropped while parsing: they are never
  stored, so they cannot reach a log or a repr.
* Voice broadcast INVITEs carry ``m=audio`` only (captures 63, 64): :func:`parse_sdp` rejects them
  unless called with ``media_kind="audio"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from clearsight.gb28181.ssrc import InvalidSsrc, Ssrc, StreamKind, parse_y

CRLF = "\r\n"  # RFC 4566 §5: lines end with CRLF
OFFER_FORMATS = ("96", "97", "98")  # GB/T 28181-2016 appendix F: payload types a platform offers
RTPMAP_OFFER = (("96", "PS/90000"), ("98", "H264/90000"), ("97", "MPEG4/90000"))  # appendix F rtpmaps
PS_PAYLOAD_TYPE = 96  # GB/T 28181: dynamic payload type 96 is the MPEG-2 Program Stream
DEFAULT_CLOCK_RATE = 90_000  # RFC 3551: video clock rate
UDP_PROTO = "RTP/AVP"  # RFC 3551 profile over UDP
TCP_PROTO = "TCP/RTP/AVP"  # RFC 4571 framing over TCP, as GB/T 28181-2016 writes it
PAYLOAD_TYPE_MAX = 127  # RFC 3550 §5.1: 7-bit payload type
PORT_MAX = 65_535
CREDENTIAL_ATTRIBUTES = frozenset({"username", "password"})  # Hikvision puts the SIP login here (53, 56)
_EXCERPT = 60  # characters of a bad line quoted in an error
_CONNECTION_FIELDS = 3  # RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>
_MEDIA_FIELDS = 3  # RFC 4566 §5.14: m=<media> <port> <proto> <fmt> ... (fmt tolerated missing)
_ORIGIN_FIELDS = 6  # RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_UINT = re.compile(r"[0-9]{1,20}", re.ASCII)
_PORT = re.compile(r"([0-9]{1,5})(?:/[0-9]{1,5})?", re.ASCII)


class SdpError(ValueError):
    """An SDP body that cannot be used; ``reason`` says why (it never quotes credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaTransport(Enum):
    """How RTP travels, from the point of view of whoever writes the SDP."""

    UDP = "udp"
    TCP_PASSIVE = "tcp-passive"  # the writer listens (a=setup:passive)
    TCP_ACTIVE = "tcp-active"  # the writer connects (a=setup:active)


class Direction(Enum):
    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"


class TcpSetup(Enum):
    """RFC 4145 ``a=setup`` roles."""

    ACTIVE = "active"
    PASSIVE = "passive"
    ACTPASS = "actpass"
    HOLDCONN = "holdconn"


class Codec(Enum):
    """What a payload type carries, by its rtpmap encoding name."""

    PS = "PS"
    H264 = "H264"
    H265 = "H265"
    MPEG4 = "MPEG4"
    MP2T = "MP2T"
    UNKNOWN = "unknown"


_CODEC_BY_ENCODING = {
    "PS": Codec.PS,
    "MP2P": Codec.PS,
    "H264": Codec.H264,
    "H265": Codec.H265,
    "HEVC": Codec.H265,
    "MPEG4": Codec.MPEG4,
    "MP4V-ES": Codec.MPEG4,
    "MP2T": Codec.MP2T,
}
_KIND_BY_NAME = {kind.value.lower(): kind for kind in StreamKind}
_DIRECTIONS = frozenset(d.value for d in Direction)
_SETUP_ROLES = frozenset(r.value for r in TcpSetup)


class RtpMap(NamedTuple):
    encoding: str
    clock_rate: int


@dataclass(frozen=True, slots=True)
class Attribute:
    """One ``a=`` line; ``name`` lower-cased, ``value`` None for a flag such as ``a=recvonly``."""

    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Origin:
    username: str
    session_id: str
    session_version: str
    address: str


def _first(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    return next((a for a in attributes if a.name == name), None)


def _uint(text: str | None) -> int | None:
    return int(text) if text is not None and _UINT.fullmatch(text) else None


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section with its own ``c=`` and ``a=`` lines."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection_address: str | None
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> str | None:
        """Value of the first ``a=<name>`` (``""`` for a flag), or None when absent."""
        found = _first(self.attributes, name.lower())
        return None if found is None else (found.value or "")

    @property
    def is_tcp(self) -> bool:
        return self.proto.upper().startswith("TCP/")

    @property
    def rtpmap(self) -> dict[int, RtpMap]:
        """Payload type → (encoding, clock rate); malformed rtpmap lines are skipped."""
        result: dict[int, RtpMap] = {}
        for attr in self.attributes:
            if attr.name != "rtpmap" or attr.value is None:
                continue
            pt_text, _, rest = attr.value.partition(" ")
            encoding, _, clock_text = rest.strip().partition("/")
            pt, clock = _uint(pt_text), _uint(clock_text.partition("/")[0])
            if pt is not None and pt <= PAYLOAD_TYPE_MAX and encoding and clock is not None:
                result.setdefault(pt, RtpMap(encoding, clock))
        return result

    @property
    def fmtp(self) -> dict[int, dict[str, str]]:
        """Payload type → its ``a=fmtp`` parameters (RFC 4566 §6; ``name=value`` pairs separated by ``;`` as
        RFC 6184 §8.2.1 writes them), names lower-cased; malformed lines and pairs are skipped."""
        result: dict[int, dict[str, str]] = {}
        for attr in self.attributes:
            if attr.name != "fmtp" or attr.value is None:
                continue
            pt_text, _, rest = attr.value.strip().partition(" ")
            pt = _uint(pt_text)
            if pt is None or pt > PAYLOAD_TYPE_MAX:
                continue
            parameters = result.setdefault(pt, {})
            for pair in rest.split(";"):
                name, equals, value = pair.partition("=")
                if equals and name.strip():
                    parameters.setdefault(name.strip().lower(), value.strip())
        return result


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A parsed body. ``stream`` is the first ``m=`` of the kind asked for; ``host`` its effective ``c=``."""

    session_name: str
    origin: Origin | None
    info: str | None
    uri: str | None
    connection_address: str | None
    start: int
    end: int
    attributes: tuple[Attribute, ...]
    media: tuple[MediaDescription, ...]
    stream: MediaDescription
    host: str
    ssrc: Ssrc | None
    ssrc_text: str | None
    format_line: str | None
    other_lines: tuple[str, ...]

    @property
    def kind(self) -> StreamKind | None:
        """``s=`` as a :class:`StreamKind`; None for other names (``Network Video Recorder``)."""
        return _KIND_BY_NAME.get(self.session_name.strip().lower())

    @property
    def port(self) -> int:
        return self.stream.port

    @property
    def rtpmap(self) -> dict[int, RtpMap]:
        return self.stream.rtpmap

    def _attribute(self, name: str) -> str | None:
        value = self.stream.attribute(name)
        if value is None:
            found = _first(self.attributes, name)
            value = None if found is None else (found.value or "")
        return value

    @property
    def direction(self) -> Direction | None:
        """Media-level direction, else session-level; None when neither says."""
        for attr in (*self.stream.attributes, *self.attributes):
            if attr.value is None and attr.name in _DIRECTIONS:
                return Direction(attr.name)
        return None

    @property
    def setup(self) -> TcpSetup | None:
        value = (self._attribute("setup") or "").strip().lower()
        return TcpSetup(value) if value in _SETUP_ROLES else None

    @property
    def connection(self) -> str | None:
        """``a=connection`` (``new`` / ``existing``)."""
        return self._attribute("connection")

    @property
    def download_speed(self) -> int | None:
        return _uint(self._attribute("downloadspeed"))

    @property
    def filesize(self) -> int | None:
        return _uint(self._attribute("filesize"))


def _excerpt(line: str) -> str:
    return repr(line[:_EXCERPT])


def _parse_connection(line: str, value: str) -> str:
    parts = value.split()
    if len(parts) < _CONNECTION_FIELDS or parts[0].upper() != "IN":
        raise SdpError(f"bad c= line {_excerpt(line)}: expected 'IN IP4 <address>'")
    return parts[2].partition("/")[0]


def _parse_media_line(line: str, value: str) -> tuple[str, int, str, tuple[str, ...]]:
    parts = value.split()
    if len(parts) < _MEDIA_FIELDS:
        raise SdpError(f"bad m= line {_excerpt(line)}: expected '<media> <port> <proto> <formats>'")
    port_match = _PORT.fullmatch(parts[1])
    port = int(port_match.group(1)) if port_match else -1
    if not 0 <= port <= PORT_MAX:
        raise SdpError(f"bad port in m= line {_excerpt(line)}")
    return parts[0].lower(), port, parts[2], tuple(parts[3:])


def _parse_attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    return Attribute(name.strip().lower(), rest.strip() if colon else None)


@dataclass(slots=True)
class _MediaBuilder:
    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection_address: str | None = None
    attributes: list[Attribute] = field(default_factory=list)

    def build(self) -> MediaDescription:
        return MediaDescription(self.kind, self.port, self.proto, self.formats, self.connection_address,
                                tuple(self.attributes))


def parse_sdp(body: bytes, *, media_kind: str = "video") -> SessionDescription:
    """Parse an SDP body; raise :class:`SdpError` (and nothing else) when it is unusable.

    Tolerates LF or CRLF, surrounding spaces, unknown lines (kept in ``other_lines``), ``y=``/``f=``
    anywhere. Unusable: no ``m=<media_kind>``, a malformed ``m=``/``c=``/``t=`` line, or no ``c=``
    address for the stream at session or media level.
    """
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    media_kind = media_kind.lower()
    session_name = ""
    origin: Origin | None = None
    info: str | None = None
    uri: str | None = None
    session_host: str | None = None
    times: tuple[int, int] | None = None
    session_attributes: list[Attribute] = []
    media: list[_MediaBuilder] = []
    ssrc_text: str | None = None
    format_line: str | None = None
    other: list[str] = []
    for raw in _LINE_BREAK.split(text):
        line = raw.strip()
        if not line:
            continue
        kind, equals, value = line.partition("=")
        kind, value = kind.strip().lower(), value.strip()
        current = media[-1] if media else None
        if not equals or len(kind) != 1:
            other.append(line)
        elif kind == "m":
            media.append(_MediaBuilder(*_parse_media_line(line, value)))
        elif kind == "c":
            address = _parse_connection(line, value)
            if current is None:
                session_host = session_host or address
            else:
                current.connection_address = current.connection_address or address
        elif kind == "a":
            attribute = _parse_attribute(value)
            if attribute.name in CREDENTIAL_ATTRIBUTES:
                continue
            if current is None:
                session_attributes.append(attribute)
            else:
                current.attributes.append(attribute)
        elif kind == "y":
            ssrc_text = value if ssrc_text is None else ssrc_text
        elif kind == "f":
            format_line = value if format_line is None else format_line
        elif kind == "k":
            continue  # an encryption key: never kept
        elif kind == "v":
            continue  # always 0 (RFC 4566 §5.1); devices are not checked on it
        elif current is not None:
            other.append(line)
        elif kind == "s":
            session_name = value
        elif kind == "o":
            fields = value.split()
            origin = Origin(fields[0], fields[1], fields[2], fields[5]) if len(fields) >= _ORIGIN_FIELDS else origin
        elif kind == "i":
            info = value
        elif kind == "u":
            uri = value
        elif kind == "t" and times is None:
            match [_uint(v) for v in value.split()]:
                case [int() as start, int() as stop]:
                    times = (start, stop)
                case _:
                    raise SdpError(f"bad t= line {_excerpt(line)}: expected '<start> <stop>' in seconds")
        else:
            other.append(line)
    built = tuple(m.build() for m in media)
    stream = next((m for m in built if m.kind == media_kind), None)
    if stream is None:
        found = ", ".join(sorted({m.kind for m in built}))[:_EXCERPT] or "none"
        raise SdpError(f"no m={media_kind} line (media found: {found})")
    host = stream.connection_address or session_host
    if not host:
        raise SdpError(f"no c= address for the {media_kind} stream at session or media level")
    ssrc: Ssrc | None = None
    if ssrc_text is not None:
        try:
            ssrc = parse_y(ssrc_text)
        except InvalidSsrc:
            ssrc = None  # kept as ssrc_text; negotiate notes it
    start_time, end_time = times or (0, 0)
    return SessionDescription(
        session_name, origin, info, uri, session_host, start_time, end_time, tuple(session_attributes), built,
        stream, host, ssrc, ssrc_text, format_line, tuple(other),
    )
