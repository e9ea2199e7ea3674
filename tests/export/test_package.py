"""Building a package: clips cut at keyframes, gaps in the manifest, parts on a size change, problems named."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from clearsight.export.builder import build_package
from clearsight.export.records import SegmentState
from clearsight.export.verify import TrustAnchor, verify_package
from clearsight.signing import SigningKey, verify_signature
from tests.export.conftest import GB_ID, OTHER_GB_ID, PLATFORM_ID, T0, job
from tests.export.recordings import FPS, RecordedSegment, plan, record

FRAME = 1 / FPS


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
        return manifest


def _decode(path: Path, name: str) -> list[av.VideoFrame]:
    with zipfile.ZipFile(path) as archive, av.open(io.BytesIO(archive.read(name)), format="mp4") as container:
        return list(container.decode(video=0))


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(stamp) - T0).total_seconds()


def _top_level_boxes(data: bytes) -> list[bytes]:
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        boxes.append(kind)
        offset += size
    return boxes


def test_round_trip_covers_the_range_from_the_keyframe_before_it(package: Any, signing_key: SigningKey) -> None:
    report = verify_package(package.path, TrustAnchor(public_bytes=signing_key.public_bytes))
    assert report.intact, report.findings
    assert report.trusted and report.files_checked == 1

    manifest = _manifest(package.path)
    assert manifest["format"] == "clearsight-export" and manifest["format_version"] == 1
    assert manifest["platform_id"] == PLATFORM_ID and manifest["created_by"] == "alice"
    assert manifest["reason"] == "case 2026-0042"
    assert manifest["range"] == {"start": "2026-05-01T12:00:03.300Z", "end": "2026-05-01T12:00:10.500Z"}
    assert manifest["signing_key"]["fingerprint"] == signing_key.fingerprint
    [entry] = manifest["files"]
    assert entry["channel_id"] == 1 and entry["gb_id"] == GB_ID and entry["watermark"] is False
    # Starts at the keyframe at or before 3.3 s (GOPs of 1 s), ends with the last frame before 10.5 s.
    assert _seconds(entry["covered"]["start"]) == 3.0
    assert _seconds(entry["covered"]["end"]) == pytest.approx(10.5)
    assert [(_seconds(g["start"]), _seconds(g["end"])) for g in entry["gaps"]] == [(6.0, 8.0)]
    assert [s["integrity"] for s in entry["sources"]] == ["verified"] * 4

    frames = _decode(package.path, entry["name"])
    assert len(frames) == entry["frames"] == 30 + 25  # 3.0–6.0 s and 8.0–10.5 s at 10 fps
    times = [float(frame.time) for frame in frames]
    assert times[0] == 0.0 and times[29] == pytest.approx(2.9) and times[30] == pytest.approx(5.0)
    assert times[-1] == pytest.approx(7.4)  # real timing: the gap stays a gap


def test_clips_are_plain_mp4_with_moov_first(package: Any) -> None:
    with zipfile.ZipFile(package.path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".mp4"))
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
        boxes = _top_level_boxes(archive.read(name))
    assert boxes[:2] == [b"ftyp", b"moov"] and b"moof" not in boxes and b"mdat" in boxes


def test_package_holds_the_signed_manifest_and_the_public_key(package: Any, signing_key: SigningKey) -> None:
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
        manifest, signature = archive.read("manifest.json"), archive.read("manifest.sig")
        pem = archive.read("public_key.pem")
    assert names[:3] == ["manifest.json", "manifest.sig", "public_key.pem"] and len(names) == 4
    assert verify_signature(signing_key.public_bytes, signature, manifest)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_a_range_starting_in_a_gap_starts_at_the_next_recording(tmp_path: Path, recording: list[RecordedSegment],
                                                                 signing_key: SigningKey) -> None:
    built = build_package(job((plan(1, GB_ID, recording),), 6.5, 9.0), tmp_path, signing_key)
    [entry] = _manifest(built.path)["files"]
    assert _seconds(entry["covered"]["start"]) == 8.0 and entry["frames"] == 10
    [channel] = _manifest(built.path)["channels"]
    assert [(_seconds(g["start"]), _seconds(g["end"])) for g in channel["gaps"]] == [(6.5, 8.0)]


def test_a_range_with_no_recording_lists_the_channel_with_one_gap(tmp_path: Path, recording: list[RecordedSegment],
                                                                   signing_key: SigningKey) -> None:
    built = build_package(job((plan(1, GB_ID, recording), plan(2, OTHER_GB_ID, [])), 20, 30), tmp_path,
                          signing_key)
    manifest = _manifest(built.path)
    assert manifest["files"] == []
    assert [c["gaps"] for c in manifest["channels"]] == \
        [[{"start": "2026-05-01T12:00:20.000Z", "end": "2026-05-01T12:00:30.000Z"}]] * 2
    assert verify_package(built.path).intact


def test_several_channels_each_get_their_clip(tmp_path: Path, recording: list[RecordedSegment],
                                              signing_key: SigningKey) -> None:
    other = record(tmp_path / "rec", OTHER_GB_ID, T0 + timedelta(seconds=2), 4)
    built = build_package(job((plan(1, GB_ID, recording), plan(2, OTHER_GB_ID, other, first_id=100)), 2.5, 5.5),
                          tmp_path / "out", signing_key)
    files = {f["channel_id"]: f for f in _manifest(built.path)["files"]}
    assert sorted(files) == [1, 2] and files[2]["gb_id"] == OTHER_GB_ID
    assert files[1]["name"].startswith(f"ch1_{GB_ID}_20260501T120002Z")
    assert all(f["frames"] == 35 for f in files.values())  # 2.0–5.5 s
    assert verify_package(built.path).intact


def test_a_resolution_change_starts_a_second_clip(tmp_path: Path, signing_key: SigningKey) -> None:
    small = record(tmp_path / "rec", GB_ID, T0, 2)
    large = record(tmp_path / "rec2", GB_ID, T0 + timedelta(seconds=2), 2, size=(352, 288))
    built = build_package(job((plan(1, GB_ID, small + large),), 0, 4), tmp_path / "out", signing_key)
    manifest = _manifest(built.path)
    assert [(f["width"], f["height"], f["frames"]) for f in manifest["files"]] == [(320, 180, 20), (352, 288, 20)]
    assert manifest["channels"][0]["gaps"] == []
    assert [len(_decode(built.path, f["name"])) for f in manifest["files"]] == [20, 20]


def test_missing_and_altered_segments_are_named_and_the_rest_exported(tmp_path: Path, signing_key: SigningKey) -> None:
    segments = record(tmp_path / "rec", GB_ID, T0, 6)
    channel = plan(1, GB_ID, segments)
    missing = replace(channel.segments[1], file=tmp_path / "gone.mp4")
    altered = replace(channel.segments[2], sha256="0" * 64)
    channel = replace(channel, segments=(channel.segments[0], missing, altered))
    built = build_package(job((channel,), 0, 6), tmp_path / "out", signing_key)
    manifest = _manifest(built.path)
    [problem_missing, problem_altered] = manifest["channels"][0]["problems"]
    assert "segment 2" in problem_missing and "missing" in problem_missing
    assert "segment 3" in problem_altered and "SHA-256" in problem_altered
    assert [s["integrity"] for s in manifest["files"][0]["sources"]] == ["verified", "mismatch"]
    assert [(_seconds(g["start"]), _seconds(g["end"])) for g in manifest["channels"][0]["gaps"]] == [(2.0, 4.0)]
    assert "problem" in built.summary


def test_open_segments_are_exported_unchecked(tmp_path: Path, signing_key: SigningKey) -> None:
    segments = record(tmp_path / "rec", GB_ID, T0, 2)
    channel = plan(1, GB_ID, segments)
    channel = replace(channel, segments=(replace(channel.segments[0], state=SegmentState.OPEN, sha256=None),))
    built = build_package(job((channel,), 0, 2), tmp_path / "out", signing_key)
    assert _manifest(built.path)["files"][0]["sources"][0]["integrity"] == "unchecked"


@pytest.mark.parametrize(("state", "problem"), [(SegmentState.OPEN, None), (SegmentState.REPAIRED, "damaged frame")])
def test_a_truncated_segment_gives_what_it_holds(tmp_path: Path, signing_key: SigningKey, state: SegmentState,
                                                 problem: str | None) -> None:
    [segment] = record(tmp_path / "rec", GB_ID, T0, 2)
    data = segment.file.read_bytes()
    segment.file.write_bytes(data[: len(data) * 2 // 3])  # still being written, or cut short by a crash
    channel = plan(1, GB_ID, [segment])
    channel = replace(channel, segments=(replace(channel.segments[0], state=state, sha256=None),))
    built = build_package(job((channel,), 0, 2), tmp_path / "out", signing_key)
    [entry] = _manifest(built.path)["files"]
    assert 5 < entry["frames"] < 20
    assert len(_decode(built.path, entry["name"])) == entry["frames"]
    problems = _manifest(built.path)["channels"][0]["problems"]
    assert (problems == []) if problem is None else (problem in problems[0])


def test_the_package_is_private_to_the_platform(package: Any) -> None:
    assert package.path.stat().st_mode & 0o777 == 0o640


def test_no_work_files_are_left_behind(tmp_path: Path, recording: list[RecordedSegment],
                                      signing_key: SigningKey) -> None:
    built = build_package(job((plan(1, GB_ID, recording),), 0, 2), tmp_path, signing_key)
    assert sorted(p.name for p in tmp_path.iterdir()) == [built.path.name]


def _luma(frame: av.VideoFrame, rows: range, columns: range) -> list[int]:
    plane = frame.planes[0]
    data = bytes(plane)
    return [data[row * plane.line_size + column] for row in rows for column in columns]


def _difference(a: list[int], b: list[int]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def test_the_watermark_burns_in_who_and_when_and_still_decodes(tmp_path: Path, recording: list[RecordedSegment],
                                                               signing_key: SigningKey) -> None:
    channels = (plan(1, GB_ID, recording),)
    plain = build_package(job(channels, 3.3, 5.0), tmp_path / "plain", signing_key)
    marked = build_package(job(channels, 3.3, 5.0, watermark=True), tmp_path / "marked", signing_key)
    assert verify_package(marked.path).intact
    [plain_entry], [marked_entry] = _manifest(plain.path)["files"], _manifest(marked.path)["files"]
    assert marked_entry["watermark"] is True and marked_entry["codec"] == "h264"
    assert marked_entry["covered"] == plain_entry["covered"] and marked_entry["frames"] == plain_entry["frames"]
    plain_frames, marked_frames = _decode(plain.path, plain_entry["name"]), _decode(marked.path, marked_entry["name"])
    assert len(marked_frames) == len(plain_frames) == 20
    assert [f.pts for f in marked_frames] == [f.pts for f in plain_frames]
    top, bottom, middle = range(2, 10), range(172, 178), range(60, 120)
    for before, after in ((plain_frames[0], marked_frames[0]), (plain_frames[-1], marked_frames[-1])):
        assert _difference(_luma(before, top, range(2, 200)), _luma(after, top, range(2, 200))) > 20
        assert _difference(_luma(before, bottom, range(2, 150)), _luma(after, bottom, range(2, 150))) > 20
        assert _difference(_luma(before, middle, range(100, 300)), _luma(after, middle, range(100, 300))) < 4
        ink = _luma(after, top, range(2, 200))
        assert sum(v < 40 for v in ink) > len(ink) // 3 and sum(v > 200 for v in ink) > len(ink) // 10
