"""In-memory stand-ins for the ports the API is built on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from clearsight.access.policy import ChannelScope
from clearsight.api.ports import LoginThrottled
from clearsight.gb28181.manscdp import AlarmStatus, DeviceStatus
from clearsight.registry.records import ChannelKey, GroupKind, GroupRecord, Page

T = TypeVar("T")
K = TypeVar("K")
DEVICE_ID = "34020000001320000001"
OTHER_DEVICE_ID = "34020000001320000002"
CHANNEL_GB_ID = "34020000001310000001"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True, slots=True)
class FakePage(Generic[T]):
    total: int
    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class FakeSlice(Generic[T, K]):
    total: int | None
    items: tuple[T, ...]
    next_after: K | None


def _after(items: Sequence[T], order: Callable[[T], tuple[str, ...]], after: tuple[str, ...] | None,
           limit: int) -> tuple[tuple[T, ...], T | None]:
    """The first `limit` items after the key `after` in the platform's keyset `order`, and the last of them
    when more follow."""
    ordered = sorted(items, key=order)
    if after is not None:
        ordered = [item for item in ordered if order(item) > after]
    page = tuple(ordered[:limit])
    return page, page[-1] if len(ordered) > limit else None


@dataclass(frozen=True, slots=True)
class FakeDevice:
    id: str = DEVICE_ID
    name: str | None = "Gate camera NVR"
    online: bool = True
    channel_count: int = 1
    last_keepalive: datetime | None = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    manufacturer: str | None = "Hikvision"
    model: str | None = "DS-7608"
    firmware: str | None = "V4.1"
    transport: str = "udp"
    remote_host: str = "192.0.2.10"
    remote_port: int = 5060
    registered_at: datetime | None = datetime(2024, 5, 1, 7, 0)  # naive, as SQLite returns it
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FakeChannel:
    id: int = 1
    gb_id: str = CHANNEL_GB_ID
    device_id: str = DEVICE_ID
    name: str = "Gate"
    online: bool = True
    civil_code: str | None = "340200"
    longitude: float | None = 117.28
    latitude: float | None = 31.86
    ptz_type: int | None = 1
    parent_id: str | None = DEVICE_ID
    business_group_id: str | None = None
    manufacturer: str | None = "Hikvision"
    model: str | None = "DS-2DE"
    address: str | None = "North gate"


@dataclass(frozen=True, slots=True)
class FakeRegion:
    code: str
    name: str
    level: str
    channel_count: int
    online_count: int
    children: tuple[FakeRegion, ...] = ()


@dataclass(frozen=True, slots=True)
class FakeUser:
    id: int
    username: str
    role: str
    is_active: bool = True


class FakeRegistry:
    def __init__(self) -> None:
        self.devices = {
            DEVICE_ID: FakeDevice(),
            OTHER_DEVICE_ID: FakeDevice(id=OTHER_DEVICE_ID, online=False),
        }
        self.channels = {1: FakeChannel()}
        self.groups = [
            GroupRecord(1, DEVICE_ID, "34020000002150000001", GroupKind.BUSINESS_GROUP, "Traffic", None, None),
            GroupRecord(2, DEVICE_ID, "34020000002160000001", GroupKind.VIRTUAL_ORG, "Gate 3",
                        "34020000002150000001", "34020000002150000001"),
        ]
        self.regions = [
            FakeRegion("34", "Anhui", "province", 1, 1, (FakeRegion("3402", "Wuhu", "city", 1, 1),)),
        ]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: Exception | None = None

    def _record(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        if self.fail_with is not None:
            raise self.fail_with

    async def list_devices(
        self, *, offset: int, limit: int, online: bool | None, name_contains: str | None, region: str | None,
        scope: ChannelScope | None = None,  # the app on fakes has no access control: always None
    ) -> FakePage[FakeDevice]:
        self._record(
            "list_devices",
            offset=offset,
            limit=limit,
            online=online,
            name_contains=name_contains,
            region=region,
        )
        devices = sorted(self.devices.values(), key=lambda d: d.id)
        return FakePage(total=len(devices), items=tuple(devices[offset : offset + limit]))

    async def list_devices_after(
        self, after: str | None, *, limit: int, count: bool = False, online: bool | None = None,
        name_contains: str | None = None, region: str | None = None,
        scope: ChannelScope | None = None,  # the app on fakes has no access control: always None
    ) -> FakeSlice[FakeDevice, str]:
        """Unfiltered, like `list_devices`, in the platform's keyset order (device ID)."""
        self._record("list_devices_after", after=after, limit=limit, count=count, online=online,
                     name_contains=name_contains, region=region)
        items, last = _after(list(self.devices.values()), lambda d: (d.id,), (after,) if after is not None else None,
                             limit)
        return FakeSlice(total=len(self.devices) if count else None, items=items,
                         next_after=last.id if last is not None else None)

    async def get_device(self, device_id: str) -> FakeDevice | None:
        self._record("get_device", device_id=device_id)
        return self.devices.get(device_id)

    async def set_device_password(self, device_id: str, password: str | None) -> None:
        self._record("set_device_password", device_id=device_id, password=password)

    async def list_groups(
        self, *, offset: int, limit: int, device_id: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupRecord]:
        self._record("list_groups", offset=offset, limit=limit, device_id=device_id, kind=kind)
        groups = [g for g in self.groups if device_id in (None, g.device_id) and kind in (None, g.kind)]
        return Page(len(groups), offset, limit, tuple(groups[offset:offset + limit]))

    async def delete_device(self, device_id: str) -> bool:
        self._record("delete_device", device_id=device_id)
        return self.devices.pop(device_id, None) is not None

    async def list_channels(
        self,
        *,
        offset: int,
        limit: int,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,  # the app on fakes has no access control: always None
    ) -> FakePage[FakeChannel]:
        self._record(
            "list_channels",
            offset=offset,
            limit=limit,
            device_id=device_id,
            online=online,
            name_contains=name_contains,
            region=region,
        )
        channels = list(self.channels.values())
        return FakePage(total=len(channels), items=tuple(channels[offset : offset + limit]))

    async def list_channels_after(
        self,
        after: ChannelKey | None,
        *,
        limit: int,
        count: bool = False,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,  # the app on fakes has no access control: always None
    ) -> FakeSlice[FakeChannel, ChannelKey]:
        """Unfiltered, like `list_channels`, in the platform's keyset order (device ID, GB ID)."""
        self._record("list_channels_after", after=after, limit=limit, count=count, device_id=device_id,
                     online=online, name_contains=name_contains, region=region)
        items, last = _after(list(self.channels.values()), lambda c: (c.device_id, c.gb_id),
                             (after.device_id, after.gb_id) if after is not None else None, limit)
        return FakeSlice(total=len(self.channels) if count else None, items=items,
                         next_after=ChannelKey(last.device_id, last.gb_id) if last is not None else None)

    async def get_channel(self, channel_pk: int) -> FakeChannel | None:
        self._record("get_channel", channel_pk=channel_pk)
        return self.channels.get(channel_pk)

    async def region_tree(self, scope: ChannelScope | None = None) -> Sequence[FakeRegion]:
        self._record("region_tree")
        return self.regions


class FakeUsers:
    def __init__(self) -> None:
        self.users = {
            "admin": FakeUser(1, "admin", "administrator"),
            "oper": FakeUser(2, "oper", "operator"),
            "view": FakeUser(3, "view", "viewer"),
            "gone": FakeUser(4, "gone", "operator", is_active=False),
        }

    async def authenticate(self, username: str, password: str) -> FakeUser | None:
        user = self.users.get(username)
        return user if user is not None and password == PASSWORD else None

    async def change_password(self, user_id: int, new_password: str) -> FakeUser | None:
        return next((user for user in self.users.values() if user.id == user_id), None)

    async def set_active(self, user_id: int, active: bool) -> FakeUser | None:
        for name, user in self.users.items():
            if user.id == user_id:
                self.users[name] = replace(user, is_active=active)
                return self.users[name]
        return None


class FakeControl:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.refreshed: list[str] = []
        self.presence: dict[str, tuple[bool, datetime | None]] = {}
        self.passwords: dict[str, str | None] = {}
        self.fail_with: Exception | None = None
        self.healthy = True

    async def send_ptz(self, device_id: str, channel_gb_id: str, ptz_hex: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((device_id, channel_gb_id, ptz_hex))

    async def refresh_catalog(self, device_id: str) -> int:
        if self.fail_with is not None:
            raise self.fail_with
        self.refreshed.append(device_id)
        return 42

    def set_device_password(self, device_id: str, password: str | None) -> None:
        self.passwords[device_id] = password

    def live_presence(self, device_id: str) -> tuple[bool, datetime | None] | None:
        return self.presence.get(device_id)

    async def query_status(self, device_id: str) -> DeviceStatus:
        if self.fail_with is not None:
            raise self.fail_with
        return DeviceStatus(device_id=device_id, sn=7, result="OK", online="ONLINE", status="OK", encode="ON",
                            record="OFF", device_time="2026-11-25T10:00:00",
                            alarms=[AlarmStatus("34020000001340000001", "ONDUTY")])

    def sip_healthy(self) -> bool:
        return self.healthy


class FakeDatabase:
    def __init__(self) -> None:
        self.up = True
        self.error: Exception | None = None
        self.delay = 0.0

    async def ping(self) -> bool:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.up


@dataclass
class FakeLoginGuard:
    """Refuses a user name after `limit` failures; records every attempt."""

    limit: int = 2
    failures: dict[str, int] = field(default_factory=dict)
    attempts: list[tuple[str, str | None, bool]] = field(default_factory=list)

    async def check(self, username: str, client: str | None) -> None:
        if self.failures.get(username, 0) >= self.limit:
            raise LoginThrottled(username, retry_after=30)

    async def record(self, username: str, client: str | None, *, success: bool) -> None:
        self.attempts.append((username, client, success))
        if not success:
            self.failures[username] = self.failures.get(username, 0) + 1
