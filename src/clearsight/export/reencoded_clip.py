"""An exported clip decoded and re-encoded as H.264: with privacy masks burnt in, a watermark, or both.

Masks are painted first, then the watermark's text on top (so the exporter's line is never hidden). Used
instead of `clip_writer.RemuxClip` when the export asks for a watermark or the exporter may not lift the
channel's privacy masks (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from clearsight.export.clip_writer import TIME_BASE, ClipFacts, open_mp4
from clearsight.export.records import Tick, instant_at
from clearsight.export.segment_reader import TimedPacket
from clearsight.export.watermark import burn_in, frame_time_line

if TYPE_CHECKING:  # the painter (and numpy) load only when a picture is painted
    from clearsight.privacy.painter import MaskPainter

ENCODER = "libx264"
# veryfast at CRF 20: visually close to the recording at a few times real time for 1080p on one core.
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "20"}
ENCODER_THREADS = 1  # exports run side by side; each takes one core
KEYFRAME_INTERVAL = 50  # frames: 2 s at 25 fps, so players can seek in the exported file


@dataclass(frozen=True, slots=True)
class Watermark:
    """The exporter line for the top; each frame's time (from `clip_start`) goes at the bottom."""

    exporter: str
    clip_start: datetime


class ReencodedClip:
    """Decodes the recorded packets, paints masks and/or burns in the watermark, encodes H.264."""

    def __init__(self, path: Path, template: Any, *, masks: MaskPainter | None = None,
                 watermark: Watermark | None = None) -> None:
        if masks is None and watermark is None:
            raise ValueError("a re-encoded clip without masks or watermark: copy it instead (RemuxClip)")
        source = template.codec_context
        self._decoder: Any = av.CodecContext.create(source.name, "r")
        self._decoder.extradata = source.extradata
        self._decoder.thread_count = 1
        self._container = open_mp4(path)
        self._stream: Any = self._container.add_stream(ENCODER, rate=25)
        self._stream.width, self._stream.height, self._stream.pix_fmt = source.width, source.height, "yuv420p"
        self._stream.time_base = TIME_BASE
        self._stream.codec_context.time_base = TIME_BASE
        self._stream.codec_context.thread_count = ENCODER_THREADS
        self._stream.codec_context.gop_size = KEYFRAME_INTERVAL
        self._stream.options = dict(ENCODER_OPTIONS)
        self._masks, self._watermark = masks, watermark
        self._frames = 0
        self._last_pts: Tick = -1

    def write(self, item: TimedPacket, dts: Tick, pts: Tick) -> None:
        packet = item.packet
        packet.dts, packet.pts, packet.duration = dts, pts, item.duration
        packet.time_base = TIME_BASE
        self._encode(self._decoder.decode(packet))

    def _picture(self, decoded: av.VideoFrame, pts: Tick) -> av.VideoFrame:
        frame = decoded if self._masks is None else self._masks.paint_frame(decoded)
        if self._watermark is not None:
            moment = instant_at(self._watermark.clip_start, pts)
            frame = burn_in(frame, self._watermark.exporter, frame_time_line(moment))
        elif frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        return frame

    def _encode(self, frames: list[av.VideoFrame]) -> None:
        for decoded in frames:
            pts = decoded.pts if decoded.pts is not None else self._last_pts + 1
            pts = max(pts, self._last_pts + 1)
            self._last_pts = pts
            frame = self._picture(decoded, pts)
            frame.pts, frame.time_base = pts, Fraction(TIME_BASE)
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            self._frames += 1

    def close(self) -> ClipFacts:
        self._encode(self._decoder.decode(None))
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return ClipFacts("h264", self._stream.width, self._stream.height, self._frames)

    def abort(self) -> None:
        self._container.close()
