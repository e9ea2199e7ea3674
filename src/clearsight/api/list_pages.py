"""Channel and device lists as the API pages them: by `offset` (with `total`) or by `cursor` (each page as cheap
as the first; `total` only with `count=true`; the first page may skip its count with `count=false`).
`GET /channels` and `GET /devices/{id}/channels` answer with `channel_page`, `GET /devices` with `device_page`.

A cursor is the last item's key in the list's order — a channel's (device ID, GB ID), a device's ID — as
URL-safe base64 of a JSON list of those strings. It holds no filter: the next request repeats them. Anything
that does not decode to a key of that list is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from clearsight.access.policy import ChannelScope
from clearsight.api.deps import ApiServices
from clearsight.api.ports import ChannelRecord, DeviceRecord, KeySlice, Page
from clearsight.api.problems import VALIDATION_FAILED, Problem
from clearsight.api.schemas import ChannelOut, ChannelPage, CursorPageOut, DeviceOut, DevicePage
from clearsight.registry.records import ChannelKey

MAX_KEY_PART = 64  # characters of a device or GB ID in a cursor (the columns hold 20)

R = TypeVar("R")
K = TypeVar("K")
PageT = TypeVar("PageT", bound=CursorPageOut[Any])


@dataclass(frozen=True, slots=True)
class ListKey(Generic[R, K]):
    """How a list's cursor names a place in its order: the key's strings, and the key of a listed record."""

    parts: int
    to_parts: Callable[[K], tuple[str, ...]]
    from_parts: Callable[[tuple[str, ...]], K]
    of: Callable[[R], K]

    def encode(self, key: K) -> str:
        raw = json.dumps(self.to_parts(key), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> K:
        try:
            value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            value = None
        if not (isinstance(value, list) and len(value) == self.parts and all(_key_part(v) for v in value)):
            raise Problem(422, "cursor is not one this API handed out", type_=VALIDATION_FAILED,
                          title="Request validation failed",
                          extensions={"errors": [{"loc": ["query", "cursor"], "msg": "invalid cursor",
                                                  "type": "invalid_cursor"}]})
        return self.from_parts(tuple(value))


CHANNEL_KEY: ListKey[ChannelRecord, ChannelKey] = ListKey(
    2, lambda key: (key.device_id, key.gb_id), lambda parts: ChannelKey(*parts),
    lambda channel: ChannelKey(channel.device_id, channel.gb_id))
DEVICE_KEY: ListKey[DeviceRecord, str] = ListKey(1, lambda key: (key,), lambda parts: parts[0],
                                                 lambda device: device.id)


def _key_part(value: object) -> bool:
    """A device or GB ID as a cursor may hold it: a string of at most MAX_KEY_PART characters, valid UTF-8."""
    if not isinstance(value, str) or len(value) > MAX_KEY_PART:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in the JSON)
        return False
    return True


async def channel_page(services: ApiServices, *, offset: int, limit: int, cursor: str | None, count: bool | None,
                       device_id: str | None, online: bool | None, name: str | None, region: str | None,
                       scope: ChannelScope | None) -> ChannelPage:
    """The channels matching the filters that `scope` (the caller's, None: all) admits."""
    async def by_key(after: ChannelKey | None, counted: bool) -> KeySlice[ChannelRecord, ChannelKey]:
        return await services.registry.list_channels_after(
            after, limit=limit, count=counted, device_id=device_id, online=online, name_contains=name,
            region=region, scope=scope)

    async def by_offset() -> Page[ChannelRecord]:
        return await services.registry.list_channels(
            offset=offset, limit=limit, device_id=device_id, online=online, name_contains=name, region=region,
            scope=scope)

    return await _page(ChannelPage, CHANNEL_KEY, ChannelOut.model_validate, by_key, by_offset, offset=offset,
                       limit=limit, cursor=cursor, count=count)


async def device_page(services: ApiServices, *, offset: int, limit: int, cursor: str | None, count: bool | None,
                      online: bool | None, name: str | None, region: str | None,
                      scope: ChannelScope | None) -> DevicePage:
    """The devices matching the filters with a channel `scope` (the caller's, None: all) admits."""
    async def by_key(after: str | None, counted: bool) -> KeySlice[DeviceRecord, str]:
        return await services.registry.list_devices_after(
            after, limit=limit, count=counted, online=online, name_contains=name, region=region, scope=scope)

    async def by_offset() -> Page[DeviceRecord]:
        return await services.registry.list_devices(
            offset=offset, limit=limit, online=online, name_contains=name, region=region, scope=scope)

    return await _page(DevicePage, DEVICE_KEY, lambda device: device_out(services, device), by_key, by_offset,
                       offset=offset, limit=limit, cursor=cursor, count=count)


def device_out(services: ApiServices, device: DeviceRecord) -> DeviceOut:
    """A device as the API shows it: online state and last keepalive from memory when the platform has them."""
    out = DeviceOut.model_validate(device)
    live = services.control.live_presence(device.id)
    if live is None:
        return out
    online, last_keepalive = live
    return out.model_copy(update={"online": online, "last_keepalive": last_keepalive or out.last_keepalive})


async def _page(page_type: type[PageT], key: ListKey[R, K], item_out: Callable[[R], Any],
                by_key: Callable[[K | None, bool], Awaitable[KeySlice[R, K]]],
                by_offset: Callable[[], Awaitable[Page[R]]], *, offset: int, limit: int, cursor: str | None,
                count: bool | None) -> PageT:
    """A page by cursor (or the first page without a count), else by offset with `total`; either way with the
    `next_cursor` after its last item while there are more."""
    if cursor is not None and offset:
        raise Problem(422, "give either offset or cursor, not both", type_=VALIDATION_FAILED,
                      title="Request validation failed")
    if cursor is not None or (offset == 0 and count is False):
        keyed = await by_key(key.decode(cursor) if cursor is not None else None, bool(count))
        return page_type(total=keyed.total, offset=0, limit=limit, items=_out(keyed.items, item_out),
                         next_cursor=key.encode(keyed.next_after) if keyed.next_after is not None else None)
    counted = await by_offset()
    more = bool(counted.items) and offset + len(counted.items) < counted.total
    return page_type(total=counted.total, offset=offset, limit=limit, items=_out(counted.items, item_out),
                     next_cursor=key.encode(key.of(counted.items[-1])) if more else None)


def _out(items: Sequence[R], item_out: Callable[[R], Any]) -> list[Any]:
    return [item_out(item) for item in items]
