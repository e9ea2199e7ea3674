"""GB/T 28181 identities: the 20-digit device/channel/platform ID and its fields.

Layout of a 20-digit ID (GB/T 28181-2016 appendix D)::

    [0:8]   centre code (GB/T 2260 civil code: province, city, county, grass-roots unit)
    [8:10]  industry code
    [10:13] type code (131 camera, 200 SIP server, 215 business group, ...)
    [13]    network identifier
    [14:20] serial number

2011-era platforms (seen in captures from Hikvision platforms) use 18-digit IDs with no published
layout. For those, :class:`GbId` keeps only what is layout-independent: ``centre_code`` (first 8 digits,
used for region lookups), ``domain`` (first 10 digits, the SIP domain rule) and ``serial`` (everything
after the domain). ``industry`` and ``network`` are empty strings, ``type_code`` is ``0`` (unknown) and
``device_type`` is ``None``; such an ID is never a channel or a group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

logger = logging.getLogger(__name__)

GB_ID_LENGTH = 20  # GB/T 28181-2016 D.1: IDs are 20 decimal digits
LEGACY_GB_ID_LENGTH = 18  # 2011-era private 18-digit IDs still sent by old Hikvision platforms
SIP_DOMAIN_LENGTH = 10  # GB/T 28181-2016 D.1: the SIP domain is the first 10 digits of the platform ID
SERIAL_START = 14  # GB/T 28181-2016 D.1: digits 15-20 are the serial number
SERIAL_MAX = 999_999  # six decimal serial digits
CHANNEL_TYPE_MIN = 131  # GB/T 28181-2016 D.1: 131-199 are front-end peripheral (channel) types
CHANNEL_TYPE_MAX = 199
LEGACY_TYPE_CODE = 0  # our marker: an 18-digit ID has no type field


class DeviceType(IntEnum):
    """Type codes of GB/T 28181-2016 appendix D (digits 11-13 of an ID)."""

    DVR = 111
    VIDEO_SERVER = 112
    ENCODER = 113
    DECODER = 114
    NVR = 118
    CHECKPOINT = 121
    CAMERA = 131
    IP_CAMERA = 132
    ALARM_IN = 134
    ALARM_OUT = 135
    AUDIO_IN = 136
    AUDIO_OUT = 137
    SIP_SERVER = 200
    BUSINESS_GROUP = 215
    VIRTUAL_ORG = 216
    CENTRE_USER = 300
    END_USER = 400


_GROUP_TYPES = frozenset({DeviceType.BUSINESS_GROUP, DeviceType.VIRTUAL_ORG})


class GbIdError(ValueError):
    """Base class of ID errors."""


class InvalidGbId(GbIdError):
    """A string that is not a GB/T 28181 ID."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid GB28181 ID {value!r}: {reason}")
        self.value = value
        self.reason = reason


class GbIdOverflow(GbIdError):
    """Deriving an ID would leave the 6-digit serial range."""

    def __init__(self, base: str, index: int) -> None:
        super().__init__(f"serial of {base!r} + {index} leaves 000000-{SERIAL_MAX}")
        self.base = base
        self.index = index


def _check(value: str) -> None:
    if not value.isascii() or not value.isdigit():
        raise InvalidGbId(value, "not all decimal digits")
    if len(value) not in (GB_ID_LENGTH, LEGACY_GB_ID_LENGTH):
        expected = f"expected {GB_ID_LENGTH} (or legacy {LEGACY_GB_ID_LENGTH})"
        raise InvalidGbId(value, f"{len(value)} digits, {expected}")


@dataclass(frozen=True, slots=True)
class GbId:
    """A validated GB/T 28181 ID (20 digits, or a legacy 18-digit one)."""

    value: str

    def __post_init__(self) -> None:
        _check(self.value)

    @classmethod
    def parse(cls, s: str) -> GbId:
        """Validate ``s`` (surrounding whitespace ignored); raise :class:`InvalidGbId` otherwise."""
        return cls(s.strip())

    def __str__(self) -> str:
        return self.value

    @property
    def is_legacy(self) -> bool:
        """True for an 18-digit 2011-era ID (no standard layout)."""
        return len(self.value) == LEGACY_GB_ID_LENGTH

    @property
    def centre_code(self) -> str:
        """The 8-digit civil code of the centre."""
        return self.value[0:8]

    @property
    def industry(self) -> str:
        """Industry code (digits 9-10); empty for legacy IDs."""
        return "" if self.is_legacy else self.value[8:10]

    @property
    def type_code(self) -> int:
        """Type code (digits 11-13); ``0`` for legacy IDs."""
        return LEGACY_TYPE_CODE if self.is_legacy else int(self.value[10:13])

    @property
    def device_type(self) -> DeviceType | None:
        """The type as a known :class:`DeviceType`, or None for other or legacy codes."""
        try:
            return DeviceType(self.type_code)
        except ValueError:
            return None

    @property
    def network(self) -> str:
        """Network identifier (digit 14); empty for legacy IDs."""
        return "" if self.is_legacy else self.value[13]

    @property
    def serial(self) -> str:
        """Serial number: digits 15-20, or everything after the domain for legacy IDs."""
        return self.value[SIP_DOMAIN_LENGTH:] if self.is_legacy else self.value[SERIAL_START:]

    @property
    def domain(self) -> str:
        """The SIP domain (first 10 digits)."""
        return self.value[:SIP_DOMAIN_LENGTH]

    @property
    def is_channel_type(self) -> bool:
        """True for front-end channel types 131-199 (what a user watches)."""
        return not self.is_legacy and CHANNEL_TYPE_MIN <= self.type_code <= CHANNEL_TYPE_MAX

    @property
    def is_group(self) -> bool:
        """True for business groups (215) and virtual organisations (216)."""
        return self.device_type in _GROUP_TYPES


def sip_domain(platform_id: str) -> str:
    """The SIP domain of a platform: the first 10 digits of its ID."""
    return GbId.parse(platform_id).domain


def derive_id(base: str, index: int) -> str:
    """``base`` (a 20-digit ID) with ``index`` added to its 6-digit serial.

    Used to number simulated devices and channels: ``derive_id("34020000001320000001", 2)`` is
    ``"34020000001320000003"``. Raises :class:`GbIdOverflow` when the serial would leave 000000-999999
    and :class:`InvalidGbId` when ``base`` is not a 20-digit ID.
    """
    gb_id = GbId.parse(base)
    if gb_id.is_legacy:
        raise InvalidGbId(base, "derive_id needs a 20-digit ID")
    serial = int(gb_id.serial) + index
    if not 0 <= serial <= SERIAL_MAX:
        raise GbIdOverflow(gb_id.value, index)
    return f"{gb_id.value[:SERIAL_START]}{serial:06d}"
