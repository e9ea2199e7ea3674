"""Exporting what the recorder writes: SegmentWriter files (one hub timeline across segments), indexed by
RecordingStore, found through the configured storage paths."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import av
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.db import session_factory
from clearsight.export.records import ExportState
from clearsight.export.runner import ExportRunner
from clearsight.export.storage_roots import storage_roots
from clearsight.export.store import ExportStore
from clearsight.export.verify import verify_package
from clearsight.media.es import Codec, EsFrame
from clearsight.media.fmp4 import Fmp4Fragmenter, InitSegment, MediaFragment
from clearsight.recording.records import SegmentState
from clearsight.recording.segment_writer import SegmentClosed, SegmentWriter, TimedItem
from clearsight.recording.storage import StoragePool, parse_storage_paths
from clearsight.recording.store import RecordingStore
from clearsight.registry.records import ChannelRecordIn
from clearsight.registry.store import RegistryStore
from clearsight.signing import SigningKey
from clearsight.sim.video import LiveEncoder
from tests.export.conftest import GB_ID, PLATFORM_ID, T0
from tests.export.platform import DEVICE_ID
from tests.export.recordings import FPS, HEIGHT, WIDTH


def _hub_items(seconds: float) -> list[TimedItem]:
    """What a hub consumer hands the recorder: one fragmenter's output over the stream, with wall times."""
    encoder, fragmenter = LiveEncoder(WIDTH, HEIGHT, FPS), Fmp4Fragmenter(label=GB_ID)
    base_pts = 123 * 90_000  # a device clock that did not start at zero
    items: list[TimedItem] = []
    for _ in range(round(seconds * FPS)):
        for frame in encoder.encode_test_picture(channel_name="GATE", now=T0, marker=(0.0, 0.0)):
            es = EsFrame(0xE0, Codec.H264, base_pts + frame.pts_90k, None, frame.data, frame.keyframe)
            for item in fragmenter.push(es):
                wall = T0.timestamp() + (item.dts / 90_000 if isinstance(item, MediaFragment) else 0.0)
                items.append((item, wall))
    return items + [(item, T0.timestamp() + seconds) for item in fragmenter.close()]


async def test_segments_written_by_the_recorder_export_and_verify(db_engine: AsyncEngine, tmp_path: Path,
                                                                  signing_key: SigningKey) -> None:
    sessions = session_factory(db_engine)
    registry = RegistryStore(sessions)
    await registry.upsert_device(DEVICE_ID, transport="UDP", remote_host="127.0.0.1", remote_port=5060,
                                 registered_at=T0, expires_at=T0 + timedelta(hours=1))
    await registry.replace_catalog(DEVICE_ID, [ChannelRecordIn(GB_ID, name="Gate")], [])
    [channel] = (await registry.list_channels()).items

    spec = f"main={tmp_path / 'video'}:1G"
    roots = storage_roots(spec, tmp_path)
    assert roots == {"main": tmp_path / "video"}
    pool = StoragePool(parse_storage_paths(spec, tmp_path), min_free_bytes=0, segment_reserve=0)
    writer = SegmentWriter(channel.id, GB_ID, pool, segment_seconds=2)
    items = _hub_items(7)
    assert isinstance(items[0][0], InitSegment)
    events = writer.write(items).events + writer.close().events
    closed = [e.facts for e in events if isinstance(e, SegmentClosed)]
    assert len(closed) >= 3
    recordings = RecordingStore(sessions)
    for facts in closed:
        await recordings.add_segment(channel.id, GB_ID, facts, SegmentState.COMPLETE)

    runner = ExportRunner(ExportStore(sessions), registry, exports_dir=tmp_path / "exports", storage_roots=roots,
                          signing_key=signing_key, platform_id=PLATFORM_ID)
    await runner.start()
    try:
        record = await runner.submit(created_by="alice", reason="compatibility", channels=[channel.id],
                                     start=T0 + timedelta(seconds=2.5), end=T0 + timedelta(seconds=5.5),
                                     watermark=False)
        await runner.wait_idle()
        done = await runner.get(record.id)
        assert done is not None and done.state is ExportState.DONE, done
        path = await runner.package(record.id)
        assert path is not None and verify_package(path).intact
        with zipfile.ZipFile(path) as archive:
            [entry] = json.loads(archive.read("manifest.json"))["files"]
            with av.open(archive.open(entry["name"]), format="mp4") as container:
                frames = list(container.decode(video=0))
        assert entry["covered"] == {"start": "2026-05-01T12:00:02.000Z", "end": "2026-05-01T12:00:05.500Z"}
        assert entry["gaps"] == [] and {s["integrity"] for s in entry["sources"]} == {"verified"}
        assert len(frames) == entry["frames"] == 35
    finally:
        await runner.close()
