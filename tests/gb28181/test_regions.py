from __future__ import annotations

import pytest

from clearsight.gb28181.regions import (
    PROVINCE_NAMES,
    InvalidCivilCode,
    RegionLevel,
    region_display_name,
    region_level,
    region_parent,
    region_path,
)


@pytest.mark.parametrize(
    ("code", "path"),
    [
        ("34020012", ["34", "3402", "340200", "34020012"]),
        ("34000000", ["34"]),
        ("34020000", ["34", "3402"]),
        ("34020100", ["34", "3402", "340201"]),
        ("34020101", ["34", "3402", "340201", "34020101"]),
        ("34", ["34"]),
        ("3402", ["34", "3402"]),
        ("340200", ["34", "3402"]),
        ("340201", ["34", "3402", "340201"]),
        ("3400", ["34"]),
        ("34000012", ["34", "3400", "340000", "34000012"]),
        # longer codes: a 10-digit CivilCode (fixture 22) and 20-digit IDs
        ("3402000000", ["34", "3402"]),
        ("5100000000", ["51"]),
        ("34020000001320000002", ["34", "3402"]),
        ("62010201001320000393", ["62", "6201", "620102", "62010201"]),
        (" 340200 ", ["34", "3402"]),
    ],
)
def test_region_path(code: str, path: list[str]) -> None:
    assert region_path(code) == path


@pytest.mark.parametrize(
    "code",
    ["", "3", "340", "34020", "3402000", "CivilCode", "34O20000", "00000000", "00", "００", "34-20000"],
)
def test_invalid_civil_codes(code: str) -> None:
    with pytest.raises(InvalidCivilCode) as info:
        region_path(code)
    assert info.value.code == code
    assert info.value.reason


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("34", RegionLevel.PROVINCE),
        ("34000000", RegionLevel.PROVINCE),
        ("3402", RegionLevel.CITY),
        ("34020000", RegionLevel.CITY),
        ("340201", RegionLevel.COUNTY),
        ("34020012", RegionLevel.UNIT),
        ("34020000001320000002", RegionLevel.CITY),
    ],
)
def test_region_level(code: str, level: RegionLevel) -> None:
    assert region_level(code) is level


def test_region_parent() -> None:
    assert region_parent("34") is None
    assert region_parent("34000000") is None
    assert region_parent("3402") == "34"
    assert region_parent("34020000") == "34"
    assert region_parent("340201") == "3402"
    assert region_parent("34020012") == "340200"
    with pytest.raises(InvalidCivilCode):
        region_parent("CivilCode")


def test_walking_parents_reaches_the_province() -> None:
    code: str | None = "34020112"
    seen = []
    while code is not None:
        seen.append(code)
        code = region_parent(code)
    assert seen == ["34020112", "340201", "3402", "34"]


def test_province_table() -> None:
    assert len(PROVINCE_NAMES) == 34
    assert PROVINCE_NAMES["11"] == "北京市"
    assert PROVINCE_NAMES["34"] == "安徽省"
    assert PROVINCE_NAMES["44"] == "广东省"
    assert PROVINCE_NAMES["65"] == "新疆维吾尔自治区"
    assert PROVINCE_NAMES["81"] == "香港特别行政区"
    assert PROVINCE_NAMES["82"] == "澳门特别行政区"
    assert all(len(k) == 2 and k.isdigit() for k in PROVINCE_NAMES)
    assert len(set(PROVINCE_NAMES.values())) == 34


def test_every_province_code_is_a_valid_path() -> None:
    for code in PROVINCE_NAMES:
        assert region_path(code + "000000") == [code]
        assert region_level(code) is RegionLevel.PROVINCE


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("34", "安徽省"),
        ("34000000", "安徽省"),
        ("11", "北京市"),
        ("3402", "3402"),
        ("34020000", "3402"),
        ("34020012", "34020012"),
        ("99", "99"),  # unknown province: the code
        ("CivilCode", "CivilCode"),  # not a civil code: unchanged, never raises
        ("", ""),
    ],
)
def test_region_display_name(code: str, name: str) -> None:
    assert region_display_name(code) == name
