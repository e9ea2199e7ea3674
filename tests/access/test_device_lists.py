"""Device lists, device detail and a device's channels show only devices with a channel the caller may see
(administrators: all), filtered in the query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import ChannelClass
from clearsight.registry.records import ChannelRecordIn
from tests.access.platform import DEVICE_ID, IN_SCOPE_CIVIL_CODE, AccessPlatform, build_platform
from tests.api.session import assert_problem, bearer

OUTSIDE_DEVICE = "35010000001320000009"  # all its channels in region 3501, outside the department's grant
HIDDEN_DEVICE = "34020000001320000005"  # in the granted region, but its channels' class is above the grant's
LATER_DEVICE = "99000000001320000003"  # its channels in the granted region: listed after the hidden ones


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


async def _walk(client: httpx.AsyncClient, headers: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Every page of `GET /devices` by cursor, from a first page without its count."""
    pages = [(await client.get("/api/v1/devices", params={"limit": limit, "count": "false"}, headers=headers)).json()]
    while pages[-1]["next_cursor"] is not None:
        response = await client.get("/api/v1/devices", params={"limit": limit, "cursor": pages[-1]["next_cursor"]},
                                    headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


async def test_device_list_holds_only_devices_with_a_visible_channel(platform: AccessPlatform,
                                                                     client: httpx.AsyncClient) -> None:
    """By offset and page by page by cursor: the devices the caller sees no channel of are left out in the query,
    so every cursor page but the last is full, and walking them yields the offset listing."""
    now = datetime.now(UTC)
    for device_id in (HIDDEN_DEVICE, LATER_DEVICE):  # both with channels in the granted region
        await platform.registry.upsert_device(device_id, transport="udp", remote_host="127.0.0.1", remote_port=5063,
                                              registered_at=now, expires_at=now + timedelta(hours=1))
        await platform.registry.replace_catalog(
            device_id, [ChannelRecordIn(gb_id=f"{device_id[:10]}131000{n:04d}", civil_code=IN_SCOPE_CIVIL_CODE)
                        for n in range(2)], [])
    hidden = await platform.registry.list_channels(offset=0, limit=10, device_id=HIDDEN_DEVICE)
    for channel in hidden.items:  # above the department's grant
        await platform.access.store.set_channel_class(channel.id, ChannelClass.SENSITIVE)
    everyone = {DEVICE_ID, HIDDEN_DEVICE, OUTSIDE_DEVICE, LATER_DEVICE}
    expected = {"admin": everyone, "oper": {DEVICE_ID, LATER_DEVICE}, "view": {DEVICE_ID, LATER_DEVICE},
                "maint": {DEVICE_ID, LATER_DEVICE}, "audit": set()}
    for username, devices in expected.items():
        headers = await bearer(client, username)
        body = (await client.get("/api/v1/devices", headers=headers)).json()
        assert {item["id"] for item in body["items"]} == devices, username
        assert body["total"] == len(devices), username
        for limit in (1, 2, 3):
            pages = await _walk(client, headers, limit)
            assert [d["id"] for page in pages for d in page["items"]] == [d["id"] for d in body["items"]], username
            assert all(len(page["items"]) == limit for page in pages[:-1]), (username, limit)
            assert all(page["total"] is None for page in pages), username


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
