"""Fragmented MP4 (ISO/IEC 14496-12) from elementary-stream video frames, without re-encoding.

`Fmp4Fragmenter.push` takes the demuxer's `EsFrame`s and returns what a Media Source Extensions player or an
HLS playlist needs: an `InitSegment` (ftyp + moov) once the first keyframe's parameter sets are known, then
one `MediaFragment` (moof + mdat) per frame. FFmpeg's mp4 muxer (through PyAV) writes the boxes; it closes
a fragment when the next frame arrives (it needs that frame's time for the sample's duration), so each
fragment leaves one frame time after its frame came in.

Timestamps are made safe for MP4 here: the 33-bit PTS is unwrapped, missing or non-increasing ones are
replaced by the previous one plus the frame interval seen so far, and a jump of more than
`MAX_TIMESTAMP_JUMP` (a device restarting its clock) is treated the same way. A keyframe whose parameter sets
differ from the current ones (a resolution change) starts a new init segment.
"""

from __future__ import annotations

import io
import logging
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from clearsight.media.es import Codec, EsFrame
from clearsight.media.parameter_sets import ParameterSetError, VideoParameters, video_parameters

logger = logging.getLogger(__name__)

PTS_CLOCK_HZ = 90_000  # 13818-1: PTS/DTS count a 90 kHz clock
TIMESTAMP_WRAP = 1 << 33  # 13818-1: PTS/DTS are 33 bits
DEFAULT_FRAME_TICKS = PTS_CLOCK_HZ // 25  # 25 fps until the stream shows its own rate
MIN_FRAME_TICKS, MAX_FRAME_TICKS = PTS_CLOCK_HZ // 120, PTS_CLOCK_HZ  # 120 to 1 fps: plausible frame intervals
MAX_TIMESTAMP_JUMP = 10 * PTS_CLOCK_HZ  # a larger step forward is a clock reset, not a gap
# empty_moov: the moov carries no samples (all of them come in fragments); default_base_moof: offsets
# relative to the moof, as MSE requires; frag_every_frame: one fragment per frame, for low latency.
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
    duration: int  # 90 kHz ticks until the next frame


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
        self._sink = _Sink()
        self._container: Any = None
        self._stream: Any = None
        self._pending: deque[tuple[bool, int]] = deque()  # (keyframe, dts) of frames muxed, not yet flushed

    def push(self, frame: EsFrame) -> list[Fmp4Output]:
        if not frame.is_video or frame.codec not in _FFMPEG_FORMAT:
            return []
        self.frames_in += 1
        out: list[Fmp4Output] = []
        if frame.keyframe:
            try:
                parameters = video_parameters(frame.codec, frame.data)
            except ParameterSetError as exc:
                if self.parameters is None:
                    self.frames_skipped += 1
                    logger.info("stream %s: keyframe skipped: %s", self.label, exc)
                    return out
                parameters = self.parameters  # the sets came out of band before; keep them
            if parameters != self.parameters:
                out.extend(self._restart(parameters, frame.data))
        elif self.parameters is None:
            self.frames_skipped += 1
            return out
        dts = self._timeline.place(frame.pts)
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = dts
        packet.time_base = _TIME_BASE
        packet.stream = self._stream
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self._pending.append((frame.keyframe, dts))
        written = self._sink.take()
        if written:
            out.append(self._fragment(written))
        return out

    def _fragment(self, data: bytes) -> MediaFragment:
        keyframe, dts = self._pending.popleft()
        following = self._pending[0][1] if self._pending else dts + self._timeline.frame_ticks
        return MediaFragment(data, keyframe, dts, max(1, following - dts))

    def _restart(self, parameters: VideoParameters, keyframe: bytes) -> list[Fmp4Output]:
        out: list[Fmp4Output] = []
        if self._container is not None:
            out.extend(self._finish())
            logger.info("stream %s: parameters changed to %s %dx%d; new init segment", self.label,
                        parameters.codec_string, parameters.width, parameters.height)
        # A stream copied from a probe of the keyframe: FFmpeg fills in the codec parameters and, unlike a
        # stream made by add_stream(), opens no encoder.
        with av.open(io.BytesIO(keyframe), format=_FFMPEG_FORMAT[parameters.codec], options=_PROBE_OPTIONS) as probe:
            template = probe.streams.video[0]
            container = av.open(self._sink, mode="w", format="mp4",
                                options={"movflags": MOVFLAGS, "flush_packets": "1"})
            stream = container.add_stream_from_template(template)
        stream.time_base = _TIME_BASE
        stream.codec_context.extradata = parameters.parameter_sets
        container.start_encoding()
        self._container, self._stream, self.parameters = container, stream, parameters
        out.append(InitSegment(self._sink.take(), parameters))
        return out

    def _finish(self) -> list[Fmp4Output]:
        """Close the current container; the fragment it still holds comes out."""
        container, self._container = self._container, None
        if container is None:
            return []
        container.close()
        written = self._sink.take()
        out: list[Fmp4Output] = [self._fragment(written)] if written and self._pending else []
        self._pending.clear()
        return out

    def close(self) -> list[Fmp4Output]:
        return self._finish()

    @property
    def timestamps_repaired(self) -> int:
        return self._timeline.repaired
