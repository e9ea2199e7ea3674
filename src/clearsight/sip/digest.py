"""HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 7616), sans-I/O.

Both sides: `DigestAuthenticator` challenges and verifies (the platform), `authorization_for` answers a
challenge (the device simulator, cascade to an upper platform). MD5 and SHA-256 (and their `-sess`
variants), `qop=auth` and the legacy no-qop form of RFC 2069 that Hikvision and Dahua devices still send.

Nonces are stateless: `<issue time><salt><HMAC(secret, time, salt, realm)>`, so a platform serving
100,000 devices keeps no nonce table. The price: a nonce can be replayed until it goes stale (nonce
counts are not tracked); keep `nonce_ttl` modest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

from clearsight.sip.errors import SipError

# RFC 7616 §3.3: nonce-count is exactly 8 hex digits.
NONCE_COUNT_DIGITS = 8
# Our nonce layout: 8 hex digits of issue time (Unix seconds), 8 of salt, 24 of truncated HMAC-SHA256.
_NONCE_TIME_HEX = 8
_NONCE_SALT_HEX = 8
_NONCE_MAC_HEX = 24
_NONCE_LEN = _NONCE_TIME_HEX + _NONCE_SALT_HEX + _NONCE_MAC_HEX
_HEX = frozenset("0123456789abcdefABCDEF")


class DigestError(SipError):
    """A Digest challenge or credentials value we cannot use (malformed, unsupported algorithm/qop)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DigestAlgorithm(StrEnum):
    """The `algorithm` parameter (RFC 7616 §3.3); values are the canonical spellings we send."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA256 = "SHA-256"
    SHA256_SESS = "SHA-256-sess"

    @classmethod
    def from_token(cls, token: str | None) -> DigestAlgorithm:
        """Case-insensitive (`algorithm=md5` is common); absent means MD5 (RFC 2617 §3.2.1)."""
        if token is None:
            return cls.MD5
        wanted = token.strip().upper()
        for member in cls:
            if member.value.upper() == wanted:
                return member
        raise DigestError(f"unsupported digest algorithm {token!r}")

    @property
    def hash_name(self) -> str:
        return "md5" if self in (DigestAlgorithm.MD5, DigestAlgorithm.MD5_SESS) else "sha256"

    @property
    def is_session(self) -> bool:
        return self in (DigestAlgorithm.MD5_SESS, DigestAlgorithm.SHA256_SESS)


class DigestVerdict(Enum):
    OK = "ok"
    STALE = "stale"  # our nonce, right response, but too old: answer 401 with stale=true
    MISMATCH = "mismatch"  # our nonce, wrong response (or wrong realm): answer 403
    FOREIGN_NONCE = "foreign_nonce"  # a nonce we never issued: challenge afresh


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """A parsed `WWW-Authenticate` / `Proxy-Authenticate` Digest value."""

    realm: str
    nonce: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: tuple[str, ...] = ()  # offered qop options, lower-case; empty = legacy RFC 2069 mode
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """A parsed `Authorization` / `Proxy-Authorization` Digest value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: str | None = None  # "auth" or None (legacy)
    cnonce: str | None = None
    nc: str | None = None  # the 8 hex digits exactly as sent: they enter the hash verbatim
    opaque: str | None = None


def _parse_auth_params(value: str, what: str) -> dict[str, str]:
    """`Digest a="b", c=d,e="f"` → {"a": "b", "c": "d", "e": "f"} (keys lower-cased, quotes removed)."""
    text = value.strip()
    scheme_end = 0
    while scheme_end < len(text) and not text[scheme_end].isspace():
        scheme_end += 1
    scheme = text[:scheme_end]
    if scheme.lower() != "digest":
        raise DigestError(f"{what} is not a Digest value (scheme {scheme[:20]!r})")
    rest = text[scheme_end:]
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while True:
        while i < n and (rest[i].isspace() or rest[i] == ","):
            i += 1
        if i >= n:
            break
        start = i
        while i < n and rest[i] not in "=," and not rest[i].isspace():
            i += 1
        name = rest[start:i].lower()
        while i < n and rest[i].isspace():
            i += 1
        if not name or i >= n or rest[i] != "=":
            raise DigestError(f"{what}: parameter {name or rest[start:start + 20]!r} has no value")
        i += 1
        while i < n and rest[i].isspace():
            i += 1
        if i < n and rest[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rest[i])
                i += 1
            if i >= n:
                raise DigestError(f"{what}: unterminated quoted value of {name!r}")
            i += 1
            param_value = "".join(chars)
        else:
            start = i
            while i < n and rest[i] != ",":
                i += 1
            param_value = rest[start:i].strip()
            if not param_value or any(c.isspace() or c == '"' for c in param_value):
                raise DigestError(f"{what}: bad value of {name!r}")
        while i < n and rest[i].isspace():
            i += 1
        if i < n and rest[i] != ",":
            raise DigestError(f"{what}: expected ',' after {name!r}")
        if name in params:
            raise DigestError(f"{what}: parameter {name!r} given twice")
        params[name] = param_value
    return params


def _require(params: dict[str, str], names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if name not in params]
    if missing:
        raise DigestError(f"{what} lacks {', '.join(missing)}")


def parse_challenge(value: str) -> DigestChallenge:
    """Parse a `WWW-Authenticate` value. Raises DigestError when malformed or unusable."""
    params = _parse_auth_params(value, "challenge")
    _require(params, ("realm", "nonce"), "challenge")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return DigestChallenge(
        realm=params["realm"], nonce=params["nonce"],
        algorithm=DigestAlgorithm.from_token(params.get("algorithm")), qop=qop,
        opaque=params.get("opaque"), stale=params.get("stale", "").lower() == "true",
        domain=params.get("domain"),
    )


def parse_credentials(value: str) -> DigestCredentials:
    """Parse an `Authorization` value. Raises DigestError when malformed or unusable."""
    params = _parse_auth_params(value, "credentials")
    _require(params, ("username", "realm", "nonce", "uri", "response"), "credentials")
    qop = params.get("qop")
    if qop is not None:
        qop = qop.lower()
        if qop != "auth":
            raise DigestError(f"unsupported qop {qop!r}")
        _require(params, ("cnonce", "nc"), "credentials with qop")
        nc = params["nc"]
        if not nc or len(nc) > NONCE_COUNT_DIGITS or not set(nc) <= _HEX:
            raise DigestError(f"bad nonce count {nc!r}")
    return DigestCredentials(
        username=params["username"], realm=params["realm"], nonce=params["nonce"], uri=params["uri"],
        response=params["response"], algorithm=DigestAlgorithm.from_token(params.get("algorithm")),
        qop=qop, cnonce=params.get("cnonce") if qop else None, nc=params.get("nc") if qop else None,
        opaque=params.get("opaque"),
    )


def _h(algorithm: DigestAlgorithm, text: str) -> str:
    return hashlib.new(algorithm.hash_name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_response(algorithm: DigestAlgorithm, *, username: str, realm: str, password: str, method: str,
                    uri: str, nonce: str, qop: str | None = None, nc: str | None = None,
                    cnonce: str | None = None) -> str:
    """The `response` value (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1); no qop → RFC 2069 form."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.is_session:
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce or ''}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def authorization_for(challenge: DigestChallenge, method: str, uri: str, username: str, password: str, *,
                      cnonce: str | None = None, nc: int = 1) -> str:
    """The `Authorization` value answering `challenge` (qop=auth when offered, else legacy form)."""
    if challenge.qop and "auth" not in challenge.qop:
        raise DigestError(f"no supported qop among {', '.join(challenge.qop)}")
    qop = "auth" if challenge.qop else None
    nc_text = f"{nc:0{NONCE_COUNT_DIGITS}x}"
    if qop or challenge.algorithm.is_session:
        cnonce = cnonce if cnonce is not None else secrets.token_hex(8)
    response = digest_response(
        challenge.algorithm, username=username, realm=challenge.realm, password=password, method=method,
        uri=uri, nonce=challenge.nonce, qop=qop, nc=nc_text, cnonce=cnonce,
    )
    parts = [
        f'username="{_quote(username)}"', f'realm="{_quote(challenge.realm)}"',
        f'nonce="{_quote(challenge.nonce)}"', f'uri="{_quote(uri)}"', f'response="{response}"',
        f"algorithm={challenge.algorithm.value}",
    ]
    if qop:
        parts += [f'cnonce="{_quote(cnonce or "")}"', f"qop={qop}", f"nc={nc_text}"]
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quote(challenge.opaque)}"')
    return "Digest " + ", ".join(parts)


class DigestAuthenticator:
    """Server side: issues challenges with self-validating nonces and checks credentials."""

    __slots__ = ("_clock", "_realm", "_secret", "nonce_ttl")

    def __init__(self, realm: str, secret: bytes, nonce_ttl: float,
                 clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("DigestAuthenticator needs a non-empty secret")
        self._realm = realm
        self._secret = secret
        self.nonce_ttl = nonce_ttl
        self._clock = clock

    @property
    def realm(self) -> str:
        return self._realm

    def _mac(self, stamp: str, salt: str) -> str:
        msg = f"{stamp}:{salt}:{self._realm}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:_NONCE_MAC_HEX]

    def new_nonce(self) -> str:
        stamp = f"{int(self._clock()) & 0xFFFFFFFF:0{_NONCE_TIME_HEX}x}"
        salt = secrets.token_hex(_NONCE_SALT_HEX // 2)
        return stamp + salt + self._mac(stamp, salt)

    def nonce_issued_at(self, nonce: str) -> int | None:
        """The Unix second a nonce was issued, or None when we did not issue it."""
        if len(nonce) != _NONCE_LEN or not set(nonce) <= _HEX:
            return None
        stamp = nonce[:_NONCE_TIME_HEX]
        salt = nonce[_NONCE_TIME_HEX:_NONCE_TIME_HEX + _NONCE_SALT_HEX]
        mac = nonce[_NONCE_TIME_HEX + _NONCE_SALT_HEX:]
        if not hmac.compare_digest(mac, self._mac(stamp, salt)):
            return None
        return int(stamp, 16)

    def challenge(self, algorithm: DigestAlgorithm | str = DigestAlgorithm.MD5, stale: bool = False) -> str:
        """A `WWW-Authenticate` value with a fresh nonce and qop="auth"."""
        alg = DigestAlgorithm.from_token(algorithm)
        value = (f'Digest realm="{_quote(self._realm)}", nonce="{self.new_nonce()}", '
                 f'algorithm={alg.value}, qop="auth"')
        if stale:
            value += ", stale=true"
        return value

    def verify(self, credentials: DigestCredentials, method: str, password: str, now: float) -> DigestVerdict:
        """Check credentials against the password of `credentials.username` (may differ from the device ID).

        Checking `credentials.uri` against the Request-URI is left to the caller: devices behind NAT and
        Hikvision-style domain URIs make a strict comparison reject honest devices.
        """
        issued = self.nonce_issued_at(credentials.nonce)
        if issued is None:
            return DigestVerdict.FOREIGN_NONCE
        if credentials.realm != self._realm:
            return DigestVerdict.MISMATCH
        expected = digest_response(
            credentials.algorithm, username=credentials.username, realm=credentials.realm,
            password=password, method=method, uri=credentials.uri, nonce=credentials.nonce,
            qop=credentials.qop, nc=credentials.nc, cnonce=credentials.cnonce,
        )
        if not hmac.compare_digest(expected.encode(), credentials.response.lower().encode()):
            return DigestVerdict.MISMATCH
        age = now - issued
        if age > self.nonce_ttl or age < -self.nonce_ttl:
            return DigestVerdict.STALE
        return DigestVerdict.OK
