"""Retiming a recorded fragment (moof + mdat, ISO/IEC 14496-12 §8.8) for playback, without touching the video.

A recorded fragment keeps the decode times of the stream it was recorded from; a playback session sends it on
its own timeline (continuous across segments and gaps, divided by the speed), so the browser plays it at
`playbackRate` 1. `retime_fragment` copies the fragment with a new `mfhd` sequence number, a new `tfdt`
baseMediaDecodeTime, and its sample durations scaled to the new total: the `tfhd` default sample duration and,
where the `trun` carries them, the per-sample durations. The mdat is not looked at.
"""

from __future__ import annotations

import struct

from clearsight.recording.fmp4_scan import (
    TFHD_BASE_DATA_OFFSET,
    TFHD_DEFAULT_DURATION,
    TFHD_SAMPLE_DESCRIPTION,
    TRUN_CTO,
    TRUN_DATA_OFFSET,
    TRUN_DURATION,
    TRUN_FIRST_SAMPLE_FLAGS,
    TRUN_FLAGS,
    TRUN_SIZE,
)

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_BOX = struct.Struct(">I4s")
_MAX_U32 = (1 << 32) - 1


class FragmentLayoutError(ValueError):
    """The bytes are not a one-track moof this module can retime."""


def _boxes(data: bytearray, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end] (32-bit sizes: a moof never needs more)."""
    found: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end:
        size, kind = _BOX.unpack_from(data, offset)
        if size < 8 or offset + size > end:
            raise FragmentLayoutError(f"box {kind!r} at {offset} has size {size}")
        found.append((kind, offset + 8, offset + size))
        offset += size
    return found


def _scaled(value: int, numerator: int, denominator: int) -> int:
    return max(1, round(value * numerator / denominator)) if denominator else max(1, numerator)


def retime_fragment(fragment: bytes, *, sequence: int, decode_time: int, duration: int, source_duration: int
                    ) -> bytes:
    """`fragment` with mfhd = `sequence`, tfdt = `decode_time`, and its samples' durations scaled from
    `source_duration` (their total as recorded) to `duration` (both in the track's timescale)."""
    data = bytearray(fragment)
    top = _boxes(data, 0, min(len(data), _U32.unpack_from(data, 0)[0] if len(data) >= 4 else 0))
    if not top or top[0][0] != b"moof":
        raise FragmentLayoutError("the fragment does not start with a moof box")
    _, moof_payload, moof_end = top[0]
    trafs = 0
    for kind, payload, end in _boxes(data, moof_payload, moof_end):
        if kind == b"mfhd":
            _U32.pack_into(data, payload + 4, sequence & _MAX_U32)
        elif kind == b"traf":
            trafs += 1
            _retime_traf(data, payload, end, decode_time, duration, source_duration)
    if trafs != 1:
        raise FragmentLayoutError(f"the moof has {trafs} track fragments, not one")
    return bytes(data)


def _retime_traf(data: bytearray, start: int, end: int, decode_time: int, duration: int, source: int) -> None:
    for kind, payload, _ in _boxes(data, start, end):
        flags = int.from_bytes(data[payload + 1:payload + 4], "big")
        if kind == b"tfhd" and flags & TFHD_DEFAULT_DURATION:
            cursor = payload + 8  # version/flags, track_ID
            cursor += 8 if flags & TFHD_BASE_DATA_OFFSET else 0
            cursor += 4 if flags & TFHD_SAMPLE_DESCRIPTION else 0
            _U32.pack_into(data, cursor, _scaled(_U32.unpack_from(data, cursor)[0], duration, source))
        elif kind == b"tfdt":
            if data[payload] == 1:
                _U64.pack_into(data, payload + 4, decode_time)
            elif decode_time <= _MAX_U32:
                _U32.pack_into(data, payload + 4, decode_time)
            else:
                raise FragmentLayoutError("a version 0 tfdt cannot hold the decode time")
        elif kind == b"trun" and flags & TRUN_DURATION:
            count = _U32.unpack_from(data, payload + 4)[0]
            cursor = payload + 8  # version/flags, sample_count
            cursor += (4 if flags & TRUN_DATA_OFFSET else 0) + (4 if flags & TRUN_FIRST_SAMPLE_FLAGS else 0)
            step = 4 * sum(1 for bit in (TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO) if flags & bit)
            for _ in range(count):
                _U32.pack_into(data, cursor, _scaled(_U32.unpack_from(data, cursor)[0], duration, source))
                cursor += step
