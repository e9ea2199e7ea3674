"""Cookie sign-in: HttpOnly session cookie + readable CSRF cookie; unsafe cookie requests need X-CSRF-Token
(double submit); bearer requests are unaffected; Secure cookies and HSTS over TLS only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.api.fakes import PASSWORD
from tests.api.session import assert_problem, bearer

SESSION_PATH = "/api/v1/auth/session"
REFRESH = "/api/v1/devices/34020000001320000001/catalog/refresh"  # an unsafe route operators may use


async def _cookie_login(client: httpx.AsyncClient, username: str = "oper") -> tuple[httpx.Response, str]:
    response = await client.post(SESSION_PATH, data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response, str(response.json()["csrf_token"])


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name, lower-cased."""
    return {value.split("=", 1)[0]: value.lower() for value in response.headers.get_list("set-cookie")}


@pytest.fixture
async def tls_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def test_cookie_login_sets_an_httponly_session_and_a_readable_csrf_cookie(client: httpx.AsyncClient) -> None:
    response, csrf = await _cookie_login(client)

    cookies = _set_cookies(response)
    session, csrf_cookie = cookies["clearsight_session"], cookies["clearsight_csrf"]
    assert "httponly" in session and "samesite=strict" in session and "secure" not in session
    assert "httponly" not in csrf_cookie and "samesite=strict" in csrf_cookie
    assert client.cookies["clearsight_csrf"] == csrf and "access_token" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_over_tls_cookies_are_secure_and_hsts_is_sent(tls_client: httpx.AsyncClient,
                                                            client: httpx.AsyncClient) -> None:
    response, _ = await _cookie_login(tls_client)

    assert all("secure" in value for value in _set_cookies(response).values())
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in (await client.get("/healthz")).headers  # RFC 6797 §7.2


async def test_the_cookie_authenticates_reads(client: httpx.AsyncClient) -> None:
    await _cookie_login(client)

    assert (await client.get("/api/v1/devices")).status_code == 200


@pytest.mark.parametrize("sent", [None, "", "wrong-token"])
async def test_an_unsafe_cookie_request_without_the_csrf_token_is_403(client: httpx.AsyncClient,
                                                                      sent: str | None) -> None:
    await _cookie_login(client)
    headers = {} if sent is None else {"X-CSRF-Token": sent}

    body = assert_problem(await client.post(REFRESH, headers=headers), 403)

    assert body["type"] == "/problems/csrf-failed"


async def test_an_unsafe_cookie_request_with_the_csrf_token_passes(client: httpx.AsyncClient) -> None:
    _, csrf = await _cookie_login(client)

    response = await client.post(REFRESH, headers={"X-CSRF-Token": csrf})

    assert response.status_code == 202, response.text


async def test_bearer_requests_need_no_csrf_token(client: httpx.AsyncClient) -> None:
    await _cookie_login(client)  # a session cookie is present too, and ignored
    headers = await bearer(client, "oper")

    assert (await client.post(REFRESH, headers=headers)).status_code == 202


async def test_logout_ends_the_cookie_session(client: httpx.AsyncClient) -> None:
    _, csrf = await _cookie_login(client)
    session_cookie = client.cookies["clearsight_session"]

    response = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204
    assert all("max-age=0" in value for value in _set_cookies(response).values())
    client.cookies.set("clearsight_session", session_cookie)  # a copy kept by an attacker is dead too
    assert_problem(await client.get("/api/v1/devices"), 401)
