"""MANSRTSP (GB/T 28181-2016 appendix B): playback control in the bodies of SIP INFO requests, sans-I/O.

The platform controls a Playback dialog by sending INFO with ``Content-Type: Application/MANSRTSP`` and an
RTSP-like request in the body::

    PLAY MANSRTSP/1.0            PAUSE MANSRTSP/1.0          PLAY MANSRTSP/1.0
    CSeq: 3                      CSeq: 2                     CSeq: 4
    Range: npt=100-              PauseTime: now              Scale: 2.0

``Range: npt=<s>-`` seeks to ``s`` seconds after the start of the played range (``now-``: resume where it
paused), ``Scale`` sets the speed (0.25 … 8 on common devices; 1.0 normal), PAUSE holds the stream, TEARDOWN
ends it. What devices and other platforms do instead, and what we accept (captures 58-61): ``RTSP/1.0`` as the
version token, ``application/RTSP`` as the content type, ``PauseTime: 0``, ``Scale: 2.000000``, LF-only lines,
header names in any case. The answer to the INFO is a SIP 200 OK, sometimes carrying ``RTSP/1.0 200 OK`` with
an ``RTP-Info`` header (capture 59); :func:`parse_response` reads that body.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

CONTENT_TYPE = "Application/MANSRTSP"  # GB/T 28181-2016 appendix B: the INFO body's media type
# Media types devices and other platforms put on the same bodies (captures 58-60 use application/RTSP).
ACCEPTED_CONTENT_TYPES = frozenset({"application/mansrtsp", "application/rtsp"})
VERSION = "MANSRTSP/1.0"  # appendix B request and status lines
ACCEPTED_VERSIONS = frozenset({"MANSRTSP/1.0", "RTSP/1.0"})  # captures 58, 60, 61 write RTSP/1.0
MAX_BODY_BYTES = 2048  # a control body is a few lines; refuse anything larger unread
MAX_CSEQ = 2**31 - 1  # RTSP (RFC 2326 §12.17) CSeq: a non-negative 31-bit counter in practice
MAX_SCALE = 64.0  # no device plays faster; larger values are garbage
MAX_NPT_SECONDS = 10 * 365 * 86_400.0  # npt is relative to the start of the range: ten years is absurd already
PAUSE_NOW = "now"  # appendix B: PauseTime: now
CRLF = "\r\n"

_REQUEST_LINE_FIELDS = 2  # "<METHOD> <version>"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{0,9})?", re.ASCII)


class MansrtspError(ValueError):
    """A body that is not a usable MANSRTSP message; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MansrtspMethod(StrEnum):
    PLAY = "PLAY"
    PAUSE = "PAUSE"
    TEARDOWN = "TEARDOWN"


@dataclass(frozen=True, slots=True)
class MansrtspRequest:
    """One control request. ``range_start`` None: no Range, or ``npt=now-`` (carry on where the stream is)."""

    method: MansrtspMethod
    cseq: int
    scale: float | None = None
    range_start: float | None = None
    range_end: float | None = None
    pause_time: str | None = None

    @property
    def is_seek(self) -> bool:
        return self.method is MansrtspMethod.PLAY and self.range_start is not None


@dataclass(frozen=True, slots=True)
class MansrtspResponse:
    """The body of a device's answer (``RTSP/1.0 200 OK`` + headers), when it sends one."""

    status: int
    reason: str
    cseq: int | None
    rtp_info: str | None = None


def is_mansrtsp(content_type: str | None) -> bool:
    """Whether a Content-Type value names a playback control body (either spelling, any case)."""
    return (content_type or "").split(";")[0].strip().lower() in ACCEPTED_CONTENT_TYPES


def _number(value: float) -> str:
    """``2.0``, ``0.5``, ``0.25``: one decimal at least, as appendix B writes Scale."""
    return f"{value:.1f}" if value == int(value) else f"{value:g}"


def _npt(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:.3f}".rstrip("0")


def _check_cseq(cseq: int) -> None:
    if not 0 <= cseq <= MAX_CSEQ:
        raise ValueError(f"CSeq {cseq} outside 0..{MAX_CSEQ}")


def _check_scale(scale: float) -> None:
    if not math.isfinite(scale) or not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale {scale} outside (0, {MAX_SCALE:g}]")


def build_play(cseq: int, *, scale: float | None = None, position: float | None = None) -> bytes:
    """PLAY: resume (neither argument), seek to ``position`` seconds into the range, and/or set ``scale``.

    Bad arguments are a programming error: ValueError.
    """
    _check_cseq(cseq)
    lines = [f"{MansrtspMethod.PLAY} {VERSION}", f"CSeq: {cseq}"]
    if scale is not None:
        _check_scale(scale)
        lines.append(f"Scale: {_number(scale)}")
    if position is not None:
        if not math.isfinite(position) or not 0 <= position <= MAX_NPT_SECONDS:
            raise ValueError(f"position {position} outside 0..{MAX_NPT_SECONDS:g} s")
        lines.append(f"Range: npt={_npt(position)}-")
    return (CRLF.join(lines) + CRLF + CRLF).encode("ascii")


def build_pause(cseq: int) -> bytes:
    """PAUSE at once (``PauseTime: now``)."""
    _check_cseq(cseq)
    return f"{MansrtspMethod.PAUSE} {VERSION}{CRLF}CSeq: {cseq}{CRLF}PauseTime: {PAUSE_NOW}{CRLF}{CRLF}".encode("ascii")


def build_teardown(cseq: int) -> bytes:
    _check_cseq(cseq)
    return f"{MansrtspMethod.TEARDOWN} {VERSION}{CRLF}CSeq: {cseq}{CRLF}{CRLF}".encode("ascii")


def build_response(cseq: int, status: int = 200, reason: str = "OK", *, rtp_info: str | None = None) -> bytes:
    """A device's answer body (for the simulator): ``MANSRTSP/1.0 200 OK``, CSeq, optionally RTP-Info."""
    _check_cseq(cseq)
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} outside 100..699")
    lines = [f"{VERSION} {status} {reason}", f"CSeq: {cseq}"]
    if rtp_info is not None:
        lines.append(f"RTP-Info: {rtp_info}")
    return (CRLF.join(lines) + CRLF + CRLF).encode("ascii")


def _lines(body: bytes) -> list[str]:
    if len(body) > MAX_BODY_BYTES:
        raise MansrtspError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [line.strip() for line in _LINE_BREAK.split(text)]
    lines = [line for line in lines if line]
    if not lines:
        raise MansrtspError("empty body")
    return lines


def _headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    return headers


def _parse_number(text: str, what: str) -> float:
    value = text.strip().lstrip("+")
    if not _NUMBER.fullmatch(value):
        raise MansrtspError(f"{what} {text[:20]!r} is not a non-negative number")
    return float(value)


def _parse_cseq(headers: dict[str, str]) -> int | None:
    text = headers.get("cseq")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_CSEQ:
        raise MansrtspError(f"CSeq {text[:20]!r} is not a number")
    return int(text)


def _parse_range(text: str) -> tuple[float | None, float | None]:
    """``npt=11-``, ``npt=11.5-20``, ``npt=now-``, ``npt=-``; other units (clock=, smpte=) are refused."""
    unit, equals, spec = text.partition("=")
    if not equals or unit.strip().lower() != "npt":
        raise MansrtspError(f"Range {text[:30]!r} is not npt=<start>-[<end>]")
    first, dash, last = spec.strip().partition("-")
    if not dash:
        raise MansrtspError(f"Range {text[:30]!r} has no '-'")
    first, last = first.strip(), last.strip()
    start = None if first in ("", PAUSE_NOW) else _parse_number(first, "Range start")
    end = None if last == "" else _parse_number(last, "Range end")
    for value in (start, end):
        if value is not None and value > MAX_NPT_SECONDS:
            raise MansrtspError(f"Range {text[:30]!r} beyond {MAX_NPT_SECONDS:g} s")
    if start is not None and end is not None and end < start:
        raise MansrtspError(f"Range {text[:30]!r} ends before it starts")
    return start, end


def parse_request(body: bytes) -> MansrtspRequest:
    """Read a PLAY / PAUSE / TEARDOWN body; raises :class:`MansrtspError` (and nothing else)."""
    lines = _lines(body)
    parts = lines[0].split()
    if len(parts) != _REQUEST_LINE_FIELDS:
        raise MansrtspError(f"request line {lines[0][:40]!r} is not '<METHOD> MANSRTSP/1.0'")
    method_text, version = parts[0].upper(), parts[1].upper()
    if version not in ACCEPTED_VERSIONS:
        raise MansrtspError(f"version {parts[1][:20]!r} is neither MANSRTSP/1.0 nor RTSP/1.0")
    try:
        method = MansrtspMethod(method_text)
    except ValueError:
        raise MansrtspError(f"method {parts[0][:20]!r} is not PLAY, PAUSE or TEARDOWN") from None
    headers = _headers(lines[1:])
    cseq = _parse_cseq(headers)
    if cseq is None:
        raise MansrtspError("no CSeq")
    scale: float | None = None
    if "scale" in headers:
        scale = _parse_number(headers["scale"], "Scale")
        if not 0 < scale <= MAX_SCALE:
            raise MansrtspError(f"Scale {headers['scale'][:20]!r} outside (0, {MAX_SCALE:g}]")
    start = end = None
    if "range" in headers:
        start, end = _parse_range(headers["range"])
    return MansrtspRequest(method, cseq, scale, start, end, headers.get("pausetime"))


def parse_response(body: bytes) -> MansrtspResponse:
    """Read an answer body (``MANSRTSP/1.0 200 OK`` or ``RTSP/1.0 200 OK``); raises :class:`MansrtspError`."""
    lines = _lines(body)
    version, _, rest = lines[0].partition(" ")
    status_text, _, reason = rest.strip().partition(" ")
    if version.upper() not in ACCEPTED_VERSIONS or not (status_text.isascii() and status_text.isdigit()):
        raise MansrtspError(f"status line {lines[0][:40]!r} is not 'MANSRTSP/1.0 <code> <reason>'")
    status = int(status_text)
    if not 100 <= status <= 699:
        raise MansrtspError(f"status {status} outside 100..699")
    headers = _headers(lines[1:])
    return MansrtspResponse(status, reason.strip(), _parse_cseq(headers), headers.get("rtp-info"))
