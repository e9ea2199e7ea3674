"""SegmentReader: packets timed from the segment's start, a keyframe index used to skip ahead, damage named."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from clearsight.export.errors import SegmentUnreadable
from clearsight.export.records import Keyframe, ticks_between
from clearsight.export.segment_reader import SegmentReader, SplicedFile, first_fragment_offset
from tests.export.conftest import GB_ID, T0
from tests.export.recordings import record

SECOND = 90_000


@pytest.fixture
def segment(tmp_path: Path) -> object:
    [recorded] = record(tmp_path, GB_ID, T0 + timedelta(seconds=10), 3, segment_seconds=3)
    return recorded.source(7, 1)


def _times(reader: SegmentReader) -> list[tuple[int, bool]]:
    return [(packet.time, packet.keyframe) for packet in reader.packets()]


def test_packets_are_timed_from_the_segment_start_in_export_ticks(segment: object) -> None:
    with SegmentReader(segment, T0) as reader:  # type: ignore[arg-type]
        times = _times(reader)
    assert len(times) == 30 and times[0] == (10 * SECOND, True)
    assert [t for t, key in times if key] == [10 * SECOND, 11 * SECOND, 12 * SECOND]
    assert times[-1][0] == 10 * SECOND + 29 * SECOND // 10


def test_the_keyframe_index_skips_to_the_keyframe_before_the_target(segment: object) -> None:
    with SegmentReader(segment, T0, from_tick=ticks_between(T0, T0 + timedelta(seconds=11.5))) as reader:  # type: ignore[arg-type]
        times = _times(reader)
    assert times[0] == (11 * SECOND, True) and len(times) == 20


def test_a_wrong_index_falls_back_to_reading_from_the_start(segment: object) -> None:
    broken = replace(segment, keyframes=(Keyframe(0, 0), Keyframe(999, 1000)))  # type: ignore[type-var]
    with SegmentReader(broken, T0, from_tick=ticks_between(T0, T0 + timedelta(seconds=11.5))) as reader:
        assert _times(reader)[0] == (10 * SECOND, True)


def test_spliced_file_shows_the_head_then_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(range(100)))
    spliced = SplicedFile(path, 10, 60)
    assert spliced.read() == bytes(range(10)) + bytes(range(60, 100))
    spliced.seek(8)
    assert spliced.read(4) == bytes([8, 9, 60, 61])
    assert spliced.seek(0, 2) == 50
    spliced.close()


def test_a_missing_or_foreign_file_is_unreadable(segment: object, tmp_path: Path) -> None:
    with pytest.raises(SegmentUnreadable, match="missing"):
        SegmentReader(replace(segment, file=tmp_path / "none.mp4"), T0)  # type: ignore[type-var]
    (tmp_path / "text.mp4").write_bytes(b"not an mp4 at all, just words")
    with pytest.raises(SegmentUnreadable, match="not a readable MP4"):
        SegmentReader(replace(segment, file=tmp_path / "text.mp4"), T0)  # type: ignore[type-var]
    with pytest.raises(SegmentUnreadable, match="not configured"):
        SegmentReader(replace(segment, file=None), T0)  # type: ignore[type-var]


def test_the_first_fragment_follows_the_init_segment(segment: object) -> None:
    offset = first_fragment_offset(segment.file)  # type: ignore[attr-defined]
    assert offset == segment.keyframes[0].offset  # type: ignore[attr-defined]
