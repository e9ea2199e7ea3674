"""What a stream's parameter sets say: picture size and the RFC 6381 codec string browsers ask for.

H.264 SPS (ITU-T H.264 §7.3.2.1.1) and H.265 SPS (ITU-T H.265 §7.3.2.2) are read just far enough for the
picture size after cropping; the codec string is built as ISO/IEC 14496-15 Annex E describes
(``avc1.PPCCLL``, ``hev1.P.C.TL.B``). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.media.es import Codec

H264_SPS, H264_PPS = 7, 8  # H.264 Table 7-1 nal_unit_type
H265_VPS, H265_SPS, H265_PPS = 32, 33, 34  # H.265 Table 7-1 nal_unit_type
# H.264 profile_idc values whose SPS carries chroma_format_idc and the bit depths (§7.3.2.1.1).
H264_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
MAX_PICTURE_DIMENSION = 16384  # beyond any camera; a larger value means a damaged SPS


class ParameterSetError(ValueError):
    """A parameter set is missing or too damaged to read."""


@dataclass(frozen=True, slots=True)
class VideoParameters:
    """Facts about a coded video stream taken from one keyframe's parameter sets."""

    codec: Codec
    width: int
    height: int
    codec_string: str  # RFC 6381, e.g. "avc1.42c01e"
    parameter_sets: bytes  # the VPS/SPS/PPS NAL units, Annex-B framed, as a decoder's extradata

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{self.codec_string}"'


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream, without start codes (trailing zero bytes stripped)."""
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        end = data.find(b"\x00\x00\x01", begin)
        unit = data[begin:] if end == -1 else data[begin:end]
        unit = unit.rstrip(b"\x00")
        if unit:
            units.append(unit)
        start = end
    return units


def _rbsp(nal: bytes, header_bytes: int) -> bytes:
    """The NAL unit's payload with emulation prevention bytes (00 00 03) removed."""
    body = nal[header_bytes:]
    if b"\x00\x00\x03" not in body:
        return body
    out = bytearray()
    zeros = 0
    for byte in body:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _Bits:
    """An MSB-first bit reader with Exp-Golomb codes (H.264 §9.1)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def u(self, count: int) -> int:
        value = 0
        for _ in range(count):
            index = self._pos >> 3
            if index >= len(self._data):
                raise ParameterSetError("parameter set ends early")
            value = (value << 1) | ((self._data[index] >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return value

    def skip(self, count: int) -> None:
        self._pos += count

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ParameterSetError("Exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


def _h264_skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale != 0:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale if next_scale != 0 else last


def _h264_size(sps: bytes) -> tuple[int, int]:
    bits = _Bits(_rbsp(sps, 1))
    profile_idc = bits.u(8)
    bits.skip(16)  # constraint flags, reserved bits, level_idc
    bits.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    separate_colour_plane = 0
    if profile_idc in H264_HIGH_PROFILES:
        chroma_format_idc = bits.ue()
        if chroma_format_idc == 3:
            separate_colour_plane = bits.u(1)
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for index in range(8 if chroma_format_idc != 3 else 12):
                if bits.u(1):
                    _h264_skip_scaling_list(bits, 16 if index < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.skip(1)
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.skip(1)  # mb_adaptive_frame_field_flag
    bits.skip(1)  # direct_8x8_inference_flag
    width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
    if bits.u(1):  # frame_cropping_flag (§7.4.2.1.1, CropUnitX/Y)
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        array_type = 0 if separate_colour_plane else chroma_format_idc
        crop_x = 1 if array_type == 0 else (2 if array_type in (1, 2) else 1)
        crop_y = (1 if array_type == 0 else (2 if array_type == 1 else 1)) * (2 - frame_mbs_only)
        width -= crop_x * (left + right)
        height -= crop_y * (top + bottom)
    return width, height


def _h265_profile_and_size(sps: bytes) -> tuple[str, tuple[int, int]]:
    bits = _Bits(_rbsp(sps, 2))
    bits.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = bits.u(3)
    bits.skip(1)  # sps_temporal_id_nesting_flag
    profile_space = bits.u(2)
    tier = bits.u(1)
    profile_idc = bits.u(5)
    compatibility = bits.u(32)
    constraints = [bits.u(8) for _ in range(6)]
    level_idc = bits.u(8)
    sub_layer_flags = [(bits.u(1), bits.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        bits.skip(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    for profile_present, level_present in sub_layer_flags:
        bits.skip(88 if profile_present else 0)
        bits.skip(8 if level_present else 0)
    bits.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = bits.ue()
    if chroma_format_idc == 3:
        bits.skip(1)  # separate_colour_plane_flag
    width, height = bits.ue(), bits.ue()
    if bits.u(1):  # conformance_window_flag (§7.4.3.2.1, SubWidthC/SubHeightC)
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        sub_w = 2 if chroma_format_idc in (1, 2) else 1
        sub_h = 2 if chroma_format_idc == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    # ISO/IEC 14496-15 E.3: compatibility flags bit-reversed in hex, constraint bytes without trailing zeros.
    reversed_flags = int(f"{compatibility:032b}"[::-1], 2)
    while constraints and constraints[-1] == 0:
        constraints.pop()
    space = "" if profile_space == 0 else "ABC"[profile_space - 1]
    parts = [f"hev1.{space}{profile_idc}", f"{reversed_flags:x}", f"{'H' if tier else 'L'}{level_idc}"]
    parts += [f"{c:x}" for c in constraints] or ["B0"]
    return ".".join(parts), (width, height)


def _annexb(units: list[bytes]) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def video_parameters(codec: Codec, access_unit: bytes) -> VideoParameters:
    """Read the parameter sets a keyframe's access unit carries; raises ParameterSetError."""
    units = split_annexb(access_unit)
    if codec is Codec.H264:
        sps = next((u for u in units if u[0] & 0x1F == H264_SPS), None)
        pps = next((u for u in units if u[0] & 0x1F == H264_PPS), None)
        if sps is None or pps is None or len(sps) < 4:
            raise ParameterSetError("H.264 keyframe without SPS and PPS")
        size = _h264_size(sps)
        codec_string = f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"
        sets = [sps, pps]
    elif codec is Codec.H265:
        kinds = {kind: next((u for u in units if len(u) > 2 and (u[0] >> 1) & 0x3F == kind), None)
                 for kind in (H265_VPS, H265_SPS, H265_PPS)}
        vps, sps, pps = kinds[H265_VPS], kinds[H265_SPS], kinds[H265_PPS]
        if vps is None or sps is None or pps is None:
            raise ParameterSetError("H.265 keyframe without VPS, SPS and PPS")
        codec_string, size = _h265_profile_and_size(sps)
        sets = [vps, sps, pps]
    else:
        raise ParameterSetError(f"no parameter sets for {codec.value}")
    width, height = size
    if not (0 < width <= MAX_PICTURE_DIMENSION and 0 < height <= MAX_PICTURE_DIMENSION):
        raise ParameterSetError(f"implausible picture size {width}x{height}")
    return VideoParameters(codec, width, height, codec_string, _annexb(sets))
