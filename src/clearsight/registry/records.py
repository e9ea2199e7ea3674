"""Values that go into and come out of the registry store (plain frozen dataclasses, never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")


class Transport(StrEnum):
    """How a device's SIP signalling reaches us."""

    UDP = "udp"
    TCP = "tcp"


class GroupKind(StrEnum):
    """Catalog nodes that group channels (GB/T 28181 type codes 215 and 216)."""

    BUSINESS_GROUP = "business_group"  # type 215
    VIRTUAL_ORG = "virtual_org"  # type 216


class CatalogEventType(StrEnum):
    """`<Event>` of a catalog item in a NOTIFY/MESSAGE (GB/T 28181-2016 A.2.4.7)."""

    ON = "ON"
    OFF = "OFF"
    VLOST = "VLOST"  # video lost: the channel stays as it is
    DEFECT = "DEFECT"  # fault: the channel stays as it is
    ADD = "ADD"
    DEL = "DEL"
    UPDATE = "UPDATE"


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: str
    name: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    transport: str
    remote_host: str
    remote_port: int
    has_password: bool  # a per-device password is set (the password itself stays in the store)
    online: bool
    registered_at: datetime | None
    expires_at: datetime | None
    last_keepalive: datetime | None
    channel_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelRecordIn:
    """A catalog item that is a channel, as the catalog code hands it to the store."""

    gb_id: str
    name: str = ""
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    address: str | None = None
    parental: bool = False
    parent_id: str | None = None
    business_group_id: str | None = None
    secrecy: int = 0
    online: bool = False
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    id: int  # surrogate key: a channel ID is unique only within its device
    device_id: str
    gb_id: str
    name: str
    manufacturer: str | None
    model: str | None
    owner: str | None
    civil_code: str | None
    region_code: str | None  # the civil code's node in the region tree ("34020000" → "3402")
    address: str | None
    parental: bool
    parent_id: str | None
    business_group_id: str | None
    secrecy: int
    online: bool
    longitude: float | None
    latitude: float | None
    ptz_type: int | None
    updated_at: datetime
    channel_class: str = "public"  # public | restricted | sensitive (clearsight.access.policy.ChannelClass)
    owner_department_id: int | None = None


@dataclass(frozen=True, slots=True)
class GroupRecordIn:
    """A catalog item that is a business group (215) or virtual organisation (216)."""

    gb_id: str
    kind: GroupKind
    name: str = ""
    parent_id: str | None = None
    business_group_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A stored business group (215) or virtual organisation (216)."""

    id: int
    device_id: str
    gb_id: str
    kind: GroupKind
    name: str
    parent_id: str | None
    business_group_id: str | None


@dataclass(frozen=True, slots=True)
class CatalogEvent:
    """One item of a catalog change notification; `item` is set for ADD and UPDATE."""

    event: CatalogEventType
    gb_id: str
    item: ChannelRecordIn | GroupRecordIn | None = None


@dataclass(frozen=True, slots=True)
class CatalogDiff:
    """What storing a catalog (or applying catalog events) changed, by item GB ID."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()  # fields changed, including ON/OFF
    removed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()  # items not stored: ID not a GB ID, or an event without an item

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    """A device's (re-)registration: it is online, reachable at this address until `expires_at`."""

    device_id: str
    transport: str
    remote_host: str
    remote_port: int
    registered_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PresenceUpdate:
    """A device's online state; `last_keepalive` None leaves the stored time as it is."""

    device_id: str
    online: bool
    last_keepalive: datetime | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: `total` matches the filter, `items` are those from `offset`."""

    total: int
    offset: int
    limit: int
    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class ChannelKey:
    """A channel's place in the channel list's order (device, then GB ID): where a keyset page resumes."""

    device_id: str
    gb_id: str


@dataclass(frozen=True, slots=True)
class KeySlice(Generic[T, K]):
    """A keyset page of a list: the items after a key (a `ChannelKey` for channels, the ID for devices).
    `total` is None unless counting was asked for; `next_after` is None on the last page."""

    total: int | None
    limit: int
    items: tuple[T, ...]
    next_after: K | None


@dataclass(frozen=True, slots=True)
class RegionNode:
    """A region-tree node with the channels under it (its own and its descendants')."""

    code: str
    name: str
    level: str  # province | city | county | unit
    channel_count: int
    online_count: int
    children: tuple[RegionNode, ...] = ()
