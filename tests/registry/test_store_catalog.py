"""RegistryStore: storing catalogs, catalog events, channel listing and the region tree."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clearsight.registry.errors import UnknownDevice
from clearsight.registry.records import (
    CatalogEvent,
    CatalogEventType,
    ChannelRecordIn,
    GroupKind,
    GroupRecordIn,
    PresenceUpdate,
    RegionNode,
)
from clearsight.registry.store import RegistryStore

T0 = datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)
NVR = "34020000001180000001"
OTHER = "34020000001180000002"


def channel(
    n: int, *, civil_code: str | None = "34020301", online: bool = True, **kw: object
) -> ChannelRecordIn:
    base = ChannelRecordIn(
        gb_id=f"3402000000131{n:07d}",
        name=f"Camera {n}",
        manufacturer="Acme",
        civil_code=civil_code,
        online=online,
        longitude=117.2 + n / 1e4,
        latitude=31.8,
        ptz_type=3,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


async def register(store: RegistryStore, device_id: str) -> None:
    await store.upsert_device(
        device_id,
        transport="udp",
        remote_host="192.0.2.10",
        remote_port=5060,
        registered_at=T0,
        expires_at=T0 + timedelta(hours=1),
    )


def flatten(nodes: list[RegionNode] | tuple[RegionNode, ...]) -> dict[str, RegionNode]:
    found: dict[str, RegionNode] = {}
    for node in nodes:
        found[node.code] = node
        found.update(flatten(node.children))
    return found


@pytest.fixture
async def store(registry_store: RegistryStore) -> RegistryStore:
    await register(registry_store, NVR)
    await register(registry_store, OTHER)
    return registry_store


async def test_replace_catalog_stores_and_diffs(store: RegistryStore) -> None:
    groups = [GroupRecordIn("34020000002150000001", GroupKind.BUSINESS_GROUP, "Traffic")]
    diff = await store.replace_catalog(NVR, [channel(1), channel(2), channel(3)], groups)
    assert sorted(diff.added) == sorted(
        [channel(1).gb_id, channel(2).gb_id, channel(3).gb_id, groups[0].gb_id]
    )
    assert diff.updated == diff.removed == diff.rejected == ()

    same = await store.replace_catalog(NVR, [channel(1), channel(2), channel(3)], groups)
    assert not same.changed

    diff = await store.replace_catalog(NVR, [channel(1), channel(2, name="Renamed"), channel(4)], [])
    assert diff.added == (channel(4).gb_id,)
    assert diff.updated == (channel(2).gb_id,)
    assert sorted(diff.removed) == sorted([channel(3).gb_id, groups[0].gb_id])

    device = await store.get_device(NVR)
    assert device is not None and device.channel_count == 3
    stored = await store.list_channels(device_id=NVR)
    assert [c.name for c in stored.items] == ["Camera 1", "Renamed", "Camera 4"]
    first = stored.items[0]
    assert first.device_id == NVR and first.manufacturer == "Acme" and first.ptz_type == 3
    assert first.longitude == pytest.approx(117.2001) and first.region_code == "34020301"
    assert first.updated_at.tzinfo is not None
    assert await store.get_channel(first.id) == first
    assert await store.find_channel(NVR, first.gb_id) == first
    assert await store.get_channel(999_999) is None


async def test_same_channel_id_under_two_devices(store: RegistryStore) -> None:
    await store.replace_catalog(NVR, [channel(1)], [])
    await store.replace_catalog(OTHER, [channel(1, name="Other's")], [])
    assert (await store.list_channels()).total == 2
    assert (await store.list_channels(device_id=OTHER)).items[0].name == "Other's"


async def test_replace_catalog_dedupes_and_rejects(store: RegistryStore) -> None:
    items = [channel(1), channel(1, name="Later wins"), ChannelRecordIn("3" * 25), ChannelRecordIn("")]
    diff = await store.replace_catalog(NVR, items, [])
    assert diff.added == (channel(1).gb_id,)
    assert diff.rejected == ("3" * 25, "")
    assert (await store.list_channels()).items[0].name == "Later wins"


async def test_device_text_is_clipped_not_fatal(store: RegistryStore) -> None:
    await store.replace_catalog(NVR, [channel(1, name="x" * 400, business_group_id="9" * 30)], [])
    stored = (await store.list_channels()).items[0]
    assert len(stored.name) == 255 and stored.business_group_id is None


async def test_replace_catalog_of_unknown_device(store: RegistryStore) -> None:
    with pytest.raises(UnknownDevice):
        await store.replace_catalog("34020000001180000999", [channel(1)], [])


async def test_catalog_events(store: RegistryStore) -> None:
    await store.replace_catalog(NVR, [channel(1), channel(2, online=False)], [])
    group = GroupRecordIn("34020000002160000001", GroupKind.VIRTUAL_ORG, "District")
    events = [
        CatalogEvent(CatalogEventType.OFF, channel(1).gb_id),
        CatalogEvent(CatalogEventType.ON, channel(2).gb_id),
        CatalogEvent(CatalogEventType.ON, channel(2).gb_id),  # already on: no change
        CatalogEvent(CatalogEventType.ADD, channel(3).gb_id, channel(3, civil_code="11010501")),
        CatalogEvent(CatalogEventType.UPDATE, channel(1).gb_id, channel(1, name="Gate", online=False)),
        CatalogEvent(CatalogEventType.ADD, group.gb_id, group),
        CatalogEvent(CatalogEventType.VLOST, channel(2).gb_id),
        CatalogEvent(CatalogEventType.ADD, channel(4).gb_id),  # no item
        CatalogEvent(CatalogEventType.DEL, channel(5).gb_id),  # unknown: nothing removed
    ]
    diff = await store.apply_catalog_events(NVR, events)
    assert diff.added == (channel(3).gb_id, group.gb_id)
    assert diff.updated == (channel(1).gb_id, channel(2).gb_id, channel(1).gb_id)
    assert diff.removed == ()
    assert diff.rejected == (channel(4).gb_id,)

    by_id = {c.gb_id: c for c in (await store.list_channels(device_id=NVR)).items}
    assert not by_id[channel(1).gb_id].online and by_id[channel(1).gb_id].name == "Gate"
    assert by_id[channel(2).gb_id].online
    assert channel(3).gb_id in by_id
    device = await store.get_device(NVR)
    assert device is not None and device.channel_count == 3
    assert "1101" in flatten(await store.region_tree())  # regions of added channels

    diff = await store.apply_catalog_events(
        NVR,
        [
            CatalogEvent(CatalogEventType.DEL, channel(3).gb_id),
            CatalogEvent(CatalogEventType.DEL, group.gb_id),
        ],
    )
    assert diff.removed == (channel(3).gb_id, group.gb_id)
    device = await store.get_device(NVR)
    assert device is not None and device.channel_count == 2
    with pytest.raises(UnknownDevice):
        await store.apply_catalog_events("34020000001180000999", [])


async def test_set_channels_online(store: RegistryStore) -> None:
    await store.replace_catalog(NVR, [channel(1), channel(2, online=False)], [])
    assert await store.set_channels_online(NVR, False) == 1
    assert (await store.list_channels(online=True)).total == 0
    assert await store.set_channels_online(NVR, True) == 2


async def test_list_channels_filters(store: RegistryStore) -> None:
    await store.replace_catalog(
        NVR,
        [
            channel(1, civil_code="34020301", name="North gate"),
            channel(2, civil_code="340203", online=False, name="South gate"),
            channel(3, civil_code="34020000", name="Car park"),
            channel(4, civil_code=None, name="Lobby"),
            channel(5, civil_code="bogus", name="Roof"),
        ],
        [],
    )
    assert (await store.list_channels(name_contains="GATE")).total == 2
    assert (await store.list_channels(online=False)).total == 1
    assert (await store.list_channels(region="34")).total == 3
    assert (await store.list_channels(region="3402")).total == 3
    assert (await store.list_channels(region="340203")).total == 2
    assert (await store.list_channels(region="34020300")).total == 2  # same node as 340203
    assert (await store.list_channels(region="34020301")).total == 1
    assert (await store.list_channels(region="3403")).total == 0
    page = await store.list_channels(offset=1, limit=2)
    assert page.total == 5 and [c.name for c in page.items] == ["South gate", "Car park"]


async def test_region_tree(store: RegistryStore) -> None:
    await store.replace_catalog(
        NVR,
        [
            channel(1, civil_code="34020301"),
            channel(2, civil_code="340203", online=False),
            channel(3, civil_code="34020000"),
            channel(4, civil_code="11010501"),
        ],
        [],
    )
    tree = await store.region_tree()
    assert [node.code for node in tree] == ["11", "34"]
    nodes = flatten(tree)
    assert set(nodes) == {"11", "1101", "110105", "11010501", "34", "3402", "340203", "34020301"}
    counts = {code: (node.channel_count, node.online_count) for code, node in nodes.items()}
    assert counts["34"] == (3, 2)
    assert counts["3402"] == (3, 2)
    assert counts["340203"] == (2, 1)
    assert counts["34020301"] == (1, 1)
    assert counts["11010501"] == (1, 1)
    assert nodes["34"].level == "province" and nodes["3402"].level == "city"
    assert nodes["340203"].level == "county" and nodes["34020301"].level == "unit"
    assert nodes["34"].name == "安徽省"
    assert [child.code for child in nodes["34"].children] == ["3402"]

    await store.delete_device(NVR)  # regions stay, counts drop to zero
    emptied = flatten(await store.region_tree())
    assert emptied["34"].channel_count == 0 and emptied["34"].online_count == 0


async def test_replace_catalog_of_2000_channels(store: RegistryStore) -> None:
    counties = ["340202", "340203", "340207", "340208"]
    channels = [
        channel(n, civil_code=f"{counties[n % 4]}{n % 5 + 1:02d}", online=n % 3 != 0) for n in range(2000)
    ]
    groups = [GroupRecordIn(f"3402000000216{n:07d}", GroupKind.VIRTUAL_ORG, f"Org {n}") for n in range(20)]

    started = time.perf_counter()
    diff = await store.replace_catalog(NVR, channels, groups)
    first_store = time.perf_counter() - started
    assert len(diff.added) == 2020 and not diff.updated and not diff.removed

    device = await store.get_device(NVR)
    assert device is not None and device.channel_count == 2000
    assert (await store.list_channels(device_id=NVR, limit=1)).total == 2000
    online = sum(1 for c in channels if c.online)
    assert (await store.list_channels(online=True, limit=1)).total == online

    nodes = flatten(await store.region_tree())
    assert (nodes["34"].channel_count, nodes["34"].online_count) == (2000, online)
    assert nodes["3402"].channel_count == 2000
    for index, county in enumerate(counties):
        in_county = [c for n, c in enumerate(channels) if n % 4 == index]
        assert nodes[county].channel_count == len(in_county) == 500
        assert nodes[county].online_count == sum(1 for c in in_county if c.online)
        assert len(nodes[county].children) == 5
    assert sum(node.channel_count for code, node in nodes.items() if len(code) == 8) == 2000

    # A second catalog: 100 renamed, 200 gone, 50 new; the rest untouched.
    changed = [replace(c, name=c.name + "!") if n < 100 else c for n, c in enumerate(channels[:1800])]
    changed += [channel(5000 + n) for n in range(50)]
    diff = await store.replace_catalog(NVR, changed, groups[:10])
    assert len(diff.added) == 50
    assert len(diff.updated) == 100
    assert len(diff.removed) == 200 + 10
    device = await store.get_device(NVR)
    assert device is not None and device.channel_count == 1850
    assert flatten(await store.region_tree())["34"].channel_count == 1850
    # Generous: one transaction of bulk statements takes well under a second; row-by-row takes far longer.
    assert first_store < 20


async def test_concurrent_writers_and_readers(store: RegistryStore) -> None:
    """Many transactions at once (several pooled connections): none fails with "database is locked"."""

    async def catalog(device_id: str, offset: int) -> None:
        for round_ in range(5):
            items = [channel(offset + n, name=f"r{round_}") for n in range(50)]
            await store.replace_catalog(device_id, items, [])

    async def presence() -> None:
        for _ in range(20):
            await store.apply_presence([PresenceUpdate(NVR, True, T0), PresenceUpdate(OTHER, True, T0)])

    async def reader() -> None:
        for _ in range(20):
            await store.list_channels(region="3402")
            await store.region_tree()

    await asyncio.gather(catalog(NVR, 0), catalog(OTHER, 1000), presence(), reader(), reader())
    assert (await store.list_channels(limit=1)).total == 100


async def test_list_groups_by_device_and_kind(store: RegistryStore) -> None:
    business = GroupRecordIn("34020000002150000001", GroupKind.BUSINESS_GROUP, "Traffic")
    org = GroupRecordIn("34020000002160000001", GroupKind.VIRTUAL_ORG, "Gate 3", parent_id=business.gb_id,
                        business_group_id=business.gb_id)
    await store.replace_catalog(NVR, [channel(1)], [business, org])
    await store.replace_catalog(OTHER, [], [GroupRecordIn("34020000002160000009", GroupKind.VIRTUAL_ORG, "Yard")])

    everything = await store.list_groups()
    assert everything.total == 3
    orgs = await store.list_groups(device_id=NVR, kind=GroupKind.VIRTUAL_ORG)
    assert [(g.gb_id, g.name, g.parent_id, g.business_group_id) for g in orgs.items] == [
        (org.gb_id, "Gate 3", business.gb_id, business.gb_id)]
    assert (await store.list_groups(offset=2, limit=1)).items[0].name == "Yard"
