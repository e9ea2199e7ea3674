"""RegistryStore: devices, presence, listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearsight.registry.errors import InvalidRegion, UnknownDevice
from clearsight.registry.records import ChannelRecordIn, PresenceUpdate, RegistrationRecord
from clearsight.registry.store import RegistryStore

T0 = datetime(2026, 11, 25, 2, 0, 0, tzinfo=UTC)
DEVICE = "34020000001320000001"


async def register(
    store: RegistryStore,
    device_id: str = DEVICE,
    *,
    at: datetime = T0,
    name: str | None = None,
    transport: str = "udp",
    remote_host: str = "192.0.2.10",
    remote_port: int = 5060,
) -> None:
    await store.upsert_device(
        device_id,
        name=name,
        transport=transport,
        remote_host=remote_host,
        remote_port=remote_port,
        registered_at=at,
        expires_at=at + timedelta(hours=1),
    )


async def test_upsert_and_get_device(registry_store: RegistryStore) -> None:
    await register(registry_store, name="Gate NVR")
    device = await registry_store.get_device(DEVICE)
    assert device is not None
    assert device.id == DEVICE
    assert device.name == "Gate NVR"
    assert device.online
    assert (device.transport, device.remote_host, device.remote_port) == ("udp", "192.0.2.10", 5060)
    assert device.registered_at == T0
    assert device.registered_at.tzinfo is not None
    assert device.expires_at == T0 + timedelta(hours=1)
    assert device.last_keepalive == T0
    assert device.channel_count == 0
    assert not device.has_password
    assert await registry_store.get_device("34020000001320000999") is None


async def test_reregistration_updates_address_and_keeps_name(registry_store: RegistryStore) -> None:
    await register(registry_store, name="Gate NVR")
    later = T0 + timedelta(minutes=30)
    await register(registry_store, at=later, transport="TCP", remote_host="192.0.2.11", remote_port=5080)
    device = await registry_store.get_device(DEVICE)
    assert device is not None
    assert device.name == "Gate NVR"
    assert (device.transport, device.remote_host, device.remote_port) == ("tcp", "192.0.2.11", 5080)
    assert device.registered_at == later
    assert device.created_at <= device.updated_at


async def test_upsert_device_rejects_bad_input(registry_store: RegistryStore) -> None:
    with pytest.raises(ValueError):
        await register(registry_store, transport="sctp")
    with pytest.raises(ValueError):
        await register(registry_store, "3" * 21)


async def test_naive_datetimes_are_refused(registry_store: RegistryStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await register(registry_store, at=datetime(2026, 11, 25, 10, 0, 0))


async def test_device_password(registry_store: RegistryStore) -> None:
    await register(registry_store)
    assert await registry_store.device_password(DEVICE) is None
    assert await registry_store.device_password("34020000001320000999") is None
    await registry_store.set_device_password(DEVICE, "s3cret-pw")
    assert await registry_store.device_password(DEVICE) == "s3cret-pw"
    assert await registry_store.device_passwords() == {DEVICE: "s3cret-pw"}
    device = await registry_store.get_device(DEVICE)
    assert device is not None and device.has_password
    with pytest.raises(UnknownDevice):
        await registry_store.set_device_password("34020000001320000999", "x")


async def test_update_device_info(registry_store: RegistryStore) -> None:
    await register(registry_store)
    await registry_store.update_device_info(DEVICE, "Gate", "Acme", "NVR-16", "V5.1")
    device = await registry_store.get_device(DEVICE)
    assert device is not None
    assert (device.name, device.manufacturer, device.model, device.firmware) == (
        "Gate",
        "Acme",
        "NVR-16",
        "V5.1",
    )
    with pytest.raises(UnknownDevice):
        await registry_store.update_device_info("34020000001320000999", "x", None, None, None)


async def test_apply_presence_batch(registry_store: RegistryStore) -> None:
    ids = [f"3402000000132000{n:04d}" for n in range(1, 6)]
    for device_id in ids:
        await register(registry_store, device_id)
    later = T0 + timedelta(minutes=5)
    await registry_store.apply_presence(
        [
            PresenceUpdate(ids[0], online=False, last_keepalive=None),
            PresenceUpdate(ids[1], online=True, last_keepalive=later),
            PresenceUpdate("34020000001320009999", online=True, last_keepalive=later),  # unknown: skipped
        ]
    )
    first, second = await registry_store.get_device(ids[0]), await registry_store.get_device(ids[1])
    assert first is not None and second is not None
    assert not first.online
    assert first.last_keepalive == T0  # None keeps the stored time
    assert second.online and second.last_keepalive == later
    await registry_store.apply_presence([])


async def test_delete_device_cascades(registry_store: RegistryStore) -> None:
    await register(registry_store)
    await registry_store.replace_catalog(DEVICE, [ChannelRecordIn("34020000001310000001", "cam")], [])
    assert await registry_store.delete_device(DEVICE)
    assert not await registry_store.delete_device(DEVICE)
    assert await registry_store.get_device(DEVICE) is None
    assert (await registry_store.list_channels()).total == 0


async def test_list_devices_filters_and_pages(registry_store: RegistryStore) -> None:
    for n in range(1, 26):
        await register(registry_store, f"3402000000132000{n:04d}", name=f"Camera {n:02d}")
    await register(registry_store, "11010000001320000001", name="Beijing 50%_off")
    await registry_store.apply_presence([PresenceUpdate("34020000001320000003", False, None)])

    page = await registry_store.list_devices(offset=0, limit=10)
    assert page.total == 26 and len(page.items) == 10
    assert page.items[0].id == "11010000001320000001"
    rest = await registry_store.list_devices(offset=20, limit=10)
    assert [d.id for d in rest.items][-1] == "34020000001320000025" and len(rest.items) == 6

    offline = await registry_store.list_devices(online=False)
    assert [d.id for d in offline.items] == ["34020000001320000003"] and offline.total == 1
    assert (await registry_store.list_devices(online=True)).total == 25

    named = await registry_store.list_devices(name_contains="camera 1")
    assert named.total == 10  # Camera 10..19
    assert (await registry_store.list_devices(name_contains="50%_")).total == 1  # LIKE wildcards escaped
    assert (await registry_store.list_devices(name_contains="0%_x")).total == 0

    assert (await registry_store.list_devices(region="11")).total == 1
    assert (await registry_store.list_devices(region="3402")).total == 25
    assert (await registry_store.list_devices(region="34020000")).total == 25  # trailing 00 = same node


async def test_list_devices_region_through_channels(registry_store: RegistryStore) -> None:
    await register(registry_store)  # a device of 3402 …
    await registry_store.replace_catalog(
        DEVICE, [ChannelRecordIn("34020000001310000001", "cam", civil_code="340203")], []
    )
    assert (await registry_store.list_devices(region="340203")).total == 1  # … with a channel in 340203
    assert (await registry_store.list_devices(region="340204")).total == 0
    assert (await registry_store.list_devices(region="3403")).total == 0


async def test_list_rejects_bad_paging_and_regions(registry_store: RegistryStore) -> None:
    with pytest.raises(ValueError):
        await registry_store.list_devices(offset=-1)
    with pytest.raises(ValueError):
        await registry_store.list_devices(limit=0)
    with pytest.raises(ValueError):
        await registry_store.list_channels(limit=100_000)
    for region in ("3", "34x2", "00", "340"):
        with pytest.raises(InvalidRegion):
            await registry_store.list_devices(region=region)
        with pytest.raises(InvalidRegion):
            await registry_store.list_channels(region=region)


async def test_record_registrations_in_bulk(registry_store: RegistryStore) -> None:
    await register(registry_store, name="Gate NVR", remote_port=5000)
    later = T0 + timedelta(minutes=5)
    ids = [f"340200000013200{n:05d}" for n in range(1, 1202)]  # more than two batches
    await registry_store.record_registrations([
        RegistrationRecord(device_id, "TCP", "192.0.2.20", 6000 + i % 1000, later, later + timedelta(hours=1))
        for i, device_id in enumerate(ids)])
    page = await registry_store.list_devices(offset=0, limit=10, online=True)
    assert page.total == len(ids)
    existing = await registry_store.get_device(DEVICE)
    assert existing is not None
    assert existing.name == "Gate NVR"  # a re-registration keeps what DeviceInfo told us
    assert (existing.transport, existing.remote_port, existing.registered_at) == ("tcp", 6000, later)
    last = await registry_store.get_device(ids[-1])
    assert last is not None and last.online and last.expires_at == later + timedelta(hours=1)
