"""Start-up repair after a crash: open rows closed, cut files trimmed, orphans indexed or removed, gaps closed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from clearsight.recording.layout import segment_path
from clearsight.recording.records import SegmentState
from clearsight.recording.repair import CRASH_GAP_REASON, IndexRepair
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from tests.recording.samples import Clip
from tests.recording.segments import GB_ID, index, write_segments

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(minutes=10)


def frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return len(list(container.decode(video=0)))


async def test_an_open_segment_cut_mid_fragment_is_trimmed_and_closed(recording_store: RecordingStore,
                                                                      pool: StoragePool, storage_root: Path,
                                                                      clip: Clip) -> None:
    facts = write_segments(pool, clip, 1, T0, seconds=60, fragments=60)[0]
    path = storage_root / facts.path
    whole = path.read_bytes()
    cut_at = facts.size - len(clip.fragments[59].data) // 2  # half of the last fragment reached the disk
    path.write_bytes(whole[:cut_at])
    opened = facts.__class__(facts.storage, facts.path, facts.start_at, facts.start_at, 0, facts.codec, ())
    segment_id = await recording_store.add_segment(1, GB_ID, opened)  # the row as a crash leaves it
    report = await IndexRepair(recording_store, pool, now=lambda: NOW).run()
    assert report.open_segments_closed == [f"main:{facts.path}"]
    assert report.truncated == [(f"main:{facts.path}", cut_at - (facts.size - len(clip.fragments[59].data)))]
    repaired = await recording_store.get_segment(segment_id)
    assert repaired is not None and repaired.state is SegmentState.REPAIRED
    assert repaired.size == path.stat().st_size == facts.size - len(clip.fragments[59].data)
    assert repaired.end_at == T0 + timedelta(seconds=59 / 25)
    assert repaired.keyframes == facts.keyframes[:3] and repaired.codec == facts.codec
    assert repaired.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert frames_in(path) == 59
    gaps = await recording_store.gaps_between(1, T0, NOW)
    assert [(g.start_at, g.end_at, g.reason) for g in gaps] == [(repaired.end_at, NOW, CRASH_GAP_REASON)]
    assert "1 truncated" in report.summary()


async def test_orphans_are_indexed_or_removed_and_strangers_left_alone(recording_store: RecordingStore,
                                                                      pool: StoragePool, storage_root: Path,
                                                                      clip: Clip) -> None:
    orphan = write_segments(pool, clip, 5, T0, seconds=60, fragments=40)[0]  # its row was never written
    empty = storage_root / segment_path(5, GB_ID, T0 + timedelta(minutes=1))
    empty.write_bytes(clip.init.data[:50])  # created, then the crash: not even a whole init segment
    stranger = storage_root / "5" / "notes.mp4"
    stranger.write_bytes(b"not ours")
    report = await IndexRepair(recording_store, pool, now=lambda: NOW).run()
    assert report.orphans_indexed == [f"main:{orphan.path}"]
    assert report.orphans_removed == [f"main:{empty.relative_to(storage_root).as_posix()}"]
    assert not empty.exists() and stranger.exists()
    [indexed] = await recording_store.segments_between(5, T0, NOW)
    assert (indexed.channel_gb_id, indexed.path, indexed.size, indexed.state) == (
        GB_ID, orphan.path, orphan.size, SegmentState.REPAIRED)
    assert indexed.start_at == orphan.start_at and indexed.end_at == orphan.end_at
    assert indexed.keyframes == orphan.keyframes and indexed.codec == orphan.codec
    again = await IndexRepair(recording_store, pool, now=lambda: NOW).run()
    assert not again.repaired_anything  # the index and the files agree now


async def test_rows_without_files_go_and_open_gaps_are_closed(recording_store: RecordingStore, pool: StoragePool,
                                                              storage_root: Path, clip: Clip) -> None:
    kept, lost = write_segments(pool, clip, 1, T0, seconds=2, fragments=100)[:2]
    await index(recording_store, 1, [kept, lost])
    (storage_root / lost.path).unlink()
    await recording_store.open_gap(1, T0 + timedelta(minutes=1), "platform stopped")
    report = await IndexRepair(recording_store, pool, now=lambda: NOW).run()
    assert report.missing_files == [f"main:{lost.path}"] and report.gaps_closed == 1
    assert [s.path for s in await recording_store.segments_between(1, T0, NOW)] == [kept.path]
    [gap] = await recording_store.gaps_between(1, T0, NOW)
    assert gap.end_at == NOW
