"""One video frame as a fragmented-MP4 media fragment (ISO/IEC 14496-12 §8.8): moof + mdat, written directly.

A fragment of one sample is a fixed layout of about a hundred bytes, so it is packed here with one
`struct` call instead of going through FFmpeg's mov muxer per frame. The layout is the one FFmpeg writes with
`empty_moov+default_base_moof+frag_every_frame` (the init segment still comes from FFmpeg, see
`clearsight.media.fmp4`), box for box:

    moof
      mfhd  sequence_number (1, 2, … per init segment)
      traf
        tfhd  flags default-base-is-moof | default-sample-duration | default-sample-size | default-sample-flags:
              track 1, the sample's duration, its size, and "non-sync, depends on others" as default flags
        tfdt  version 1: the 64-bit baseMediaDecodeTime (the sample's decode time, 90 kHz)
        trun  one sample at data_offset = moof size + 8 (the mdat header), and for a keyframe
              first-sample-flags "sync, depends on no other" (no composition offsets: pts = dts)
    mdat  the access unit, Annex-B start codes replaced by 4-byte lengths (ISO/IEC 14496-15 §5.3.2 / §8.3.2)

`annexb_to_mp4` converts the access unit exactly as FFmpeg's `ff_nal_parse_units` does, so that the bytes
are FFmpeg's too: every NAL unit is kept (parameter sets, SEI, AUD) and a zero byte before a start code
belongs to that start code.
"""

from __future__ import annotations

import struct

START_CODE = b"\x00\x00\x01"  # H.264/H.265 Annex B start_code_prefix_one_3bytes
TRACK_ID = 1  # the init segment's only track (FFmpeg numbers tracks from 1)
# tfhd flags (14496-12 §8.8.7.1): default-sample-duration 0x08, -size 0x10, -flags 0x20, default-base-is-moof.
TFHD_FLAGS = 0x000008 | 0x000010 | 0x000020 | 0x020000
TRUN_DATA_OFFSET = 0x000001  # trun flag: data-offset-present (14496-12 §8.8.8.1)
TRUN_FIRST_SAMPLE_FLAGS = 0x000004  # trun flag: first-sample-flags-present
TFDT_VERSION_1 = 0x01000000  # version 1 (64-bit baseMediaDecodeTime), flags 0
# sample_flags (14496-12 §8.8.3.1): sample_depends_on 2 (no other) for a keyframe; 1 (others) and
# sample_is_non_sync_sample for every other frame.
SYNC_SAMPLE_FLAGS = 0x02000000
NON_SYNC_SAMPLE_FLAGS = 0x01000000 | 0x00010000
MDAT_HEADER_BYTES = 8

_HEADER = ">I4sI4sII I4s I4sIIIII I4sIQ"  # moof, mfhd, traf, tfhd, tfdt: the same in both layouts
_KEY = struct.Struct(_HEADER + " I4sIIiI I4s")  # trun with first-sample-flags, then the mdat header
_OTHER = struct.Struct(_HEADER + " I4sIIi I4s")  # trun without
_KEY_MOOF_BYTES = _KEY.size - MDAT_HEADER_BYTES  # 104
_OTHER_MOOF_BYTES = _OTHER.size - MDAT_HEADER_BYTES  # 100
_LENGTH = struct.Struct(">I")


def annexb_to_mp4(data: bytes) -> tuple[list[bytes | memoryview], int]:
    """The NAL units of an Annex-B access unit, each after its 4-byte length (the mdat payload, in pieces), and
    the payload's size.

    As FFmpeg's `ff_nal_parse_units`: a NAL unit runs from after a start code to the next start code, less
    one zero byte right before that (the 00 of 00 00 00 01); bytes before the first start code are dropped.
    """
    view = memoryview(data)
    end = len(data)
    pack = _LENGTH.pack
    pieces: list[bytes | memoryview] = []
    size = 0
    found = data.find(START_CODE)
    while found >= 0:
        nal_start = found + 3
        if nal_start >= end:
            break
        found = data.find(START_CODE, nal_start)
        if found < 0:
            nal_end = end
        elif found > nal_start and data[found - 1] == 0:
            nal_end = found - 1
        else:
            nal_end = found
        pieces.append(pack(nal_end - nal_start))
        pieces.append(view[nal_start:nal_end])
        size += 4 + nal_end - nal_start
    return pieces, size


def media_fragment(sequence: int, decode_time: int, duration: int, access_unit: bytes, keyframe: bool) -> bytes:
    """moof + mdat for one frame; `decode_time` and `duration` in the track's timescale (90 kHz)."""
    pieces, size = annexb_to_mp4(access_unit)
    if keyframe:
        moof = _KEY_MOOF_BYTES
        header = _KEY.pack(moof, b"moof", 16, b"mfhd", 0, sequence, moof - 24, b"traf",
                           28, b"tfhd", TFHD_FLAGS, TRACK_ID, duration, size, NON_SYNC_SAMPLE_FLAGS,
                           20, b"tfdt", TFDT_VERSION_1, decode_time,
                           24, b"trun", TRUN_DATA_OFFSET | TRUN_FIRST_SAMPLE_FLAGS, 1, moof + MDAT_HEADER_BYTES,
                           SYNC_SAMPLE_FLAGS, MDAT_HEADER_BYTES + size, b"mdat")
    else:
        moof = _OTHER_MOOF_BYTES
        header = _OTHER.pack(moof, b"moof", 16, b"mfhd", 0, sequence, moof - 24, b"traf",
                             28, b"tfhd", TFHD_FLAGS, TRACK_ID, duration, size, NON_SYNC_SAMPLE_FLAGS,
                             20, b"tfdt", TFDT_VERSION_1, decode_time,
                             20, b"trun", TRUN_DATA_OFFSET, 1, moof + MDAT_HEADER_BYTES,
                             MDAT_HEADER_BYTES + size, b"mdat")
    pieces.insert(0, header)
    return b"".join(pieces)
