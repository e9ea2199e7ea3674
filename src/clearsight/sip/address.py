"""Structured views of SIP header values: URIs, name-addresses (From/To/Contact), Via and CSeq."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from clearsight.sip.errors import SipParseError

# RFC 3261 §8.1.1.7: every branch we create starts with this cookie.
BRANCH_MAGIC_COOKIE = "z9hG4bK"

_VIA_PROTOCOL = re.compile(r"(SIP)\s*/\s*([^\s/]+)\s*/\s*([^\s/;]+)\s+", re.IGNORECASE)


def parse_params(text: str) -> dict[str, str | None]:
    """Parse `;a=b;c` parameters (text starts after the first `;` or is empty). Keys are lower-cased."""
    params: dict[str, str | None] = {}
    for raw in _split_outside_quotes(text, ";"):
        item = raw.strip()
        if not item:
            continue
        if "=" in item:
            key, value = item.split("=", 1)
            params[key.strip().lower()] = value.strip()
        else:
            params[item.lower()] = None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def split_host_port(hostport: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` → (host, port). Raises SipParseError on a bad port."""
    hostport = hostport.strip()
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {hostport!r}")
        host = hostport[1:end]
        rest = hostport[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    elif ":" in hostport:
        host, port_text = hostport.rsplit(":", 1)
    else:
        host, port_text = hostport, ""
    if not host:
        raise SipParseError(f"empty host in {hostport!r}")
    if not port_text:
        return host, None
    # isascii(): str.isdigit() accepts digits such as "²" that int() refuses.
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise SipParseError(f"bad port in {hostport!r}")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class SipUri:
    """`sip:user@host:port;params` (headers after `?` are kept verbatim in `headers`)."""

    host: str
    user: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    scheme: str = "sip"
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, sep, rest = text.partition(":")
        if not sep or scheme.lower() not in ("sip", "sips", "tel"):
            raise SipParseError(f"not a SIP URI: {text!r}")
        rest, _, headers = rest.partition("?")
        userhost, _, param_text = rest.partition(";")
        user: str | None = None
        if "@" in userhost:
            user, _, hostport = userhost.rpartition("@")
        else:
            hostport = userhost
        host, port = split_host_port(hostport)
        return cls(host=host, user=user or None, port=port, params=parse_params(param_text),
                   scheme=scheme.lower(), headers=headers)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        out = f"{self.scheme}:"
        if self.user:
            out += f"{self.user}@"
        out += host
        if self.port is not None:
            out += f":{self.port}"
        out += format_params(self.params)
        if self.headers:
            out += f"?{self.headers}"
        return out


@dataclass(frozen=True, slots=True)
class NameAddress:
    """From/To/Contact value: `"Display" <uri>;tag=x` or a bare `uri;tag=x` (params then belong to the
    header)."""

    uri: SipUri
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        text = text.strip()
        lt = text.find("<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise SipParseError(f"unterminated '<' in {text!r}")
            display = text[:lt].strip().strip('"').strip() or None
            uri = SipUri.parse(text[lt + 1 : gt])
            rest = text[gt + 1 :].strip()
            params = parse_params(rest[1:] if rest.startswith(";") else rest)
            return cls(uri=uri, display_name=display, params=params)
        # addr-spec without brackets: header params follow the URI (RFC 3261 §20.10).
        uri_text, _, param_text = text.partition(";")
        return cls(uri=SipUri.parse(uri_text), params=parse_params(param_text))

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddress:
        return replace(self, params={**self.params, "tag": tag})

    def __str__(self) -> str:
        display = f'"{self.display_name}" ' if self.display_name else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class Via:
    """One Via hop: `SIP/2.0/UDP host:port;branch=...;rport;received=...`."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        text = text.strip()
        # RFC 3261 §25.1 allows LWS around the "/" of sent-protocol (RFC 4475 §3.1.1.1 "wsinv").
        match = _VIA_PROTOCOL.match(text)
        if match is None:
            raise SipParseError(f"bad Via protocol in {text!r}")
        pieces = [match.group(1), match.group(2), match.group(3)]
        rest = text[match.end():]
        sent_by, _, param_text = rest.strip().partition(";")
        host, port = split_host_port(sent_by)
        return cls(transport=pieces[2].upper(), host=host, port=port, params=parse_params(param_text))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {host}{port}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()):
            raise SipParseError(f"bad CSeq {text!r}")
        number = int(parts[0])
        if number >= 2**31:
            raise SipParseError(f"CSeq number out of range in {text!r}")
        return cls(number=number, method=parts[1].upper())

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
