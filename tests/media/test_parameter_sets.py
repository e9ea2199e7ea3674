"""Picture size and RFC 6381 codec strings from real encoders' parameter sets."""

from __future__ import annotations

import pytest

from clearsight.media.es import Codec
from clearsight.media.parameter_sets import ParameterSetError, split_annexb, video_parameters
from tests.media.media_samples import HEIGHT, WIDTH, encode


@pytest.mark.parametrize(("codec", "name", "prefix"), [(Codec.H264, "h264", "avc1."), (Codec.H265, "hevc", "hev1.")])
def test_size_and_codec_string_of_a_real_keyframe(codec: Codec, name: str, prefix: str) -> None:
    keyframe = encode(name).access_units[0]
    parameters = video_parameters(codec, keyframe)
    assert (parameters.width, parameters.height) == (WIDTH, HEIGHT)
    assert parameters.codec_string.startswith(prefix)
    assert parameters.mime == f'video/mp4; codecs="{parameters.codec_string}"'
    assert parameters.parameter_sets.startswith(b"\x00\x00\x00\x01")


def test_h264_codec_string_is_profile_constraints_and_level_in_hex() -> None:
    keyframe = encode("h264").access_units[0]
    sps = next(unit for unit in split_annexb(keyframe) if unit[0] & 0x1F == 7)
    assert video_parameters(Codec.H264, keyframe).codec_string == f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def test_h265_codec_string_follows_14496_15_annex_e() -> None:
    # libx265 Main profile: general_profile_idc 1, compatibility flags 0x60000000 reversed → 6, Main tier.
    codec_string = video_parameters(Codec.H265, encode("hevc").access_units[0]).codec_string
    profile, compatibility, tier_level, *constraints = codec_string.split(".")[1:]
    assert (profile, compatibility) == ("1", "6")
    assert tier_level.startswith("L") and int(tier_level[1:]) > 0
    assert constraints  # at least one constraint byte (or B0)


def test_cropped_size_from_a_1080p_sps() -> None:
    # H.264 SPS of a 1920x1080 High profile stream: 1088 coded lines, 8 cropped (frame_crop_bottom_offset 4).
    sps = bytes.fromhex("6764002aacd940780227e5c05a808080a0000003002000000781e30632c0")
    pps = bytes.fromhex("68ebe3cb22c0")
    access_unit = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps
    parameters = video_parameters(Codec.H264, access_unit)
    assert (parameters.width, parameters.height) == (1920, 1080)
    assert parameters.codec_string == "avc1.64002a"


def test_missing_or_damaged_parameter_sets_are_refused() -> None:
    keyframe = encode("h264").access_units[0]
    slices_only = b"".join(b"\x00\x00\x01" + u for u in split_annexb(keyframe) if u[0] & 0x1F not in (7, 8))
    with pytest.raises(ParameterSetError, match="without SPS and PPS"):
        video_parameters(Codec.H264, slices_only)
    with pytest.raises(ParameterSetError):
        video_parameters(Codec.H264, b"\x00\x00\x00\x01\x67\x64" + b"\x00\x00\x00\x01\x68\xeb")
    with pytest.raises(ParameterSetError, match="no parameter sets"):
        video_parameters(Codec.AAC, keyframe)


def test_split_annexb_handles_three_and_four_byte_start_codes() -> None:
    assert split_annexb(b"\x00\x00\x00\x01\x67\x01\x00\x00\x01\x68\x02\x00\x00") == [b"\x67\x01", b"\x68\x02"]
    assert split_annexb(b"garbage") == []
