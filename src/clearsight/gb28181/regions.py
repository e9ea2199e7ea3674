"""Civil codes (GB/T 2260 administrative divisions) as a region tree: province → city → county → unit.

A civil code is read two digits per level from its first 8 digits. Trailing ``00`` pairs mean the level
is not set, so ``34000000`` is the province ``34`` and ``34020000`` the city ``3402``; a ``00`` inside
(``34020012``) is kept, giving the path ``34 / 3402 / 340200 / 34020012``. Codes may be given as 2, 4, 6
or 8 digits, or longer (a 10-digit ``CivilCode`` or a 20-digit ID), of which the first 8 are used.
"""

from __future__ import annotations

import logging
from enum import Enum

logger = logging.getLogger(__name__)

LEVEL_DIGITS = 2  # GB/T 2260: each administrative level adds two digits
CIVIL_CODE_DIGITS = 8  # GB/T 28181-2016 D.1: the centre code is the first 8 digits of an ID
SHORT_CODE_LENGTHS = (2, 4, 6)  # province, city or county code given on its own
UNSET_LEVEL = "00"  # GB/T 2260: a trailing 00 pair means the level is not used


class RegionLevel(Enum):
    """Depth of a node in the region tree."""

    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    UNIT = 4


class InvalidCivilCode(ValueError):
    """A string that is not a civil code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"invalid civil code {code!r}: {reason}")
        self.code = code
        self.reason = reason


# GB/T 2260 province-level divisions (2-digit codes).
PROVINCE_NAMES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

_LEVELS_BY_LENGTH = {2: RegionLevel.PROVINCE, 4: RegionLevel.CITY, 6: RegionLevel.COUNTY, 8: RegionLevel.UNIT}


def region_path(civil_code: str) -> list[str]:
    """Codes from the province down to ``civil_code``'s own level; raises :class:`InvalidCivilCode`."""
    code = civil_code.strip()
    if not code.isascii() or not code.isdigit():
        raise InvalidCivilCode(civil_code, "not all decimal digits")
    if len(code) not in SHORT_CODE_LENGTHS and len(code) < CIVIL_CODE_DIGITS:
        raise InvalidCivilCode(civil_code, f"{len(code)} digits, expected 2, 4, 6 or at least 8")
    code = code[:CIVIL_CODE_DIGITS]
    if code[:LEVEL_DIGITS] == UNSET_LEVEL:
        raise InvalidCivilCode(civil_code, "province 00 does not exist")
    depth = len(code)
    while code[depth - LEVEL_DIGITS : depth] == UNSET_LEVEL:
        depth -= LEVEL_DIGITS
    return [code[:end] for end in range(LEVEL_DIGITS, depth + 1, LEVEL_DIGITS)]


def region_level(code: str) -> RegionLevel:
    """The level of the deepest node of ``code``'s path."""
    return _LEVELS_BY_LENGTH[len(region_path(code)[-1])]


def region_parent(code: str) -> str | None:
    """The parent node's code, or None for a province."""
    path = region_path(code)
    return path[-2] if len(path) > 1 else None


def region_display_name(code: str) -> str:
    """A label for a region-tree node; never raises.

    A province gets its name when known (``"34"`` → ``"安徽省"``); deeper nodes get their normalised code
    (``"34020000"`` → ``"3402"``); a string that is not a civil code is returned unchanged.
    """
    try:
        path = region_path(code)
    except InvalidCivilCode:
        return code
    node = path[-1]
    if len(path) == 1:
        return PROVINCE_NAMES.get(node, node)
    return node
