"""SegmentWriter: hub items to fMP4 segment files that roll at keyframes, with offsets, times and hashes."""

from __future__ import annotations

import errno
import hashlib
import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from clearsight.media.fmp4 import MediaFragment
from clearsight.recording.layout import parse_segment_path
from clearsight.recording.segment_writer import (
    SegmentClosed,
    SegmentFacts,
    SegmentOpened,
    SegmentWriter,
    TimedItem,
)
from clearsight.recording.storage import StoragePath, StoragePool
from tests.recording.samples import FRAME_TICKS, Clip, make_clip

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()


def timed(clip: Clip, start: int = 0, stop: int | None = None, *, init: bool = True) -> list[TimedItem]:
    items: list[TimedItem] = [(clip.init, T0)] if init else []
    for fragment in clip.fragments[start:stop]:
        items.append((fragment, T0 + fragment.dts / 90_000))
    return items


def write_all(writer: SegmentWriter, items: list[TimedItem], batch: int = 7) -> tuple[list[SegmentFacts], list[str]]:
    """Feed in batches, close; the closed segments' facts and the reasons they closed."""
    closed: list[SegmentFacts] = []
    reasons: list[str] = []
    results = [writer.write(items[i:i + batch]) for i in range(0, len(items), batch)] + [writer.close()]
    for result in results:
        assert result.error is None
        for event in result.events:
            if isinstance(event, SegmentClosed):
                closed.append(event.facts)
                reasons.append(event.reason)
    return closed, reasons


def decode(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_segments_roll_at_the_first_keyframe_after_the_length(clip: Clip, pool: StoragePool,
                                                              storage_root: Path) -> None:
    writer = SegmentWriter(7, "34020000001310000001", pool, segment_seconds=2.5)
    closed, reasons = write_all(writer, timed(clip))
    # Keyframes every second: 2.5 s closes at the keyframe at 3 s. 10 s → 3 + 3 + 3 + 1.
    assert [round((f.end_at - f.start_at).total_seconds(), 2) for f in closed] == [3.0, 3.0, 3.0, 1.0]
    assert reasons == ["length reached"] * 3 + ["recording stopped"]
    assert sum(len(decode(storage_root / f.path)) for f in closed) == len(clip.fragments)
    for previous, following in itertools.pairwise(closed):
        assert following.start_at == previous.end_at  # consecutive segments touch
    first = closed[0]
    assert first.start_at == datetime.fromtimestamp(T0, UTC)
    name = parse_segment_path(first.path)
    assert name is not None and name.channel_id == 7 and name.channel_gb_id == "34020000001310000001"
    assert abs(name.start_at - first.start_at) < timedelta(milliseconds=1)
    assert first.codec.startswith("avc1.")


def test_facts_match_the_file(clip: Clip, pool: StoragePool, storage_root: Path) -> None:
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=4)
    closed, _ = write_all(writer, timed(clip, 0, 100))
    facts = closed[0]
    data = (storage_root / facts.path).read_bytes()
    assert len(data) == facts.size and hashlib.sha256(data).hexdigest() == facts.sha256
    assert data[4:8] == b"ftyp"
    assert [ms for _, ms in facts.keyframes] == [0, 1000, 2000, 3000]
    for offset, _ in facts.keyframes:
        assert data[offset + 4:offset + 8] == b"moof"
    # Playback may start at any indexed keyframe: init segment + the file from there decodes.
    init_end = len(clip.init.data)
    offset = facts.keyframes[2][0]
    with av.open(io.BytesIO(data[:init_end] + data[offset:]), format="mp4") as container:
        pictures = list(container.decode(video=0))
    assert pictures[0].key_frame and len(pictures) == 50


def test_a_new_init_segment_starts_a_new_file(clip: Clip, pool: StoragePool, storage_root: Path) -> None:
    other = make_clip(2, width=176, height=144)
    shifted = [MediaFragment(f.data, f.keyframe, f.dts + 60 * FRAME_TICKS, f.duration) for f in other.fragments]
    items = timed(clip, 0, 60) + [(other.init, T0 + 2.4)] + [(f, T0 + f.dts / 90_000) for f in shifted]
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    closed, reasons = write_all(writer, items)
    assert reasons == ["new init segment", "recording stopped"]
    assert decode(storage_root / closed[1].path)[0].width == 176


def test_nothing_is_written_before_a_keyframe(clip: Clip, pool: StoragePool) -> None:
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    result = writer.write(timed(clip, 3, 30))  # starts 3 frames after a keyframe
    opened = [e for e in result.events if isinstance(e, SegmentOpened)]
    assert len(opened) == 1 and writer.fragments_dropped == 22
    assert opened[0].facts.start_at == datetime.fromtimestamp(T0 + 1.0, UTC)  # the keyframe at 1 s


def test_a_discontinuity_closes_the_segment_and_the_next_starts_later(clip: Clip, pool: StoragePool) -> None:
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    first = writer.write(timed(clip, 0, 50))
    assert first.error is None
    # The consumer was skipped ahead: frames 50-124 never arrive; it resumes at the keyframe at 5 s.
    second = writer.write(timed(clip, 125, 200, init=False), discontinuity=True)
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in second.events]
    assert kinds == [("SegmentClosed", "recorder fell behind"), ("SegmentOpened", None)]
    closed = second.events[0].facts
    opened = second.events[1].facts
    assert closed.end_at == datetime.fromtimestamp(T0 + 2.0, UTC)
    assert opened.start_at == datetime.fromtimestamp(T0 + 5.0, UTC)


def test_a_decode_time_jump_starts_a_new_segment(clip: Clip, pool: StoragePool) -> None:
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    jumped = [MediaFragment(f.data, f.keyframe, f.dts + 900_000, f.duration) for f in clip.fragments[50:100]]
    items = timed(clip, 0, 50) + [(f, T0 + f.dts / 90_000) for f in jumped]
    _, reasons = write_all(writer, items)
    assert reasons == ["decode times jumped", "recording stopped"]


def test_a_write_error_closes_the_segment_at_its_last_whole_batch(clip: Clip, pool: StoragePool, storage_root: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    assert writer.write(timed(clip, 0, 30)).error is None
    size_before = writer.current.size if writer.current else 0

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("clearsight.recording.segment_writer.os.write", full)
    result = writer.write(timed(clip, 30, 40, init=False))
    assert result.error == "storage write failed: No space left on device"
    closed = [e for e in result.events if isinstance(e, SegmentClosed)]
    assert len(closed) == 1 and closed[0].facts.size == size_before
    assert (storage_root / closed[0].facts.path).stat().st_size == size_before
    assert len(decode(storage_root / closed[0].facts.path)) == 30
    assert writer.current is None


def test_no_room_anywhere_is_an_error_and_nothing_is_written(clip: Clip, storage_root: Path) -> None:
    pool = StoragePool([StoragePath("main", storage_root, 1000)], min_free_bytes=0, segment_reserve=10_000)
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    result = writer.write(timed(clip, 0, 10))
    assert result.error == "no storage space: every storage path is full" and not result.events
    assert not list(storage_root.rglob("*.mp4"))


def test_open_segment_bytes_count_as_used(clip: Clip, storage_root: Path) -> None:
    pool = StoragePool([StoragePath("main", storage_root, None)], min_free_bytes=0, segment_reserve=0)
    writer = SegmentWriter(1, "34020000001310000001", pool, segment_seconds=60)
    writer.write(timed(clip, 0, 50))
    assert writer.current is not None and pool.used("main") == writer.current.size > 0
    closed, _ = write_all(writer, [])
    assert pool.used("main") == closed[0].size
