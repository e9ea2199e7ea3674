"""Fragmented MP4 (ISO/IEC 14496-12) from elementary-stream video frames, without re-encoding.

`Fmp4Fragmenter.push` takes the demuxer's `EsFrame`s and returns what a Media Source Extensions player or an
HLS playlist needs: an `InitSegment` (ftyp + moov) once the first keyframe's parameter sets are known, then
one `MediaFragment` (moof + mdat) per frame, at once. FFmpeg's mp4 muxer (through PyAV) writes the init
segment (the avcC/hvcC sample entry is what needs a library); the per-frame fragments are packed directly
(`clearsight.media.fmp4_fragment`), box for box as FFmpeg writes them. FFmpeg's muxer would hold each frame
until the next one arrives, for the sample's duration; here the duration is the frame interval seen last
(the one before this frame), so a fragment leaves as soon as its frame came in.

Timestamps are made safe for MP4 here: the 33-bit PTS is unwrapped, missing or non-increasing ones are
replaced by the previous one plus the frame interval seen so far, and a jump of more than
`MAX_TIMESTAMP_JUMP` (a device restarting its clock) is treated the same way. A keyframe whose parameter sets
differ from the current ones (a resolution change) starts a new init segment.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from clearsight.media.es import Codec, EsFrame
from clearsight.media.fmp4_fragment import START_CODE, media_fragment
from clearsight.media.parameter_sets import ParameterSetError, VideoParameters, video_parameters

logger = logging.getLogger(__name__)

PTS_CLOCK_HZ = 90_000  # 13818-1: PTS/DTS count a 90 kHz clock
TIMESTAMP_WRAP = 1 << 33  # 13818-1: PTS/DTS are 33 bits
DEFAULT_FRAME_TICKS = PTS_CLOCK_HZ // 25  # 25 fps until the stream shows its own rate
MIN_FRAME_TICKS, MAX_FRAME_TICKS = PTS_CLOCK_HZ // 120, PTS_CLOCK_HZ  # 120 to 1 fps: plausible frame intervals
MAX_TIMESTAMP_JUMP = 10 * PTS_CLOCK_HZ  # a larger step forward is a clock reset, not a gap
# empty_moov: the moov carries no samples (all of them come in fragments); default_base_moof: offsets
# relative to the moof, as MSE requires; frag_every_frame: one fragment per frame (the layout
# `fmp4_fragment` follows; FFmpeg itself writes only the init segment here).
MOVFLAGS = "empty_moov+default_base_moof+frag_every_frame+skip_trailer"
_FFMPEG_FORMAT = {Codec.H264: "h264", Codec.H265: "hevc"}  # FFmpeg's raw Annex-B demuxers
_PROBE_OPTIONS = {"probesize": "32", "analyzeduration": "0"}  # the keyframe alone tells all
_TIME_BASE = Fraction(1, PTS_CLOCK_HZ)


@dataclass(frozen=True, slots=True)
class InitSegment:
    data: bytes
    parameters: VideoParameters


@dataclass(frozen=True, slots=True)
class MediaFragment:
    data: bytes
    keyframe: bool
    dts: int  # 90 kHz ticks since the stream started, monotonic
    duration: int  # 90 kHz ticks the sample lasts: the frame interval seen last (the next frame is not in yet)


Fmp4Output = InitSegment | MediaFragment


class _Sink(io.RawIOBase):
    """The file object FFmpeg writes into; `take()` hands over what it wrote since the last call."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class _Timeline:
    """Turns device PTS values into monotonic decode times starting at 0."""

    __slots__ = ("_frame_ticks", "_last_raw", "_last_unwrapped", "next_dts", "repaired")

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._last_unwrapped = 0
        self._frame_ticks = DEFAULT_FRAME_TICKS
        self.next_dts = 0
        self.repaired = 0  # timestamps replaced

    def place(self, pts: int | None) -> int:
        """The decode time for a frame with this PTS."""
        dts = self.next_dts
        if pts is not None and self._last_raw is not None:
            step = (pts - self._last_raw) % TIMESTAMP_WRAP
            if 0 < step <= MAX_TIMESTAMP_JUMP:
                if MIN_FRAME_TICKS <= step <= MAX_FRAME_TICKS:
                    self._frame_ticks = step
                dts = self._last_unwrapped + step
            else:
                self.repaired += 1
                dts = self._last_unwrapped + self._frame_ticks
        elif pts is None and self._last_raw is not None:
            self.repaired += 1
            dts = self._last_unwrapped + self._frame_ticks
        if pts is not None:
            self._last_raw = pts
        elif self._last_raw is not None:
            self._last_raw = (self._last_raw + self._frame_ticks) % TIMESTAMP_WRAP
        self._last_unwrapped = dts
        self.next_dts = dts + self._frame_ticks
        return dts

    @property
    def frame_ticks(self) -> int:
        return self._frame_ticks


class Fmp4Fragmenter:
    """One video stream's frames in, its init segment and fragments out. Audio frames are ignored."""

    def __init__(self, *, label: str = "") -> None:
        self.label = label
        self.parameters: VideoParameters | None = None
        self.frames_in = 0
        self.frames_skipped = 0  # before the first keyframe, or unreadable keyframes
        self._timeline = _Timeline()
        self._sequence = 0  # mfhd sequence_number of the last fragment since the init segment

    def push(self, frame: EsFrame) -> list[Fmp4Output]:
        if not frame.is_video or frame.codec not in _FFMPEG_FORMAT:
            return []
        self.frames_in += 1
        out: list[Fmp4Output] = []
        if frame.keyframe and not self._repeats_parameter_sets(frame.data):
            try:
                parameters = video_parameters(frame.codec, frame.data)
            except ParameterSetError as exc:
                if self.parameters is None:
                    self.frames_skipped += 1
                    logger.info("stream %s: keyframe skipped: %s", self.label, exc)
                    return out
                parameters = self.parameters  # the sets came out of band before; keep them
            if parameters != self.parameters:
                out.append(self._restart(parameters, frame.data))
        elif self.parameters is None:
            self.frames_skipped += 1
            return out
        timeline = self._timeline
        dts = timeline.place(frame.pts)
        duration = timeline.frame_ticks
        self._sequence += 1
        data = media_fragment(self._sequence, dts, duration, frame.data, frame.keyframe)
        out.append(MediaFragment(data, frame.keyframe, dts, duration))
        return out

    def _repeats_parameter_sets(self, access_unit: bytes) -> bool:
        """The keyframe begins with exactly the parameter sets in use (as encoders repeat them before each IDR):
        reading them again would find the same, so they are not read (that costs a scan of the whole frame)."""
        parameters = self.parameters
        if parameters is None or not access_unit.startswith(parameters.parameter_sets):
            return False
        after = len(parameters.parameter_sets)
        return access_unit.startswith(START_CODE, after) or access_unit.startswith(b"\x00" + START_CODE, after)

    def _restart(self, parameters: VideoParameters, keyframe: bytes) -> InitSegment:
        if self.parameters is not None:
            logger.info("stream %s: parameters changed to %s %dx%d; new init segment", self.label,
                        parameters.codec_string, parameters.width, parameters.height)
        self.parameters = parameters
        self._sequence = 0
        return InitSegment(_init_segment(parameters, keyframe), parameters)

    def close(self) -> list[Fmp4Output]:
        """Nothing is held back: every frame's fragment has been returned by `push`."""
        return []

    @property
    def timestamps_repaired(self) -> int:
        return self._timeline.repaired


def _init_segment(parameters: VideoParameters, keyframe: bytes) -> bytes:
    """ftyp + moov for the stream, from FFmpeg's mp4 muxer given a probe of the keyframe."""
    sink = _Sink()
    # A stream copied from a probe of the keyframe: FFmpeg fills in the codec parameters and, unlike a stream
    # made by add_stream(), opens no encoder.
    with av.open(io.BytesIO(keyframe), format=_FFMPEG_FORMAT[parameters.codec], options=_PROBE_OPTIONS) as probe:
        template = probe.streams.video[0]
        container = av.open(sink, mode="w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"})
        stream = container.add_stream_from_template(template)
    try:
        stream.time_base = _TIME_BASE
        stream.codec_context.extradata = parameters.parameter_sets
        container.start_encoding()
        return sink.take()
    finally:
        container.close()  # no packet was muxed: it writes nothing more (skip_trailer)
