"""Elementary streams: codecs, frames, and what NAL unit headers tell (codec, keyframe, access units)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

AUDIO_STREAM_IDS = range(0xC0, 0xE0)  # ISO/IEC 13818-3 / 11172-3 audio stream number 0–31
VIDEO_STREAM_IDS = range(0xE0, 0xF0)  # ITU-T H.262 / 11172-2 / H.264 / H.265 video stream number 0–15


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "h265"
    MPEG4 = "mpeg4"
    AAC = "aac"
    G711A = "g711a"
    G711U = "g711u"
    UNKNOWN = "unknown"


# stream_type (13818-1 Table 2-34, and the values GB/T 28181 Annex C adds for G.711) → codec.
STREAM_TYPE_CODECS: dict[int, Codec] = {
    0x0F: Codec.AAC,  # ISO/IEC 13818-7 audio with ADTS transport syntax
    0x10: Codec.MPEG4,  # ISO/IEC 14496-2 visual
    0x1B: Codec.H264,  # ITU-T H.264 | ISO/IEC 14496-10
    0x24: Codec.H265,  # ITU-T H.265 | ISO/IEC 23008-2
    0x90: Codec.G711A,  # GB/T 28181: G.711 A-law
    0x91: Codec.G711U,  # GB/T 28181 practice: G.711 µ-law
}
CODEC_STREAM_TYPES: dict[Codec, int] = {codec: stream_type for stream_type, codec in STREAM_TYPE_CODECS.items()}


@dataclass(frozen=True, slots=True)
class EsFrame:
    """One elementary-stream frame: a video access unit (Annex-B bytes) or an audio PES payload.

    `pts`/`dts` are 90 kHz ticks, None when the device sent none: the consumer decides how to time it.
    Audio frames are always `keyframe=True` (each decodes on its own).
    """

    stream_id: int
    codec: Codec
    pts: int | None
    dts: int | None
    data: bytes
    keyframe: bool

    @property
    def is_video(self) -> bool:
        return self.stream_id in VIDEO_STREAM_IDS


def _h264_type(head: bytes) -> int:
    return head[0] & 0x1F


def _h265_type(head: bytes) -> int:
    return (head[0] >> 1) & 0x3F


def _plausible_h264(head: bytes) -> bool:
    nal_type, ref_idc = head[0] & 0x1F, (head[0] >> 5) & 0x03
    if nal_type == 1:  # non-IDR slice
        return True
    if nal_type in (5, 7, 8):  # IDR slice, SPS, PPS: nal_ref_idc shall not be 0
        return ref_idc != 0
    return nal_type in (6, 9, 10, 11, 12) and ref_idc == 0  # SEI, AUD, end of seq/stream, filler: shall be 0


def _plausible_h265(head: bytes) -> bool:
    if len(head) < 2 or head[0] & 0x01 or head[1] >> 3:  # nuh_layer_id is 0 in every single-layer stream
        return False
    nal_type = _h265_type(head)
    tid_plus1 = head[1] & 0x07  # nuh_temporal_id_plus1 shall not be 0
    return tid_plus1 != 0 and (nal_type <= 9 or 16 <= nal_type <= 21 or 32 <= nal_type <= 40)


def guess_video_codec(heads: list[bytes]) -> Codec:
    """H.264 or H.265 by which reading of the NAL unit headers is plausible more often; UNKNOWN on a tie."""
    h264 = h265 = 0
    for head in heads:
        if head[0] & 0x80:  # forbidden_zero_bit, in both codecs
            continue
        h264 += _plausible_h264(head)
        h265 += _plausible_h265(head)
    if h264 == h265:
        return Codec.UNKNOWN
    return Codec.H264 if h264 > h265 else Codec.H265


def is_keyframe(codec: Codec, heads: list[bytes]) -> bool:
    """An H.264 IDR slice or SPS; an H.265 IRAP picture (BLA, IDR, CRA) or VPS."""
    if codec is Codec.H264:
        return any(_h264_type(head) in (5, 7) for head in heads)
    if codec is Codec.H265:
        return any(16 <= _h265_type(head) <= 21 or _h265_type(head) == 32 for head in heads)
    return False


def has_vcl(codec: Codec, heads: list[bytes]) -> bool:
    if codec is Codec.H264:
        return any(1 <= _h264_type(head) <= 5 for head in heads)
    if codec is Codec.H265:
        return any(_h265_type(head) <= 31 for head in heads)
    return bool(heads)


def begins_access_unit(codec: Codec, head: bytes, unit_has_vcl: bool) -> bool:
    """Whether a NAL unit starts a new access unit (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).

    `unit_has_vcl`: the access unit in progress already holds a slice.
    """
    if codec is Codec.H264:
        nal_type = _h264_type(head)
        if nal_type == 9:  # access unit delimiter
            return True
        if nal_type in (6, 7, 8) or 14 <= nal_type <= 18:
            return unit_has_vcl
        # A slice with first_mb_in_slice == 0 (ue(v) "1" bit) is the first slice of a new picture.
        return nal_type in (1, 5) and unit_has_vcl and len(head) > 1 and bool(head[1] & 0x80)
    if codec is Codec.H265:
        nal_type = _h265_type(head)
        if nal_type == 35:
            return True
        if 32 <= nal_type <= 34 or nal_type == 39 or 41 <= nal_type <= 44 or 48 <= nal_type <= 55:
            return unit_has_vcl
        return nal_type <= 31 and unit_has_vcl and len(head) > 2 and bool(head[2] & 0x80)
    return True
