"""Logging in to the API under test."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.fakes import PASSWORD

SECRET = "test-secret-key-that-is-long-enough-0123456789"
TOKEN_TTL = 600
BASE_URL = "http://testserver"
TOKEN_PATH = "/api/v1/auth/token"
PROBLEM_JSON = "application/problem+json"


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(TOKEN_PATH, data={"username": username, "password": password})


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await login(client, username)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str) and body["type"]
    assert body["instance"] == response.request.url.path
    return body
