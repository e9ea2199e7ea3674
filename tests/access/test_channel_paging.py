"""`GET /channels` and `GET /devices/{id}/channels` by cursor: the same channels as by offset, each page as
cheap as the first, `total` only when asked for."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.access.platform import DEVICE_ID, AccessPlatform
from tests.api.session import assert_problem, bearer


async def _walk(client: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int) -> list[dict[str, Any]]:
    pages = [(await client.get(url, params={"limit": limit}, headers=headers)).json()]
    while pages[-1]["next_cursor"] is not None:
        response = await client.get(url, params={"limit": limit, "cursor": pages[-1]["next_cursor"]}, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


@pytest.mark.parametrize("url", ["/api/v1/channels", f"/api/v1/devices/{DEVICE_ID}/channels"])
@pytest.mark.parametrize("username", ["admin", "view"])
async def test_cursor_pages_hold_the_offset_pages_channels(platform: AccessPlatform, client: httpx.AsyncClient,
                                                           url: str, username: str) -> None:
    headers = await bearer(client, username)
    everything = (await client.get(url, params={"limit": 100}, headers=headers)).json()
    assert everything["next_cursor"] is None
    walked = await _walk(client, url, headers, 3)
    assert [item["id"] for page in walked for item in page["items"]] == [i["id"] for i in everything["items"]]
    assert walked[0]["total"] == everything["total"] and all(page["total"] is None for page in walked[1:])
    assert everything["total"] == sum(platform.expected_allowed(username, c) for c in platform.channels)


async def test_count_on_a_cursor_page_and_bad_cursors(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "admin")
    first = (await client.get("/api/v1/channels", params={"limit": 2}, headers=headers)).json()
    counted = (await client.get("/api/v1/channels", params={"limit": 2, "cursor": first["next_cursor"],
                                                            "count": "true"}, headers=headers)).json()
    assert counted["total"] == first["total"] and len(counted["items"]) == 2
    surrogate = base64.urlsafe_b64encode(b'["\\ud800","x"]').decode()
    for cursor in ("nonsense", "W10", "WyJhIl0", "ä", surrogate):  # not base64 JSON, [], ["a"], a lone surrogate
        problem = assert_problem(await client.get("/api/v1/channels", params={"cursor": cursor}, headers=headers),
                                 422)
        assert problem["type"].endswith("validation-failed")
    both = await client.get("/api/v1/channels", params={"cursor": first["next_cursor"], "offset": 2}, headers=headers)
    assert_problem(both, 422)


async def test_the_first_page_may_skip_its_count(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "admin")
    counted = (await client.get("/api/v1/channels", params={"limit": 3}, headers=headers)).json()
    uncounted = (await client.get("/api/v1/channels", params={"limit": 3, "count": "false"}, headers=headers)).json()
    assert uncounted["total"] is None and counted["total"] == len(platform.channels)
    assert uncounted["items"] == counted["items"] and uncounted["next_cursor"] == counted["next_cursor"]
