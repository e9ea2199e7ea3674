"""Thumbnails: one keyframe to a small JPEG, found by the moment nearest, deleted with their segment's time."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from clearsight.media.es import Codec, EsFrame
from clearsight.recording.thumbnails import (
    ThumbnailError,
    delete_thumbnails,
    keyframe_to_thumbnail,
    nearest_thumbnail,
    save_thumbnail,
)
from tests.recording.samples import encode_frames

T0 = datetime(2026, 3, 2, 23, 59, 50, tzinfo=UTC)


def test_a_keyframe_becomes_a_small_jpeg() -> None:
    keyframe = encode_frames(1, width=640, height=360)[0]
    jpeg = keyframe_to_thumbnail(keyframe)
    with av.open(io.BytesIO(jpeg), format="image2pipe") as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (320, 180) and jpeg[:2] == b"\xff\xd8"
    small = keyframe_to_thumbnail(encode_frames(1, width=160, height=120)[0])
    with av.open(io.BytesIO(small), format="image2pipe") as container:
        assert next(container.decode(video=0)).width == 160  # never enlarged


def test_an_undecodable_keyframe_is_an_error() -> None:
    with pytest.raises(ThumbnailError):
        keyframe_to_thumbnail(EsFrame(0xE0, Codec.H264, 0, None, b"\x00\x00\x01\x65garbage", True))
    with pytest.raises(ThumbnailError):
        keyframe_to_thumbnail(EsFrame(0xE0, Codec.MPEG4, 0, None, b"", True))


def test_nearest_across_midnight_and_storage_roots(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    save_thumbnail(first, 3, T0, b"\xff\xd8evening")
    save_thumbnail(second, 3, T0 + timedelta(seconds=20), b"\xff\xd8after midnight")
    save_thumbnail(first, 4, T0 + timedelta(seconds=11), b"\xff\xd8other channel")
    found = nearest_thumbnail([first, second], 3, T0 + timedelta(seconds=12))
    assert found is not None and found[0] == T0 + timedelta(seconds=20) and found[1].read_bytes().endswith(b"midnight")
    assert nearest_thumbnail([first, second], 3, T0 + timedelta(hours=1)) is None
    assert nearest_thumbnail([first], 3, T0 + timedelta(seconds=4), within=timedelta(seconds=3)) is None


def test_delete_in_a_time_range(tmp_path: Path) -> None:
    for seconds in (0, 5, 10, 15):
        save_thumbnail(tmp_path, 3, T0 + timedelta(seconds=seconds), b"\xff\xd8")
    assert delete_thumbnails(tmp_path, 3, T0 + timedelta(seconds=5), T0 + timedelta(seconds=15)) == 2
    left = sorted(p.name for p in tmp_path.rglob("*.jpg"))
    assert left == ["000005_000.jpg", "235950_000.jpg"]  # 00:00:05 next day and 23:59:50
