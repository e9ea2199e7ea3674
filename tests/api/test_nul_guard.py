"""Text with NUL (U+0000) is refused with 422 before a handler (PostgreSQL text cannot hold it)."""

from __future__ import annotations

import httpx
import pytest


def _nul_refused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


async def test_a_login_form_with_nul_is_refused(client: httpx.AsyncClient) -> None:
    _nul_refused(await client.post("/api/v1/auth/token", data={"username": "ad\x00min", "password": "x"}))


async def test_a_query_or_path_with_nul_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    _nul_refused(await client.get("/api/v1/channels?name=a%00b", headers=admin))
    _nul_refused(await client.get("/api/v1/devices/3402%00/channels", headers=admin))


@pytest.mark.parametrize("body", [b'{"name": "a\\u0000b"}', b'{"name": "a\\\\\\u0000"}', b'{"name": "\\U0000"}'])
async def test_json_with_a_nul_escape_is_refused(client: httpx.AsyncClient, admin: dict[str, str],
                                                 body: bytes) -> None:
    _nul_refused(await client.post("/api/v1/departments", content=body,
                                   headers={**admin, "content-type": "application/json"}))


async def test_an_escaped_backslash_before_u0000_is_text_not_nul(client: httpx.AsyncClient) -> None:
    # the JSON string is the six characters \u0000 after a backslash, not NUL: the route's own validation answers
    refused = await client.post("/api/v1/auth/token", content=b'{"name": "\\\\u0000"}',
                                headers={"content-type": "application/json"})
    assert refused.status_code == 422 and "NUL" not in refused.text
