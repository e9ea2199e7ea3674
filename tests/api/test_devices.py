"""`/api/v1/devices`: listing, filters, one device, deletion, catalog refresh."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from clearsight.api.ports import DeviceOffline, DeviceTimeout
from tests.api.fakes import CHANNEL_GB_ID, DEVICE_ID, OTHER_DEVICE_ID, FakeControl, FakeRegistry
from tests.api.session import assert_problem

DEVICE_FIELDS = {
    "id", "name", "online", "channel_count", "last_keepalive", "manufacturer", "model", "firmware",
    "transport", "remote_host", "remote_port", "registered_at", "expires_at",
}  # fmt: skip


async def test_list_devices_is_a_page(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/devices", params={"offset": 1, "limit": 1}, headers=viewer)

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["offset"], body["limit"]) == (2, 1, 1)
    [device] = body["items"]
    assert set(device) == DEVICE_FIELDS
    assert device["id"] == OTHER_DEVICE_ID


async def test_list_devices_passes_filters_through(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    params: dict[str, str | int] = {
        "offset": 20,
        "limit": 10,
        "online": "true",
        "name": "gate",
        "region": "3402",
    }

    await client.get("/api/v1/devices", params=params, headers=viewer)

    assert registry.calls[-1] == (
        "list_devices",
        {"offset": 20, "limit": 10, "online": True, "name_contains": "gate", "region": "3402"},
    )


async def test_list_devices_defaults(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    await client.get("/api/v1/devices", headers=viewer)

    assert registry.calls[-1] == (
        "list_devices",
        {"offset": 0, "limit": 50, "online": None, "name_contains": None, "region": None},
    )


async def test_list_devices_by_cursor(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    first = (await client.get("/api/v1/devices", params={"limit": 1}, headers=viewer)).json()
    assert [d["id"] for d in first["items"]] == [DEVICE_ID] and first["total"] == 2 and first["next_cursor"]

    params = {"limit": 1, "cursor": first["next_cursor"], "online": "false", "name": "nvr", "region": "3402"}
    response = await client.get("/api/v1/devices", params=params, headers=viewer)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["id"] for d in body["items"]] == [OTHER_DEVICE_ID]
    assert (body["total"], body["offset"], body["next_cursor"]) == (None, 0, None)
    assert registry.calls[-1] == ("list_devices_after", {"after": DEVICE_ID, "limit": 1, "count": False,
                                                         "online": False, "name_contains": "nvr", "region": "3402"})


async def test_list_devices_first_page_without_its_count(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    body = (await client.get("/api/v1/devices", params={"limit": 1, "count": "false"}, headers=viewer)).json()

    assert body["total"] is None and [d["id"] for d in body["items"]] == [DEVICE_ID] and body["next_cursor"]
    assert registry.calls[-1][0] == "list_devices_after" and registry.calls[-1][1]["after"] is None
    counted = (await client.get("/api/v1/devices", params={"cursor": body["next_cursor"], "count": "true"},
                                headers=viewer)).json()
    assert counted["total"] == 2 and [d["id"] for d in counted["items"]] == [OTHER_DEVICE_ID]


async def test_bad_device_cursors_are_422(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    first = (await client.get("/api/v1/devices", params={"limit": 1}, headers=viewer)).json()
    channel_cursor = base64.urlsafe_b64encode(json.dumps([DEVICE_ID, CHANNEL_GB_ID]).encode()).decode()
    for cursor in ("nonsense", "W10", channel_cursor):  # not base64 JSON, [], a channel's (device, GB ID) pair
        problem = assert_problem(await client.get("/api/v1/devices", params={"cursor": cursor}, headers=viewer), 422)
        assert problem["type"].endswith("validation-failed")
    both = await client.get("/api/v1/devices", params={"cursor": first["next_cursor"], "offset": 1}, headers=viewer)
    assert_problem(both, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"online": "maybe"},
        {"region": "340"},
        {"region": "34a2"},
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, viewer: dict[str, str], params: dict[str, str | int]
) -> None:
    response = await client.get("/api/v1/devices", params=params, headers=viewer)

    assert_problem(response, 422)


async def test_device_times_are_utc(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    device = (await client.get(f"/api/v1/devices/{DEVICE_ID}", headers=viewer)).json()

    assert device["last_keepalive"] == "2024-05-01T08:00:00Z"
    assert device["registered_at"] == "2024-05-01T07:00:00Z"  # stored naive, read as UTC
    assert device["expires_at"] is None


async def test_unknown_device_is_404(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/devices/34020000001320000099", headers=viewer)

    body = assert_problem(response, 404)
    assert "34020000001320000099" in str(body["detail"])


async def test_delete_device(
    client: httpx.AsyncClient, admin: dict[str, str], registry: FakeRegistry
) -> None:
    response = await client.delete(f"/api/v1/devices/{DEVICE_ID}", headers=admin)

    assert response.status_code == 204
    assert response.content == b""
    assert DEVICE_ID not in registry.devices
    assert_problem(await client.delete(f"/api/v1/devices/{DEVICE_ID}", headers=admin), 404)


async def test_device_channels(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    response = await client.get(
        f"/api/v1/devices/{DEVICE_ID}/channels", params={"online": "false"}, headers=viewer
    )

    assert response.status_code == 200
    assert response.json()["items"][0]["gb_id"] == "34020000001310000001"
    assert registry.calls[-1] == (
        "list_channels",
        {
            "offset": 0,
            "limit": 50,
            "device_id": DEVICE_ID,
            "online": False,
            "name_contains": None,
            "region": None,
        },
    )


async def test_channels_of_unknown_device_is_404(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/devices/34020000001320000099/channels", headers=viewer)

    assert_problem(response, 404)


async def test_catalog_refresh(
    client: httpx.AsyncClient, operator: dict[str, str], control: FakeControl
) -> None:
    response = await client.post(f"/api/v1/devices/{DEVICE_ID}/catalog/refresh", headers=operator)

    assert response.status_code == 202
    assert response.json() == {"status": "queried", "sn": 42}
    assert control.refreshed == [DEVICE_ID]


@pytest.mark.parametrize(
    ("error", "status", "problem_type"),
    [
        (DeviceOffline(DEVICE_ID), 409, "/problems/device-offline"),
        (DeviceTimeout(DEVICE_ID), 504, "/problems/device-timeout"),
    ],
)
async def test_catalog_refresh_errors(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    control: FakeControl,
    error: Exception,
    status: int,
    problem_type: str,
) -> None:
    control.fail_with = error

    response = await client.post(f"/api/v1/devices/{DEVICE_ID}/catalog/refresh", headers=operator)

    body = assert_problem(response, status)
    assert body["type"] == problem_type
    assert body["device_id"] == DEVICE_ID


async def test_catalog_refresh_of_unknown_device_is_404(
    client: httpx.AsyncClient, operator: dict[str, str], control: FakeControl
) -> None:
    response = await client.post("/api/v1/devices/34020000001320000099/catalog/refresh", headers=operator)

    assert_problem(response, 404)
    assert control.refreshed == []


async def test_device_status_is_asked_live(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get(f"/api/v1/devices/{DEVICE_ID}/status", headers=viewer)

    assert response.status_code == 200
    assert response.json() == {
        "device_id": DEVICE_ID, "online": True, "status_ok": True, "result": "OK", "encode": "ON",
        "record": "OFF", "device_time": "2026-11-25T10:00:00", "alarms": ["34020000001340000001:ONDUTY"],
    }  # fmt: skip


async def test_device_status_of_offline_device_is_409(
    client: httpx.AsyncClient, viewer: dict[str, str], control: FakeControl
) -> None:
    control.fail_with = DeviceOffline(DEVICE_ID)

    assert_problem(await client.get(f"/api/v1/devices/{DEVICE_ID}/status", headers=viewer), 409)


async def test_live_presence_overrides_the_stored_state(
    client: httpx.AsyncClient, viewer: dict[str, str], control: FakeControl
) -> None:
    # Keepalive times reach the database in batches; the API shows what signalling knows now.
    stored = (await client.get(f"/api/v1/devices/{DEVICE_ID}", headers=viewer)).json()
    control.presence[DEVICE_ID] = (not stored["online"], datetime(2026, 11, 25, 9, 0, 1, tzinfo=UTC))

    shown = (await client.get(f"/api/v1/devices/{DEVICE_ID}", headers=viewer)).json()
    listed = (await client.get("/api/v1/devices", headers=viewer)).json()["items"]

    assert shown["online"] is (not stored["online"])
    assert shown["last_keepalive"] == "2026-11-25T09:00:01Z"
    assert next(d for d in listed if d["id"] == DEVICE_ID) == shown


async def test_administrator_sets_a_device_password(
    client: httpx.AsyncClient, admin: dict[str, str], registry: FakeRegistry, control: FakeControl
) -> None:
    response = await client.put(f"/api/v1/devices/{DEVICE_ID}/password", json={"password": "per-device-1"},
                                headers=admin)

    assert response.status_code == 204
    assert ("set_device_password", {"device_id": DEVICE_ID, "password": "per-device-1"}) in registry.calls
    assert control.passwords == {DEVICE_ID: "per-device-1"}  # the next REGISTER is checked against it


async def test_device_password_rules(
    client: httpx.AsyncClient, admin: dict[str, str], operator: dict[str, str]
) -> None:
    url = f"/api/v1/devices/{DEVICE_ID}/password"
    assert_problem(await client.put(url, json={"password": "short"}, headers=admin), 422)
    assert_problem(await client.put(url, json={"password": "per-device-1"}, headers=operator), 403)
    missing = "/api/v1/devices/34020000001320000099/password"
    assert_problem(await client.put(missing, json={"password": "per-device-1"}, headers=admin), 404)
    assert (await client.put(url, json={"password": None}, headers=admin)).status_code == 204
