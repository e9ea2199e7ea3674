"""Character sets of MANSCDP bodies: bytes on the wire ↔ text.

Devices declare (and usually send) GB2312, some newer ones GB18030, a few UTF-8; some send no
declaration, and some declare one charset while writing another. Decoding never raises: it follows the
declaration, falls back to the other common charset when the bytes do not fit, and replaces what
cannot be decoded at all (logging a warning).
"""

from __future__ import annotations

import codecs
import logging
import re
from enum import StrEnum

logger = logging.getLogger(__name__)

GB_CODEC = "gb18030"  # GB18030 is a superset of GB2312 and GBK: decode every GB-family body with it
UTF8_CODEC = "utf-8"
DECLARATION_SCAN_BYTES = 256  # an XML declaration must start the document; look no further than this
_CJK_MIN = 0x0800  # UTF-8 sequences below U+0800 are what GB bytes misread as UTF-8 typically produce

_DECLARED_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']\s*([A-Za-z0-9._:-]+)\s*["']""", re.IGNORECASE
)

# Declared names → the codec we decode with. Anything else is treated as undeclared.
_CODEC_BY_DECLARATION = {
    "gb2312": GB_CODEC,
    "gb_2312": GB_CODEC,
    "gb_2312-80": GB_CODEC,
    "gbk": GB_CODEC,
    "cp936": GB_CODEC,
    "gb18030": GB_CODEC,
    "utf-8": UTF8_CODEC,
    "utf8": UTF8_CODEC,
    "us-ascii": UTF8_CODEC,  # ASCII is a subset of UTF-8
    "ascii": UTF8_CODEC,
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
}

_BOMS = (
    (codecs.BOM_UTF8, UTF8_CODEC),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class BodyCharset(StrEnum):
    """Charsets a body can be built in; the value is what the XML declaration says."""

    GB2312 = "GB2312"
    GB18030 = "GB18030"
    UTF8 = "UTF-8"

    @property
    def codec(self) -> str:
        """The Python codec used to encode (GB2312 is written with the GB18030 superset)."""
        return UTF8_CODEC if self is BodyCharset.UTF8 else GB_CODEC


def declared_encoding(body: bytes) -> str | None:
    """The encoding name of the XML declaration at the start of ``body``, as written, or None."""
    match = _DECLARED_ENCODING.match(body[:DECLARATION_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def _is_convincing_utf8(text: str) -> bool:
    """True when non-ASCII text decoded as UTF-8 looks like real (CJK) text, not GB bytes misread."""
    non_ascii = [ch for ch in text if ord(ch) > 0x7F]
    return bool(non_ascii) and all(ord(ch) >= _CJK_MIN for ch in non_ascii)


def decode_body(body: bytes) -> str:
    """Decode a MANSCDP body to text; never raises.

    * A byte-order mark wins over any declaration.
    * Declared GB2312/GBK/GB18030 → GB18030, unless the bytes are valid UTF-8 that reads as CJK text
      (a device declaring GB2312 but writing UTF-8); if GB18030 fails, UTF-8 is tried.
    * Declared UTF-8 → UTF-8; if that fails, GB18030 is tried.
    * No (or an unknown) declaration → UTF-8, then GB18030.
    * If nothing fits, the first candidate is decoded with replacement characters and a warning logged.

    A mismatch between declaration and bytes is logged at INFO: some devices do it in every message.
    """
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return _decode_candidates(body[len(bom) :], [bom_codec], reason=f"BOM {bom_codec}")
    declared = declared_encoding(body)
    codec: str | None = _CODEC_BY_DECLARATION.get(declared.lower()) if declared else None
    if declared and codec is None:
        logger.warning("MANSCDP body declares unsupported encoding %r; guessing", declared)
    if codec == GB_CODEC:
        as_utf8 = _strict(body, UTF8_CODEC)
        if as_utf8 is not None and _is_convincing_utf8(as_utf8):
            logger.info("MANSCDP body declares %s but is UTF-8; decoding as UTF-8", declared)
            return as_utf8
        return _decode_candidates(body, [GB_CODEC, UTF8_CODEC], reason=f"declared {declared}")
    if codec == UTF8_CODEC:
        return _decode_candidates(body, [UTF8_CODEC, GB_CODEC], reason=f"declared {declared}")
    if codec is not None:
        return _decode_candidates(body, [codec], reason=f"declared {declared}")
    return _decode_candidates(body, [UTF8_CODEC, GB_CODEC], reason="no declaration")


def _decode_candidates(body: bytes, candidates: list[str], *, reason: str) -> str:
    for index, codec in enumerate(candidates):
        text = _strict(body, codec)
        if text is not None:
            if index:
                logger.info("MANSCDP body (%s) is not %s; decoded as %s", reason, candidates[0], codec)
            return text
    logger.warning("MANSCDP body (%s) has undecodable bytes; replacing them", reason)
    return body.decode(candidates[0], errors="replace")


def encode_body(text: str, charset: BodyCharset) -> bytes:
    """Encode built XML text for the wire in ``charset``."""
    return text.encode(charset.codec)
