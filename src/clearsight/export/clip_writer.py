"""Writing one exported clip: a plain MP4 (moov first, for players that start before the end arrives).

`RemuxClip` copies the recorded packets as they are, with timestamps rebased to the clip's first frame;
`clearsight.export.reencoded_clip.ReencodedClip` re-encodes them with masks or text burnt in. Both take
packets in decode order with decode/presentation times in ticks from the clip's start and close into a
finished file.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av

from clearsight.export.records import TICKS_PER_SECOND, Tick
from clearsight.export.segment_reader import TimedPacket

TIME_BASE = Fraction(1, TICKS_PER_SECOND)
# faststart: FFmpeg moves the moov box in front of the media data once the file is complete.
PLAIN_MP4_OPTIONS = {"movflags": "faststart"}


@dataclass(frozen=True, slots=True)
class ClipFacts:
    codec: str
    width: int
    height: int
    frames: int


class ClipSink(Protocol):
    def write(self, item: TimedPacket, dts: Tick, pts: Tick) -> None: ...

    def close(self) -> ClipFacts: ...

    def abort(self) -> None: ...


def open_mp4(path: Path) -> Any:
    return av.open(str(path), mode="w", format="mp4", options=PLAIN_MP4_OPTIONS)


class RemuxClip:
    """Packets copied into an MP4 track made from the recording's own codec parameters."""

    def __init__(self, path: Path, template: Any) -> None:
        self._container = open_mp4(path)
        self._stream = self._container.add_stream_from_template(template)
        self._stream.time_base = TIME_BASE
        context = template.codec_context
        self._facts = (context.name, context.width, context.height)
        self._frames = 0

    def write(self, item: TimedPacket, dts: Tick, pts: Tick) -> None:
        packet = item.packet
        packet.stream = self._stream
        packet.time_base = TIME_BASE
        packet.dts, packet.pts, packet.duration = dts, pts, item.duration
        self._container.mux(packet)
        self._frames += 1

    def close(self) -> ClipFacts:
        self._container.close()
        return ClipFacts(*self._facts, self._frames)

    def abort(self) -> None:
        self._container.close()
