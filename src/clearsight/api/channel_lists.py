"""Channel lists as the API pages them: by `offset` (with `total`) or by `cursor` (each page as cheap as the
first; `total` only with `count=true`; the first page may skip its count with `count=false`). Both
`GET /channels` and `GET /devices/{id}/channels` answer here.

A cursor is the last channel's (device ID, GB ID) — the list's order — as URL-safe base64 of a JSON pair.
It holds no filter: the next request repeats them. Anything that does not decode is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json

from clearsight.access.policy import ChannelScope
from clearsight.api.deps import ApiServices
from clearsight.api.problems import VALIDATION_FAILED, Problem
from clearsight.api.schemas import ChannelOut, ChannelPage
from clearsight.registry.records import ChannelKey

MAX_KEY_PART = 64  # characters of a device or GB ID in a cursor (the columns hold 20)


def encode_cursor(key: ChannelKey) -> str:
    raw = json.dumps([key.device_id, key.gb_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> ChannelKey:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(_key_part(v) for v in value)):
        raise Problem(422, "cursor is not one this API handed out", type_=VALIDATION_FAILED,
                      title="Request validation failed",
                      extensions={"errors": [{"loc": ["query", "cursor"], "msg": "invalid cursor",
                                              "type": "invalid_cursor"}]})
    return ChannelKey(value[0], value[1])


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
    """A page by cursor (or the first page without a count), else by offset with `total`; the channels
    matching the filters that `scope` (the caller's, None: all) admits."""
    if cursor is not None and offset:
        raise Problem(422, "give either offset or cursor, not both", type_=VALIDATION_FAILED,
                      title="Request validation failed")
    if cursor is not None or (offset == 0 and count is False):
        after = decode_cursor(cursor) if cursor is not None else None
        page = await services.registry.list_channels_after(
            after, limit=limit, count=bool(count), device_id=device_id, online=online, name_contains=name,
            region=region, scope=scope)
        return ChannelPage(total=page.total, offset=0, limit=limit,
                           items=[ChannelOut.model_validate(c) for c in page.items],
                           next_cursor=encode_cursor(page.next_after) if page.next_after else None)
    counted = await services.registry.list_channels(
        offset=offset, limit=limit, device_id=device_id, online=online, name_contains=name, region=region,
        scope=scope)
    items = [ChannelOut.model_validate(c) for c in counted.items]
    more = bool(counted.items) and offset + len(counted.items) < counted.total
    last = counted.items[-1] if counted.items else None
    return ChannelPage(total=counted.total, offset=offset, limit=limit, items=items,
                       next_cursor=encode_cursor(ChannelKey(last.device_id, last.gb_id)) if more and last else None)
