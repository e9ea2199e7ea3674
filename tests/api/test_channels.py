"""`/api/v1/channels`: listing, one channel, PTZ control."""

from __future__ import annotations

import httpx
import pytest

from clearsight.api.ports import DeviceOffline, DeviceRejected, DeviceTimeout
from tests.api.fakes import CHANNEL_GB_ID, DEVICE_ID, FakeControl, FakeRegistry
from tests.api.session import assert_problem

CHANNEL_FIELDS = {
    "id", "gb_id", "device_id", "name", "online", "civil_code", "longitude", "latitude", "ptz_type",
    "parent_id", "business_group_id", "manufacturer", "model", "address", "channel_class",
}  # fmt: skip
PTZ = "/api/v1/channels/1/ptz"


async def test_list_channels(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    params: dict[str, str | int] = {
        "offset": 0,
        "limit": 5,
        "device_id": DEVICE_ID,
        "online": "true",
        "name": "Ga",
        "region": "34",
    }

    response = await client.get("/api/v1/channels", params=params, headers=viewer)

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["offset"], body["limit"]) == (1, 0, 5)
    assert set(body["items"][0]) == CHANNEL_FIELDS
    assert registry.calls[-1] == (
        "list_channels",
        {
            "offset": 0,
            "limit": 5,
            "device_id": DEVICE_ID,
            "online": True,
            "name_contains": "Ga",
            "region": "34",
        },
    )


async def test_get_channel(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/channels/1", headers=viewer)

    assert response.status_code == 200
    assert response.json()["gb_id"] == CHANNEL_GB_ID
    assert response.json()["longitude"] == pytest.approx(117.28)


@pytest.mark.parametrize("path", ["/api/v1/channels/7", "/api/v1/channels/7/ptz"])
async def test_unknown_channel_is_404(client: httpx.AsyncClient, operator: dict[str, str], path: str) -> None:
    if path.endswith("/ptz"):
        response = await client.post(path, json={"action": "stop"}, headers=operator)
    else:
        response = await client.get(path, headers=operator)

    assert_problem(response, 404)


@pytest.mark.parametrize("channel", ["0", "abc", str(2**63)])
async def test_malformed_channel_id_is_422(
    client: httpx.AsyncClient, viewer: dict[str, str], channel: str
) -> None:
    assert_problem(await client.get(f"/api/v1/channels/{channel}", headers=viewer), 422)


@pytest.mark.parametrize(
    ("body", "expected_hex"),
    [
        ({"action": "move", "pan": 1}, "A50F010180000036"),  # right at the default speed 0x80
        ({"action": "move", "pan": 1, "speed": 255}, "A50F0101FF0000B5"),
        ({"action": "stop"}, "A50F0100000000B5"),
        ({"action": "preset_call", "preset": 5}, "A50F01820005003C"),
        # up + zoom out, full speeds; pan does not move so its speed is 0
        ({"action": "move", "tilt": 1, "zoom": -1, "speed": 255, "zoom_speed": 15}, "A50F012800FFF0CC"),
        ({"action": "preset_set", "preset": 1}, "A50F018100010037"),
        ({"action": "preset_delete", "preset": 255}, "A50F018300FF0037"),
    ],
)
async def test_ptz_sends_command(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    control: FakeControl,
    body: dict[str, object],
    expected_hex: str,
) -> None:
    response = await client.post(PTZ, json=body, headers=operator)

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "sent"}
    assert control.sent == [(DEVICE_ID, CHANNEL_GB_ID, expected_hex)]


async def test_administrator_may_control_ptz(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.post(PTZ, json={"action": "stop"}, headers=admin)).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        {"action": "preset_call"},  # preset required
        {"action": "preset_call", "preset": 0},
        {"action": "preset_set", "preset": 256},
        {"action": "move"},  # no axis
        {"action": "move", "pan": 0, "tilt": 0, "zoom": 0},
        {"action": "move", "pan": 2},
        {"action": "move", "pan": 1, "speed": 256},
        {"action": "move", "zoom": 1, "zoom_speed": 16},
        {"action": "move", "pan": 1, "preset": 3},  # preset does not belong to a move
        {"action": "stop", "pan": 1},
        {"action": "spin"},
        {},
    ],
)
async def test_invalid_ptz_body_is_422(
    client: httpx.AsyncClient, operator: dict[str, str], control: FakeControl, body: dict[str, object]
) -> None:
    response = await client.post(PTZ, json=body, headers=operator)

    problem = assert_problem(response, 422)
    assert problem["errors"]
    assert control.sent == []


async def test_malformed_json_is_422(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    response = await client.post(
        PTZ, content=b"{not json", headers={**operator, "Content-Type": "application/json"}
    )

    assert_problem(response, 422)


@pytest.mark.parametrize(
    ("error", "status", "problem_type"),
    [
        (DeviceOffline(DEVICE_ID), 409, "/problems/device-offline"),
        (DeviceTimeout(DEVICE_ID, "DeviceControl"), 504, "/problems/device-timeout"),
        (DeviceRejected(DEVICE_ID, 488, "Not Acceptable Here"), 502, "/problems/device-rejected"),
    ],
)
async def test_ptz_device_errors(
    client: httpx.AsyncClient,
    operator: dict[str, str],
    control: FakeControl,
    error: Exception,
    status: int,
    problem_type: str,
) -> None:
    control.fail_with = error

    response = await client.post(PTZ, json={"action": "stop"}, headers=operator)

    body = assert_problem(response, status)
    assert body["type"] == problem_type
    assert body["device_id"] == DEVICE_ID
