from __future__ import annotations

import logging
import random

import pytest

from clearsight.gb28181.catalog import CatalogAssembler, CatalogMismatch
from clearsight.gb28181.ids import derive_id
from clearsight.gb28181.manscdp import (
    CatalogChunk,
    CatalogItem,
    build_catalog_response,
    parse_catalog_response,
)
from clearsight.gb28181.manscdp import parse_manscdp as parse

NVR = "34020000001110000001"
FIRST_CHANNEL = "34020000001310000001"


def items(count: int, *, start: int = 0, name: str = "Camera") -> list[CatalogItem]:
    return [
        CatalogItem(device_id=derive_id(FIRST_CHANNEL, start + i), name=f"{name} {start + i}")
        for i in range(count)
    ]


def chunks(
    all_items: list[CatalogItem], size: int, *, sn: int = 1, sum_num: int | None = None
) -> list[CatalogChunk]:
    total = len(all_items) if sum_num is None else sum_num
    return [CatalogChunk(NVR, sn, total, all_items[i : i + size]) for i in range(0, len(all_items), size)]


def test_in_order_chunks_complete() -> None:
    everything = items(8)
    assembler = CatalogAssembler(NVR, now=0.0)
    parts = chunks(everything, 2)
    for n, part in enumerate(parts, start=1):
        assert not assembler.complete
        assembler.add(part, now=float(n))
        assert assembler.received == 2 * n
    assert assembler.complete
    assert assembler.items == everything
    assert (assembler.sum_num, assembler.missing_count, assembler.chunks_received) == (8, 0, 4)


def test_nothing_received_yet() -> None:
    assembler = CatalogAssembler()
    assert not assembler.complete
    assert (assembler.sum_num, assembler.received, assembler.missing_count, assembler.items) == (0, 0, 0, [])
    assert assembler.requery_count == 0
    assert assembler.device_id is None


def test_out_of_order_and_duplicated_chunks() -> None:
    everything = items(20)
    parts = chunks(everything, 3)
    shuffled = parts + parts[2:5]
    random.Random(5).shuffle(shuffled)
    assembler = CatalogAssembler(NVR)
    for part in shuffled:
        assembler.add(part, now=1.0)
    assert assembler.complete
    assert assembler.received == 20
    assert sorted(i.device_id for i in assembler.items) == [i.device_id for i in everything]
    assert assembler.duplicate_items == sum(len(p.items) for p in parts[2:5])


def test_order_is_that_of_first_arrival_and_newer_content_wins() -> None:
    assembler = CatalogAssembler(NVR)
    first = items(3)
    assembler.add(CatalogChunk(NVR, 1, 4, [first[2], first[0]]), now=0)
    renamed = CatalogItem(device_id=first[2].device_id, name="renamed", status="OFF")
    assembler.add(CatalogChunk(NVR, 1, 4, [first[1], renamed]), now=1)
    assert [i.device_id for i in assembler.items] == [
        first[2].device_id,
        first[0].device_id,
        first[1].device_id,
    ]
    assert assembler.items[0] == renamed
    assert assembler.received == 3
    assert assembler.missing_count == 1


def test_duplicate_items_within_one_chunk() -> None:
    # fixture 28: SumNum 1, DeviceList Num 2, two identical items
    item = CatalogItem(device_id="23000000001310000002")
    assembler = CatalogAssembler()
    assembler.add(CatalogChunk("51000000001320000001", 1, 1, [item, item], declared_num=2), now=0)
    assert assembler.complete
    assert assembler.items == [item]
    assert assembler.device_id == "51000000001320000001"


def test_sum_num_zero_completes_at_once() -> None:
    assembler = CatalogAssembler(NVR)
    assembler.add(CatalogChunk(NVR, 1, 0, []), now=0)
    assert assembler.complete
    assert assembler.items == []
    assert not assembler.is_stalled(100.0, timeout=1.0)


def test_sum_num_changing_uses_the_max(caplog: pytest.LogCaptureFixture) -> None:
    everything = items(6)
    assembler = CatalogAssembler(NVR)
    with caplog.at_level(logging.WARNING):
        assembler.add(CatalogChunk(NVR, 1, 4, everything[:2]), now=0)
        assembler.add(CatalogChunk(NVR, 1, 6, everything[2:4]), now=1)
        assert assembler.sum_num == 6
        assert not assembler.complete
        assembler.add(CatalogChunk(NVR, 1, 5, everything[4:5]), now=2)
    assert assembler.sum_num == 6
    assert assembler.missing_count == 1
    assert "SumNum changed" in caplog.text
    assert NVR in caplog.text
    assembler.add(CatalogChunk(NVR, 1, 6, everything[5:]), now=3)
    assert assembler.complete


def test_more_items_than_sum_num_is_complete() -> None:
    assembler = CatalogAssembler(NVR)
    assembler.add(CatalogChunk(NVR, 1, 2, items(3)), now=0)
    assert assembler.complete
    assert assembler.received == 3
    assert assembler.missing_count == 0


def test_chunk_of_another_device_is_refused() -> None:
    assembler = CatalogAssembler(NVR)
    with pytest.raises(CatalogMismatch) as info:
        assembler.add(CatalogChunk("34020000001110000002", 7, 1, items(1)), now=0)
    assert info.value.device_id == "34020000001110000002"
    assert info.value.sn == 7
    assert assembler.chunks_received == 0
    bound = CatalogAssembler()
    bound.add(CatalogChunk(NVR, 1, 2, items(1)), now=0)
    with pytest.raises(CatalogMismatch):
        bound.add(CatalogChunk("34020000001110000002", 1, 2, items(1, start=1)), now=0)


def test_stall_detection() -> None:
    assembler = CatalogAssembler(NVR, now=100.0)
    assert not assembler.is_stalled(104.9, timeout=5.0)
    assert assembler.is_stalled(105.0, timeout=5.0)
    assembler.add(CatalogChunk(NVR, 1, 4, items(2)), now=106.0)
    assert not assembler.is_stalled(110.0, timeout=5.0)
    assert assembler.is_stalled(111.0, timeout=5.0)
    assembler.add(CatalogChunk(NVR, 1, 4, items(2, start=2)), now=112.0)
    assert assembler.complete
    assert not assembler.is_stalled(1000.0, timeout=5.0)


def test_stall_clock_starts_lazily() -> None:
    assembler = CatalogAssembler(NVR)
    assert not assembler.is_stalled(50.0, timeout=5.0)  # first look starts the clock
    assert not assembler.is_stalled(54.0, timeout=5.0)
    assert assembler.is_stalled(55.0, timeout=5.0)


def test_default_timeout() -> None:
    assembler = CatalogAssembler(NVR, now=0.0)
    assert not assembler.is_stalled(1.0)
    assert assembler.is_stalled(3600.0)


def test_requery_merges_into_the_same_assembly(caplog: pytest.LogCaptureFixture) -> None:
    everything = items(10)
    parts = chunks(everything, 2, sn=1)
    assembler = CatalogAssembler(NVR, now=0.0)
    for part in (parts[0], parts[2], parts[4]):  # chunks 2 and 4 lost
        assembler.add(part, now=1.0)
    assert assembler.missing_count == 4
    assert assembler.is_stalled(11.0, timeout=10.0)
    with caplog.at_level(logging.INFO):
        assembler.mark_requery(11.0)
    assert assembler.requery_count == 1
    assert "re-query 1" in caplog.text
    assert not assembler.is_stalled(20.0, timeout=10.0)
    # the re-query (new SN) returns the whole catalog again, one chunk of it lost once more
    for part in chunks(everything, 2, sn=2)[:4]:
        assembler.add(part, now=21.0)
    assert assembler.complete
    assert assembler.items == [
        *parts[0].items,
        *parts[2].items,
        *parts[4].items,
        *parts[1].items,
        *parts[3].items,
    ]
    assert assembler.received == 10


def test_requery_adds_new_items() -> None:
    assembler = CatalogAssembler(NVR)
    assembler.add(CatalogChunk(NVR, 1, 3, items(2)), now=0)
    assembler.mark_requery(10)
    assembler.mark_requery(20)
    assert assembler.requery_count == 2
    assembler.add(CatalogChunk(NVR, 9, 4, items(4)), now=21)
    assert assembler.complete
    assert assembler.received == 4


def test_large_catalog_with_losses_and_requeries() -> None:
    everything = items(2000)
    rng = random.Random(28181)
    assembler = CatalogAssembler(NVR, now=0.0)
    now = 0.0
    for attempt in range(10):
        parts = chunks(everything, 7, sn=attempt + 1)
        rng.shuffle(parts)
        for part in parts:
            if rng.random() < 0.2:
                continue  # lost
            now += 0.01
            assembler.add(part, now=now)
            if rng.random() < 0.05:
                assembler.add(part, now=now)  # duplicated
        if assembler.complete:
            break
        now += 10
        assert assembler.is_stalled(now, timeout=5.0)
        assembler.mark_requery(now)
    assert assembler.complete
    assert assembler.received == 2000
    assert {i.device_id for i in assembler.items} == {i.device_id for i in everything}


def test_assembles_parsed_bodies() -> None:
    everything = items(5, name="路口球机")
    assembler = CatalogAssembler(NVR)
    for start in range(0, 5, 2):
        raw = build_catalog_response(42, NVR, 5, everything[start : start + 2])
        assembler.add(parse_catalog_response(parse(raw)), now=float(start))
    assert assembler.complete
    assert assembler.items == everything
