"""The GB/T 28181 media SSRC (the SDP ``y=`` line) and its allocation.

GB/T 28181-2016 appendix F writes the SSRC as 10 decimal digits::

    [0]     0 = live view (Play), 1 = history (Playback, Download)
    [1:6]   digits 4-8 of the 10-digit SIP domain (``domain[3:8]``)
    [6:10]  a 4-digit sequence chosen by the platform

The same number, read as an integer, is the RTP header's SSRC, so the largest possible value
(1 999 999 999) fits the 32-bit field. Devices do not always keep the SSRC they were offered: they may
answer with another ``y=``, or pad it differently; :func:`parse_y` accepts what they send and leaves the
comparison with the offered value to the caller.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum

logger = logging.getLogger(__name__)

SSRC_DIGITS = 10  # GB/T 28181-2016 appendix F: the y= value is 10 decimal digits
SEQUENCE_DIGITS = 4  # appendix F: the last 4 digits are the platform's sequence
SEQUENCE_SPACE = 10**SEQUENCE_DIGITS  # 0000-9999
SIP_DOMAIN_DIGITS = 10  # GB/T 28181-2016 D.1: the SIP domain is the first 10 digits of the platform ID
DOMAIN_PART = slice(3, 8)  # appendix F: digits 4-8 of the SIP domain
LIVE_PREFIX = "0"  # appendix F: first digit for live view
HISTORY_PREFIX = "1"  # appendix F: first digit for playback and download
RTP_SSRC_MAX = 0xFFFF_FFFF  # RFC 3550 §5.1: the SSRC is a 32-bit field

_Y_VALUE = re.compile(r"[0-9]{1,10}", re.ASCII)
_DOMAIN = re.compile(r"[0-9]{10}", re.ASCII)


class StreamKind(Enum):
    """What an INVITE asks for; the value is the SDP session name (``s=``)."""

    PLAY = "Play"
    PLAYBACK = "Playback"
    DOWNLOAD = "Download"

    @property
    def ssrc_prefix(self) -> str:
        """First digit of the SSRC for this kind of stream."""
        return LIVE_PREFIX if self is StreamKind.PLAY else HISTORY_PREFIX


class InvalidSsrc(ValueError):
    """A ``y=`` value that cannot be an RTP SSRC."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid SSRC {text[:40]!r}: {reason}")
        self.text = text
        self.reason = reason


class SsrcExhausted(Exception):
    """All 10,000 sequences of one prefix are in use."""

    def __init__(self, domain: str, kind: StreamKind) -> None:
        prefix = kind.ssrc_prefix
        super().__init__(f"all {SEQUENCE_SPACE} SSRCs {prefix}{domain[DOMAIN_PART]}NNNN of domain {domain} are in use")
        self.domain = domain
        self.kind = kind


@dataclass(frozen=True, slots=True, order=True)
class Ssrc:
    """An SSRC as GB/T 28181 writes it; ``value`` is what the RTP header carries."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= RTP_SSRC_MAX:
            raise InvalidSsrc(str(self.value), "outside the 32-bit RTP SSRC range")

    @property
    def text(self) -> str:
        """The 10-digit, zero-padded form used in ``y=`` and the Subject header."""
        return f"{self.value:0{SSRC_DIGITS}d}"

    @property
    def is_live(self) -> bool:
        """True when the first digit says live view (the GB rule; devices may not follow it)."""
        return self.text.startswith(LIVE_PREFIX)

    def __str__(self) -> str:
        return self.text


def parse_y(text: str) -> Ssrc:
    """Read a ``y=`` value (with or without the ``y=``), tolerating surrounding spaces and short values.

    Devices have been seen to answer fewer than 10 digits; the value is what counts. Raises
    :class:`InvalidSsrc` when the text is not 1-10 decimal digits or does not fit 32 bits.
    """
    value = text.strip()
    if value[:2].lower() == "y=":
        value = value[2:].strip()
    if not _Y_VALUE.fullmatch(value):
        raise InvalidSsrc(text, f"expected up to {SSRC_DIGITS} decimal digits")
    return Ssrc(int(value))


class SsrcAllocator:
    """Hands out GB/T 28181 SSRCs for one SIP domain, each unique while in use.

    Live and history streams have separate pools (their first digit differs); Playback and Download share
    one. Sequences are taken round-robin, so a released SSRC is reused as late as possible and stray
    packets of a finished stream are unlikely to match a new one.
    """

    __slots__ = ("_domain", "_in_use", "_next")

    def __init__(self, domain: str) -> None:
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"SIP domain must be {SIP_DOMAIN_DIGITS} decimal digits, got {domain[:40]!r}")
        self._domain = domain
        self._in_use: dict[str, set[int]] = {LIVE_PREFIX: set(), HISTORY_PREFIX: set()}
        self._next: dict[str, int] = {LIVE_PREFIX: 0, HISTORY_PREFIX: 0}

    @property
    def domain(self) -> str:
        return self._domain

    def allocate(self, kind: StreamKind) -> Ssrc:
        """A free SSRC for ``kind``; raises :class:`SsrcExhausted` when all 10,000 are taken."""
        prefix = kind.ssrc_prefix
        used = self._in_use[prefix]
        if len(used) >= SEQUENCE_SPACE:
            logger.warning("SSRC pool exhausted: domain=%s kind=%s", self._domain, kind.value)
            raise SsrcExhausted(self._domain, kind)
        sequence = self._next[prefix]
        while sequence in used:
            sequence = (sequence + 1) % SEQUENCE_SPACE
        used.add(sequence)
        self._next[prefix] = (sequence + 1) % SEQUENCE_SPACE
        return self._compose(prefix, sequence)

    def release(self, ssrc: Ssrc) -> bool:
        """Give ``ssrc`` back; True if it was in use. Releasing twice or a foreign SSRC is harmless."""
        key = self._key(ssrc)
        if key is None or key[1] not in self._in_use[key[0]]:
            return False
        self._in_use[key[0]].remove(key[1])
        return True

    def is_allocated(self, ssrc: Ssrc) -> bool:
        """True while ``ssrc`` is handed out by this allocator."""
        key = self._key(ssrc)
        return key is not None and key[1] in self._in_use[key[0]]

    def in_use(self, kind: StreamKind) -> int:
        """How many SSRCs of ``kind``'s pool are handed out (Playback and Download share a pool)."""
        return len(self._in_use[kind.ssrc_prefix])

    @property
    def _part(self) -> str:
        return self._domain[DOMAIN_PART]

    def _key(self, ssrc: Ssrc) -> tuple[str, int] | None:
        """(prefix, sequence) of an SSRC of this domain, or None for one this allocator never makes."""
        text = ssrc.text
        if text[0] not in self._in_use or text[1 : SSRC_DIGITS - SEQUENCE_DIGITS] != self._part:
            return None
        return text[0], int(text[-SEQUENCE_DIGITS:])

    def _compose(self, prefix: str, sequence: int) -> Ssrc:
        return Ssrc(int(f"{prefix}{self._part}{sequence:0{SEQUENCE_DIGITS}d}"))
