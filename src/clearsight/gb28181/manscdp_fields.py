"""Reading typed values out of MANSCDP elements, tolerantly.

Devices leave fields out, leave them empty, or fill them with placeholders (``CivilCode`` as the civil
code, ``0`` as a coordinate). Readers here return None for anything that is absent or unusable instead
of raising: a bad optional field must not lose the whole message.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET

logger = logging.getLogger(__name__)

MAX_INT_DIGITS = 18  # optional integer fields are small counts/codes; longer digit runs are garbage
MAX_LONGITUDE = 180.0  # WGS-84 longitude range
MAX_LATITUDE = 90.0  # WGS-84 latitude range


def find_child(parent: ET.Element, name: str) -> ET.Element | None:
    """The first child called ``name``; falls back to a case-insensitive match (``Alarmstatus``)."""
    exact = parent.find(name)
    if exact is not None:
        return exact
    folded = name.casefold()
    for child in parent:
        if isinstance(child.tag, str) and child.tag.casefold() == folded:
            return child
    return None


def find_children(parent: ET.Element, name: str) -> list[ET.Element]:
    """All children called ``name`` (case-insensitive)."""
    folded = name.casefold()
    return [child for child in parent if isinstance(child.tag, str) and child.tag.casefold() == folded]


def child_text(parent: ET.Element, name: str) -> str | None:
    """Stripped text of child ``name`` ("" when empty), or None when there is no such child."""
    child = find_child(parent, name)
    if child is None:
        return None
    return (child.text or "").strip()


def child_str(parent: ET.Element, name: str) -> str:
    """Stripped text of child ``name``; "" when absent or empty."""
    return child_text(parent, name) or ""


def parse_int(text: str | None) -> int | None:
    """A (possibly signed) decimal integer, or None."""
    if text is None:
        return None
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > MAX_INT_DIGITS:
        return None
    return int(value)


def child_int(parent: ET.Element, name: str) -> int | None:
    """Child ``name`` as an integer; None when absent, empty or not an integer."""
    text = child_text(parent, name)
    value = parse_int(text)
    if value is None and text:
        logger.debug("ignoring non-integer <%s>%s</%s>", name, text[:40], name)
    return value


def child_float(parent: ET.Element, name: str) -> float | None:
    """Child ``name`` as a finite float; None when absent, empty or not a number."""
    text = child_text(parent, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        logger.debug("ignoring non-numeric <%s>%s</%s>", name, text[:40], name)
        return None
    return value if math.isfinite(value) else None


def _coordinate(parent: ET.Element, name: str, limit: float) -> float | None:
    value = child_float(parent, name)
    if value is None or value == 0.0 or abs(value) > limit:
        return None  # 0 is what devices send when they have no position
    return value


def child_longitude(parent: ET.Element, name: str = "Longitude") -> float | None:
    """A usable longitude; None for absent, garbage, out-of-range or the placeholder 0."""
    return _coordinate(parent, name, MAX_LONGITUDE)


def child_latitude(parent: ET.Element, name: str = "Latitude") -> float | None:
    """A usable latitude; None for absent, garbage, out-of-range or the placeholder 0."""
    return _coordinate(parent, name, MAX_LATITUDE)


def child_flag(parent: ET.Element, name: str) -> bool | None:
    """A 0/1 flag (Parental, ...); None when absent or anything else."""
    value = child_int(parent, name)
    return None if value not in (0, 1) else value == 1


def simple_children(parent: ET.Element, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """Text of every child without children of its own, by tag (first wins), minus ``skip``."""
    result: dict[str, str] = {}
    for child in parent:
        if not isinstance(child.tag, str) or child.tag in skip or len(child):
            continue
        result.setdefault(child.tag, (child.text or "").strip())
    return result
