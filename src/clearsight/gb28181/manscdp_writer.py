"""Writing MANSCDP bodies: element trees → declared, encoded bytes.

Text is escaped by ElementTree; characters XML 1.0 cannot carry at all (control characters, lone
surrogates) are removed first, so a hostile channel name cannot produce an unparsable body.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET

from clearsight.gb28181.manscdp_codec import BodyCharset, encode_body
from clearsight.gb28181.manscdp_message import RootKind

logger = logging.getLogger(__name__)

COORDINATE_DECIMALS = 6  # about 0.1 m; what devices send
LINE_END = "\r\n"  # MANSCDP has no rule; CRLF is what most platforms write

_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

XmlValue = str | int | float | None


def _text(value: str | int | float) -> str:
    if isinstance(value, bool):
        raise TypeError("write flags as 0/1 explicitly")
    if isinstance(value, float):
        return f"{value:.{COORDINATE_DECIMALS}f}"
    return _NOT_XML_CHARS.sub("", str(value))


def new_body(kind: RootKind, cmd_type: str, sn: int, device_id: str) -> ET.Element:
    """A root element with CmdType, SN and DeviceID."""
    if sn < 0:
        raise ValueError(f"SN must be non-negative, got {sn}")
    root = ET.Element(kind.value)
    add(root, "CmdType", cmd_type)
    add(root, "SN", sn)
    add(root, "DeviceID", device_id)
    return root


def add(parent: ET.Element, name: str, value: XmlValue, **attrs: str) -> ET.Element | None:
    """Append ``<name>value</name>``; nothing when ``value`` is None."""
    if value is None:
        return None
    child = ET.SubElement(parent, name, {k: _text(v) for k, v in attrs.items()})
    child.text = _text(value)
    return child


def add_parent(parent: ET.Element, name: str, **attrs: str) -> ET.Element:
    """Append an element meant to hold children (``<DeviceList Num="3">``)."""
    return ET.SubElement(parent, name, {k: _text(v) for k, v in attrs.items()})


def _break_lines(root: ET.Element) -> None:
    """Put every element on its own line, as devices write bodies.

    `ET.indent` would do this, but its recursive closure leaves a reference cycle behind on every
    call; at thousands of messages a second those cycles cost long garbage-collector pauses.
    """
    stack = [root]
    while stack:
        element = stack.pop()
        children = list(element)
        if not children:
            continue
        if not (element.text or "").strip():
            element.text = "\n"
        for child in children:
            if not (child.tail or "").strip():
                child.tail = "\n"
            stack.append(child)
    root.tail = None


def serialize(root: ET.Element, charset: BodyCharset = BodyCharset.GB2312) -> bytes:
    """The body as bytes: declaration naming ``charset``, then the tree with one element per line."""
    _break_lines(root)
    xml_text = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    declaration = f'<?xml version="1.0" encoding="{charset.value}"?>'
    text = declaration + LINE_END + xml_text.replace("\n", LINE_END) + LINE_END
    return encode_body(text, charset)
