"""Storage paths from the setting, quotas, free space and where a new segment goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.recording.storage import (
    DiskSpace,
    StoragePath,
    StoragePool,
    StorageSpecError,
    parse_quota,
    parse_storage_paths,
)

DATA = Path("/var/lib/clearsight")


def test_empty_setting_is_one_default_path_under_the_data_directory() -> None:
    assert parse_storage_paths("", DATA) == [StoragePath("default", DATA / "recordings", None)]


def test_paths_with_and_without_quotas() -> None:
    paths = parse_storage_paths("main=/srv/video:2T, spare=/mnt/b:500G,rel=video,c=/x:y/z", DATA)
    assert paths == [StoragePath("main", Path("/srv/video"), 2 * 1024**4),
                     StoragePath("spare", Path("/mnt/b"), 500 * 1024**3),
                     StoragePath("rel", DATA / "video", None),
                     StoragePath("c", Path("/x:y/z"), None)]  # a colon not followed by a size is part of the path


@pytest.mark.parametrize(("text", "size"), [("1048576", 1048576), ("10M", 10 * 1024**2), ("1.5k", 1536),
                                            ("2GiB", 2 * 1024**3), ("3tb", 3 * 1024**4)])
def test_quota_sizes(text: str, size: int) -> None:
    assert parse_quota(text) == size


@pytest.mark.parametrize(("spec", "problem"), [
    ("main", "not NAME=PATH"), ("=/x", "storage name"), ("a b=/x", "storage name"), ("a=/x,a=/y", "twice"),
    ("a=", "not NAME=PATH"), ("a=/x:0", "more than 0")])
def test_bad_settings_say_what_is_wrong(spec: str, problem: str) -> None:
    with pytest.raises(StorageSpecError, match=problem):
        parse_storage_paths(spec, DATA)


def fixed_disk(free: dict[str, int]):  # type: ignore[no-untyped-def]
    def usage(root: Path) -> DiskSpace:
        return DiskSpace(10**12, 0, free[root.name])
    return usage


def test_choose_prefers_the_policy_storage_then_the_roomiest() -> None:
    paths = [StoragePath("a", Path("/a"), 1000), StoragePath("b", Path("/b"), None)]
    disk = {"a": 10**9, "b": 5000}
    pool = StoragePool(paths, disk_usage=fixed_disk(disk), min_free_bytes=100, segment_reserve=500)
    assert pool.choose("b").name == "b"  # type: ignore[union-attr]  # b has 4,900 bytes of room
    assert pool.choose().name == "b"  # type: ignore[union-attr]  # a's quota leaves 1,000, b has 4,900
    pool.open_written("b/x.mp4", "b", 0)
    disk["b"] = 550  # under the minimum free space: no room
    assert pool.choose("b").name == "a"  # type: ignore[union-attr]
    pool.indexed_changed("a", 600)
    assert pool.choose() is None  # a has 400 left, less than a segment's reserve


def test_state_says_how_much_to_delete() -> None:
    pool = StoragePool([StoragePath("a", Path("/a"), 1000)], disk_usage=fixed_disk({"a": 10**9}), min_free_bytes=0)
    pool.set_indexed({"a": 900})
    assert pool.state("a").excess == 0  # 90 %: under the high-water mark
    pool.open_written("a/open.mp4", "a", 60)
    state = pool.state("a")
    assert state.used == 960 and state.excess == 60  # over 95 %: back down to 90 %
    pool.open_closed("a/open.mp4")
    assert pool.used("a") == 900


def test_a_full_disk_must_be_freed_whatever_the_quota() -> None:
    pool = StoragePool([StoragePath("a", Path("/a"), None)], disk_usage=fixed_disk({"a": 300}), min_free_bytes=1000)
    assert pool.state("a").excess == 700 and pool.state("a").headroom == 0
