"""Parsing a MANSCDP body into its envelope: root kind, CmdType, SN, DeviceID and the element tree.

``parse_manscdp`` is the one entry point for untrusted bodies. It only ever raises
:class:`ManscdpError`. It decodes by the declared charset (see :mod:`.manscdp_codec`), refuses DOCTYPE
and ENTITY declarations (entity-expansion and external-entity attacks need them), parses strictly with
the standard library, and when that fails tries the lossless repairs of :mod:`.manscdp_repair`.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum

from clearsight.gb28181.manscdp_codec import decode_body
from clearsight.gb28181.manscdp_fields import child_text
from clearsight.gb28181.manscdp_repair import repair_xml

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # far above any real body (an NVR catalog chunk is a few KB); refuse more
MAX_SN_DIGITS = 20  # SN is an unsigned integer (GB/T 28181-2016 appendix A); refuse absurd lengths
ERROR_EXCERPT_CHARS = 60  # how much of a bad body to quote in an error

_LEADING_DECLARATIONS = re.compile(r"^(?:\s*<\?xml\b[^>]*?\?>)+\s*", re.IGNORECASE)
_DTD_MARKUP = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class ManscdpError(ValueError):
    """A body that is not a usable MANSCDP message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RootKind(StrEnum):
    """The root element of a MANSCDP body (GB/T 28181-2016 appendix A.2)."""

    QUERY = "Query"
    CONTROL = "Control"
    RESPONSE = "Response"
    NOTIFY = "Notify"


class CmdType(StrEnum):
    """CmdType values of GB/T 28181-2016/2022 appendix A (``cmd_type`` stays a plain str)."""

    KEEPALIVE = "Keepalive"
    CATALOG = "Catalog"
    DEVICE_INFO = "DeviceInfo"
    DEVICE_STATUS = "DeviceStatus"
    RECORD_INFO = "RecordInfo"
    DEVICE_CONTROL = "DeviceControl"
    DEVICE_CONFIG = "DeviceConfig"
    CONFIG_DOWNLOAD = "ConfigDownload"
    PRESET_QUERY = "PresetQuery"
    ALARM = "Alarm"
    MOBILE_POSITION = "MobilePosition"
    MEDIA_STATUS = "MediaStatus"
    BROADCAST = "Broadcast"
    UPLOAD_SNAPSHOT_FINISHED = "UploadSnapShotFinished"
    HOME_POSITION_QUERY = "HomePositionQuery"
    CRUISE_TRACK_LIST_QUERY = "CruiseTrackListQuery"
    CRUISE_TRACK_QUERY = "CruiseTrackQuery"
    PTZ_POSITION = "PTZPosition"
    SD_CARD_STATUS = "SDCardStatus"
    DEVICE_UPGRADE_RESULT = "DeviceUpgradeResult"


class ResultCode(StrEnum):
    """``<Result>`` of a response."""

    OK = "OK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class ManscdpMessage:
    """The envelope of a MANSCDP body, with the parsed tree for reading the rest."""

    root_kind: RootKind
    cmd_type: str
    sn: int
    device_id: str
    root: ET.Element
    repaired: bool = False

    @property
    def cmd(self) -> CmdType | None:
        """``cmd_type`` as a :class:`CmdType`, or None for one we do not know."""
        try:
            return CmdType(self.cmd_type)
        except ValueError:
            return None

    def text(self, name: str) -> str | None:
        """Stripped text of the root's child ``name`` (case-insensitive), or None if absent."""
        return child_text(self.root, name)


def _excerpt(text: str) -> str:
    return repr(text[:ERROR_EXCERPT_CHARS])


def _parse_tree(text: str) -> ET.Element:
    parser = ET.XMLParser()
    parser.feed(text)
    return parser.close()


def _parse_text(text: str) -> tuple[ET.Element, tuple[str, ...]]:
    try:
        return _parse_tree(text), ()
    except (ET.ParseError, ValueError) as strict_error:
        repair = repair_xml(text)
        if repair is None:
            raise ManscdpError(f"malformed XML ({strict_error}): {_excerpt(text)}") from None
        try:
            return _parse_tree(repair.text), repair.changes
        except (ET.ParseError, ValueError):
            raise ManscdpError(f"malformed XML ({strict_error}): {_excerpt(text)}") from None


def _root_kind(tag: str) -> RootKind:
    for kind in RootKind:
        if tag == kind.value or tag.casefold() == kind.value.casefold():
            return kind
    raise ManscdpError(
        f"root element {tag[:ERROR_EXCERPT_CHARS]!r} is not Query, Control, Response or Notify"
    )


def _required(root: ET.Element, name: str) -> str:
    value = child_text(root, name)
    if not value:
        raise ManscdpError(f"<{root.tag}> has no {name}")
    return value


def parse_manscdp(body: bytes) -> ManscdpMessage:
    """Parse a MANSCDP body; raises only :class:`ManscdpError`."""
    if len(body) > MAX_BODY_BYTES:
        raise ManscdpError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    text = decode_body(body)
    if _DTD_MARKUP.search(text):
        raise ManscdpError("DOCTYPE/ENTITY declarations are not allowed in MANSCDP bodies")
    text = _LEADING_DECLARATIONS.sub("", text.lstrip("\ufeff \t\r\n"), count=1)
    if not text.strip():
        raise ManscdpError("empty body")
    root, changes = _parse_text(text)
    if not isinstance(root.tag, str):
        raise ManscdpError("no root element")
    kind = _root_kind(root.tag)
    cmd_type = _required(root, "CmdType")
    sn_text = _required(root, "SN")
    if not (sn_text.isascii() and sn_text.isdigit()) or len(sn_text) > MAX_SN_DIGITS:
        raise ManscdpError(f"SN {sn_text[:ERROR_EXCERPT_CHARS]!r} is not an unsigned integer")
    device_id = _required(root, "DeviceID")
    if changes:
        logger.warning(
            "repaired malformed MANSCDP %s %s from device %s (SN %s): %s",
            kind.value,
            cmd_type,
            device_id,
            sn_text,
            "; ".join(changes),
        )
    return ManscdpMessage(kind, cmd_type, int(sn_text), device_id, root, repaired=bool(changes))


def expect(msg: ManscdpMessage, cmd_type: CmdType, *kinds: RootKind) -> None:
    """Raise :class:`ManscdpError` unless ``msg`` is a ``cmd_type`` with one of the root ``kinds``."""
    if msg.cmd_type.casefold() != cmd_type.value.casefold():
        raise ManscdpError(f"expected CmdType {cmd_type.value}, got {msg.cmd_type!r}")
    if kinds and msg.root_kind not in kinds:
        expected = "/".join(kind.value for kind in kinds)
        raise ManscdpError(f"expected a {expected} {cmd_type.value}, got a {msg.root_kind.value}")
