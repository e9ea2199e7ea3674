"""The authorization matrix of device routes, generated from the app's routes: every route naming a device ×
every role × a device inside, across and outside the granted scope. A device route without a `DevicePermission`
check fails here, unless only administrators may call it.

A device is reached through its channels (docs/access.md): one the caller sees a channel of is visible (else 404
as an unknown device); an action on the device needs that action on every one of its channels (else 403).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import Action, ChannelClass
from clearsight.access.users import Role
from clearsight.api.device_access import DevicePermission
from clearsight.gb28181.manscdp_device import AlarmStatus, DeviceStatus
from clearsight.registry.records import ChannelRecordIn
from tests.access.app_routes import ROUTES, dependency_calls, roles_of
from tests.access.platform import DEVICE_ID, IN_DEPARTMENT, USERS, AccessPlatform, OfflineControl, build_platform
from tests.api.session import assert_problem, bearer

DEVICE_PARAM = "{device_id}"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
INSIDE_DEVICE = "34020000001320000002"  # every channel in region 3402 and public: all of it granted
OUTSIDE_DEVICE = "35010000001320000009"  # every channel in region 3501: none of it granted
# DEVICE_ID has channels of every class in 3402 and in 3501: visible, but not every channel is granted.
SPANS: dict[str, tuple[bool, bool]] = {  # device -> (a channel of it granted, every channel of it granted)
    INSIDE_DEVICE: (True, True), DEVICE_ID: (True, False), OUTSIDE_DEVICE: (False, False)}
UNKNOWN_ALARM_INPUT = "34020000001340000001"  # an alarm input not in the device's catalog


def _checks(route: APIRoute) -> list[DevicePermission]:
    return [c for c in dependency_calls(route.dependant) if isinstance(c, DevicePermission)]


DEVICE_ROUTES = [(m, p, r) for m, p, r in ROUTES if DEVICE_PARAM in p]


class AlarmingControl(OfflineControl):
    """Devices answer DeviceStatus with an alarm input per channel of DEVICE_ID, and one not in its catalog."""

    def __init__(self) -> None:
        super().__init__()
        self.alarm_inputs: list[str] = []

    async def query_status(self, device_id: str) -> DeviceStatus:
        status = await super().query_status(device_id)
        return replace(status, alarms=[AlarmStatus(gb_id, "ONDUTY")
                                       for gb_id in [*self.alarm_inputs, UNKNOWN_ALARM_INPUT]])


@pytest.fixture
async def platform(db_engine: AsyncEngine) -> AccessPlatform:
    control = AlarmingControl()
    platform = await build_platform(db_engine, control)
    now = datetime.now(UTC)
    for device_id, civil_code in ((INSIDE_DEVICE, "34020000"), (OUTSIDE_DEVICE, "35010000")):
        await platform.registry.upsert_device(device_id, transport="udp", remote_host="127.0.0.1", remote_port=5062,
                                              registered_at=now, expires_at=now + timedelta(hours=1))
        channels = [ChannelRecordIn(gb_id=f"{device_id[:10]}131000{n:04d}", civil_code=civil_code) for n in range(3)]
        await platform.registry.replace_catalog(device_id, channels, [])
    page = await platform.registry.list_channels(offset=0, limit=100, device_id=DEVICE_ID)
    control.alarm_inputs = [channel.gb_id for channel in page.items]
    return platform


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in DEVICE_ROUTES],
                         ids=[f"{m} {p}" for m, p, _ in DEVICE_ROUTES])
def test_every_device_route_is_checked(method: str, path: str) -> None:
    route = next(r for m, p, r in DEVICE_ROUTES if (m, p) == (method, path))
    assert route is not None
    assert _checks(route) or roles_of(route) == frozenset({Role.ADMINISTRATOR.value}), (
        f"{method} {path} names a device but has no DevicePermission dependency and is not for administrators only")


def _expected(username: str, device_id: str, method: str, route: APIRoute) -> int | None:
    """The refusal the caller gets (403, 404), or None when admitted."""
    roles = roles_of(route)
    if (roles is not None and str(USERS[username]) not in roles) or (USERS[username] is Role.AUDITOR
                                                                       and method not in SAFE):
        return 403
    if USERS[username] is Role.ADMINISTRATOR:
        return None
    some, every = SPANS[device_id] if username in IN_DEPARTMENT else (False, False)
    if not some:
        return 404
    return 403 if any(check.action is not None for check in _checks(route)) and not every else None


async def test_matrix_of_device_routes(client: httpx.AsyncClient) -> None:
    """Each device route with a DevicePermission × role × device: refused exactly as docs/access.md says."""
    headers = {name: await bearer(client, name) for name in USERS}
    mismatches: list[str] = []
    checked = 0
    for method, path, route in DEVICE_ROUTES:
        assert route is not None
        if not _checks(route):
            continue  # administrators only (test_every_device_route_is_checked)
        for username in USERS:
            for device_id in SPANS:
                expected = _expected(username, device_id, method, route)
                url = path.replace(DEVICE_PARAM, device_id)
                response = await client.request(method, url, headers=headers[username])
                checked += 1
                got = response.status_code if response.status_code in (403, 404) else None
                if got != expected or response.status_code >= 500:
                    mismatches.append(f"{method} {path} as {username} on {device_id}: {response.status_code} "
                                      f"{response.text[:120]} (expected {expected or 'admitted'})")
    assert mismatches == []
    assert checked >= 4 * len(USERS) * len(SPANS)  # detail, channels, status, catalog refresh at least


async def test_catalog_refresh_refusal_names_the_action_and_the_device(client: httpx.AsyncClient) -> None:
    refused = await client.post(f"/api/v1/devices/{DEVICE_ID}/catalog/refresh", headers=await bearer(client, "oper"))

    body = assert_problem(refused, 403)
    assert body["type"] == "/problems/access-denied"
    assert body["action"] == Action.MANAGE.value and body["device_id"] == DEVICE_ID


async def test_status_leaves_out_alarm_inputs_hidden_from_the_caller(platform: AccessPlatform,
                                                                     client: httpx.AsyncClient) -> None:
    page = await platform.registry.list_channels(offset=0, limit=100, device_id=DEVICE_ID)
    visible = {c.gb_id for c in page.items if c.civil_code == "34020000" and c.channel_class != ChannelClass.SENSITIVE}

    for username, expected in (("view", visible | {UNKNOWN_ALARM_INPUT}),
                               ("admin", {c.gb_id for c in page.items} | {UNKNOWN_ALARM_INPUT})):
        status = await client.get(f"/api/v1/devices/{DEVICE_ID}/status", headers=await bearer(client, username))
        assert status.status_code == 200, status.text
        assert {alarm.split(":")[0] for alarm in status.json()["alarms"]} == expected, username
    assert len(visible) == 2
