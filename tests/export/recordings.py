"""Recorded segments made the way the recorder makes them, for the export tests.

The simulator's encoder draws the test picture (its clock shows the frame's recorded time), every frame is
fragmented by `Fmp4Fragmenter` into one fMP4 file per segment (init segment, then moof + mdat per frame),
and the keyframe index is noted as the `recording_segments` row keeps it: [moof byte offset, ms from start].
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearsight.export.records import ChannelPlan, ChannelRef, Keyframe, SegmentSource, SegmentState
from clearsight.media.es import Codec, EsFrame
from clearsight.media.fmp4 import Fmp4Fragmenter, InitSegment, MediaFragment
from clearsight.registry.recording_models import RecordingSegment
from clearsight.sim.video import LiveEncoder

FPS = 10  # the simulator's encoder makes a keyframe every FPS frames: a one-second GOP
WIDTH, HEIGHT = 320, 180
STORAGE = "default"


@dataclass(frozen=True, slots=True)
class RecordedSegment:
    gb_id: str
    relative: str
    file: Path
    start_at: datetime
    end_at: datetime
    keyframes: tuple[tuple[int, int], ...]
    sha256: str
    size: int

    def source(self, segment_id: int, channel_id: int, *, state: SegmentState = SegmentState.COMPLETE,
               sha256: str | None = None) -> SegmentSource:
        return SegmentSource(segment_id, channel_id, self.gb_id, STORAGE, self.file, self.start_at, self.end_at,
                             state, sha256 or self.sha256, tuple(Keyframe(o, ms) for o, ms in self.keyframes))


def record(root: Path, gb_id: str, start: datetime, seconds: float, *, segment_seconds: int = 2,
           fps: int = FPS, size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[RecordedSegment]:
    """`seconds` of recording from `start`, in files of `segment_seconds` (a whole number of GOPs)."""
    encoder = LiveEncoder(size[0], size[1], fps)
    frames_per_segment = segment_seconds * fps
    total = round(seconds * fps)
    encoded = []
    for index in range(total):
        now = start + timedelta(seconds=index / fps)
        encoded += encoder.encode_test_picture(channel_name=f"CAM {gb_id[-4:]}", now=now, marker=(index * 3.0, 0.0))
    encoded += encoder.flush()
    segments = []
    for first in range(0, len(encoded), frames_per_segment):
        group = encoded[first:first + frames_per_segment]
        segment_start = start + timedelta(seconds=first / fps)
        fragmenter = Fmp4Fragmenter(label=gb_id)
        outputs = []
        for frame in group:
            outputs += fragmenter.push(EsFrame(0xE0, Codec.H264, frame.pts_90k, None, frame.data, frame.keyframe))
        outputs += fragmenter.close()
        data, keyframes = bytearray(), []
        for output in outputs:
            if isinstance(output, MediaFragment) and output.keyframe:
                keyframes.append((len(data), output.dts // 90))
            assert isinstance(output, InitSegment | MediaFragment)
            data += output.data
        relative = f"{gb_id}/{segment_start:%Y%m%d}/{segment_start:%H%M%S%f}.mp4"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        segments.append(RecordedSegment(gb_id, relative, path, segment_start,
                                        segment_start + timedelta(seconds=len(group) / fps), tuple(keyframes),
                                        hashlib.sha256(data).hexdigest(), len(data)))
    return segments


def plan(channel_id: int, gb_id: str, segments: list[RecordedSegment], *, first_id: int = 1) -> ChannelPlan:
    return ChannelPlan(ChannelRef(channel_id, gb_id, f"Camera {channel_id}"),
                       tuple(s.source(first_id + i, channel_id) for i, s in enumerate(segments)))


async def insert_segments(sessions: async_sessionmaker[AsyncSession], channel_id: int,
                          segments: list[RecordedSegment], *, state: str = "complete") -> None:
    async with sessions.begin() as session:
        session.add_all(RecordingSegment(channel_id=channel_id, channel_gb_id=s.gb_id, storage=STORAGE,
                                         path=s.relative, start_at=s.start_at, end_at=s.end_at, size=s.size,
                                         codec="avc1.42c00d", keyframes=json.dumps([list(k) for k in s.keyframes]),
                                         state=state, sha256=s.sha256 if state != "open" else None)
                        for s in segments)
