"""Device lists, device detail and a device's channels show only devices with a channel the caller may see
(administrators: all), filtered in the query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.registry.records import ChannelRecordIn
from tests.access.platform import DEVICE_ID, AccessPlatform, build_platform
from tests.api.session import assert_problem, bearer

OUTSIDE_DEVICE = "35010000001320000009"  # all its channels in region 3501, outside the department's grant


@pytest.fixture
async def platform(db_engine: AsyncEngine) -> AccessPlatform:
    platform = await build_platform(db_engine)
    now = datetime.now(UTC)
    await platform.registry.upsert_device(OUTSIDE_DEVICE, transport="udp", remote_host="127.0.0.1",
                                          remote_port=5062, registered_at=now, expires_at=now + timedelta(hours=1))
    await platform.registry.replace_catalog(
        OUTSIDE_DEVICE, [ChannelRecordIn(gb_id=f"3501000000131000{n:04d}", civil_code="35010000") for n in range(3)],
        [])
    return platform


async def test_device_list_holds_only_devices_with_a_visible_channel(client: httpx.AsyncClient) -> None:
    expected = {"admin": {DEVICE_ID, OUTSIDE_DEVICE}, "oper": {DEVICE_ID}, "view": {DEVICE_ID},
                "maint": {DEVICE_ID}, "audit": set()}
    for username, devices in expected.items():
        body = (await client.get("/api/v1/devices", headers=await bearer(client, username))).json()
        assert {item["id"] for item in body["items"]} == devices, username
        assert body["total"] == len(devices), username


async def test_device_detail_and_channels_of_an_invisible_device_answer_404(client: httpx.AsyncClient) -> None:
    view = await bearer(client, "view")
    assert_problem(await client.get(f"/api/v1/devices/{OUTSIDE_DEVICE}", headers=view), 404)
    assert_problem(await client.get(f"/api/v1/devices/{OUTSIDE_DEVICE}/channels", headers=view), 404)
    assert (await client.get(f"/api/v1/devices/{DEVICE_ID}", headers=view)).status_code == 200
    admin = await bearer(client, "admin")
    assert (await client.get(f"/api/v1/devices/{OUTSIDE_DEVICE}", headers=admin)).status_code == 200
    channels = (await client.get(f"/api/v1/devices/{OUTSIDE_DEVICE}/channels", headers=admin)).json()
    assert channels["total"] == 3


async def test_a_device_whose_only_visible_channel_is_reclassified_disappears(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    view = await bearer(client, "view")
    visible = [c for c in platform.channels if platform.expected_allowed("view", c)]
    for channel in visible:
        await platform.access.store.set_channel_class(channel.id, channel.channel_class.SENSITIVE)
    assert (await client.get("/api/v1/devices", headers=view)).json()["items"] == []
    assert_problem(await client.get(f"/api/v1/devices/{DEVICE_ID}", headers=view), 404)


async def test_region_filter_counts_only_the_callers_channels(client: httpx.AsyncClient) -> None:
    """DEVICE_ID (3402…) also has channels in 3501: the region filter finds it through them for an administrator,
    not for a caller who sees only its 3402 channels."""
    admin = await bearer(client, "admin")
    by_region = (await client.get("/api/v1/devices", params={"region": "35"}, headers=admin)).json()
    assert {item["id"] for item in by_region["items"]} == {DEVICE_ID, OUTSIDE_DEVICE}
    view = await bearer(client, "view")
    assert (await client.get("/api/v1/devices", params={"region": "35"}, headers=view)).json()["total"] == 0
    in_scope = (await client.get("/api/v1/devices", params={"region": "3402"}, headers=view)).json()
    assert {item["id"] for item in in_scope["items"]} == {DEVICE_ID}
