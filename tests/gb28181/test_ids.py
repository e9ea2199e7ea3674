from __future__ import annotations

import dataclasses

import pytest

from clearsight.gb28181.ids import (
    DeviceType,
    GbId,
    GbIdError,
    GbIdOverflow,
    InvalidGbId,
    derive_id,
    sip_domain,
)


def test_fields_of_a_camera_id() -> None:
    gb_id = GbId.parse("34020000001320000002")
    assert gb_id.value == "34020000001320000002"
    assert str(gb_id) == "34020000001320000002"
    assert gb_id.centre_code == "34020000"
    assert gb_id.industry == "00"
    assert gb_id.type_code == 132
    assert gb_id.device_type is DeviceType.IP_CAMERA
    assert gb_id.network == "0"
    assert gb_id.serial == "000002"
    assert gb_id.domain == "3402000000"
    assert gb_id.is_channel_type
    assert not gb_id.is_group
    assert not gb_id.is_legacy


@pytest.mark.parametrize(
    ("value", "device_type", "channel", "group"),
    [
        ("34020000001110000001", DeviceType.DVR, False, False),
        ("34020000001120000001", DeviceType.VIDEO_SERVER, False, False),
        ("34020000001130000001", DeviceType.ENCODER, False, False),
        ("34020000001140000001", DeviceType.DECODER, False, False),
        ("44010200491180000001", DeviceType.NVR, False, False),
        ("34020000001210000001", DeviceType.CHECKPOINT, False, False),
        ("34020000001310000001", DeviceType.CAMERA, True, False),
        ("34020000001320000001", DeviceType.IP_CAMERA, True, False),
        ("34020000001340000001", DeviceType.ALARM_IN, True, False),
        ("34020000001350000001", DeviceType.ALARM_OUT, True, False),
        ("34020000001360000001", DeviceType.AUDIO_IN, True, False),
        ("34020000001370000001", DeviceType.AUDIO_OUT, True, False),
        ("34020000002000000001", DeviceType.SIP_SERVER, False, False),
        ("34020000002150000001", DeviceType.BUSINESS_GROUP, False, True),
        ("34020000002160000001", DeviceType.VIRTUAL_ORG, False, True),
        ("34020000003000000001", DeviceType.CENTRE_USER, False, False),
        ("34020000004000000001", DeviceType.END_USER, False, False),
    ],
)
def test_type_codes(value: str, device_type: DeviceType, channel: bool, group: bool) -> None:
    gb_id = GbId.parse(value)
    assert gb_id.device_type is device_type
    assert gb_id.type_code == device_type.value
    assert gb_id.is_channel_type is channel
    assert gb_id.is_group is group


def test_device_type_values_match_the_document() -> None:
    assert {t.name: t.value for t in DeviceType} == {
        "DVR": 111,
        "VIDEO_SERVER": 112,
        "ENCODER": 113,
        "DECODER": 114,
        "NVR": 118,
        "CHECKPOINT": 121,
        "CAMERA": 131,
        "IP_CAMERA": 132,
        "ALARM_IN": 134,
        "ALARM_OUT": 135,
        "AUDIO_IN": 136,
        "AUDIO_OUT": 137,
        "SIP_SERVER": 200,
        "BUSINESS_GROUP": 215,
        "VIRTUAL_ORG": 216,
        "CENTRE_USER": 300,
        "END_USER": 400,
    }


@pytest.mark.parametrize(("code", "channel"), [(130, False), (133, True), (199, True), (200, False)])
def test_channel_range_includes_unnamed_codes(code: int, channel: bool) -> None:
    gb_id = GbId.parse(f"3402000000{code}0000001")
    assert gb_id.is_channel_type is channel


def test_unknown_type_code_has_no_device_type() -> None:
    # fixture 27: a lower platform's child with type 999
    gb_id = GbId.parse("61010500009994655540")
    assert gb_id.type_code == 999
    assert gb_id.device_type is None
    assert not gb_id.is_channel_type
    assert not gb_id.is_group


def test_legacy_18_digit_id() -> None:
    # fixtures 07-10, 19, 20: 2011-era Hikvision platform IDs
    gb_id = GbId.parse("130909113319427420")
    assert gb_id.is_legacy
    assert gb_id.centre_code == "13090911"
    assert gb_id.domain == "1309091133"
    assert gb_id.serial == "19427420"
    assert gb_id.industry == ""
    assert gb_id.network == ""
    assert gb_id.type_code == 0
    assert gb_id.device_type is None
    assert not gb_id.is_channel_type
    assert not gb_id.is_group


def test_parse_strips_whitespace() -> None:
    assert GbId.parse(" 34020000001320000002\r\n").value == "34020000001320000002"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "3402000000132000000",  # 19 digits
        "340200000013200000021",  # 21 digits
        "3402000000132000",  # 16
        "3402000000132000000a",
        "34020000001320000 02",
        "３４０２００００００１３２００００００２",  # full-width digits
        "-3402000000132000002",
        "xxx",
    ],
)
def test_invalid_ids(value: str) -> None:
    with pytest.raises(InvalidGbId) as info:
        GbId.parse(value)
    assert info.value.value == value.strip()
    assert info.value.reason
    assert isinstance(info.value, GbIdError)
    assert isinstance(info.value, ValueError)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(InvalidGbId):
        GbId("1234")


def test_gb_id_is_frozen_and_hashable() -> None:
    gb_id = GbId.parse("34020000001320000002")
    with pytest.raises(dataclasses.FrozenInstanceError):
        gb_id.value = "34020000001320000003"  # type: ignore[misc]
    assert {gb_id, GbId.parse("34020000001320000002")} == {gb_id}


def test_sip_domain() -> None:
    assert sip_domain("34020000002000000001") == "3402000000"
    assert sip_domain("44010200492000000001") == "4401020049"
    assert sip_domain("130909115229300920") == "1309091152"
    with pytest.raises(InvalidGbId):
        sip_domain("3402000000")


def test_derive_id() -> None:
    assert derive_id("34020000001320000001", 0) == "34020000001320000001"
    assert derive_id("34020000001320000001", 2) == "34020000001320000003"
    assert derive_id("34020000001310000999", 1) == "34020000001310001000"
    assert derive_id("34020000001320000000", 999_999) == "34020000001320999999"
    assert derive_id("34020000001320000005", -5) == "34020000001320000000"


def test_derive_id_keeps_the_prefix() -> None:
    derived = [derive_id("34020000001320000001", i) for i in range(1000)]
    assert len(set(derived)) == 1000
    assert all(GbId.parse(d).type_code == 132 and d[:14] == "34020000001320" for d in derived)


@pytest.mark.parametrize(("base", "index"), [("34020000001320999999", 1), ("34020000001320000000", -1)])
def test_derive_id_overflow(base: str, index: int) -> None:
    with pytest.raises(GbIdOverflow) as info:
        derive_id(base, index)
    assert info.value.base == base
    assert info.value.index == index


def test_derive_id_needs_20_digits() -> None:
    with pytest.raises(InvalidGbId):
        derive_id("130909113319427420", 1)
    with pytest.raises(InvalidGbId):
        derive_id("nope", 1)
