"""Logging in, bearer tokens, and that every route but the public ones demands one."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from clearsight.api.tokens import TOKEN_AUDIENCE, TokenService
from tests.api.fakes import PASSWORD, FakeLoginGuard, FakeUser
from tests.api.session import SECRET, TOKEN_PATH, TOKEN_TTL, assert_problem, login

# Reachable without a token: the login itself, the health probe, and the API description.
PUBLIC = {
    ("POST", TOKEN_PATH),
    ("POST", "/api/v1/auth/session"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
}
PATH_PARAM = re.compile(r"\{[^}]+\}")
# Stream URLs (WebSocket, HLS) are opened by players that send no Authorization header: they demand the
# signed stream token of their query string instead, and are checked by test_stream_urls_demand_a_stream_token.
# Those of live view and device playback are under /live/; those of recorded playback under /playback/{session}/
# (its DELETE /playback/{session} takes a bearer token).
STREAM_URL = re.compile(r"^/api/v1/(live/|playback/\{[^}]+\}/)")


def protected_endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every route of `app` that is not in PUBLIC."""
    endpoints = []
    for route in iter_route_contexts(app.routes):  # flattens included routers
        if isinstance(route.original_route, Mount):
            continue  # static web UI, not part of the API
        assert route.path is not None
        if STREAM_URL.match(route.path):
            continue
        assert isinstance(route.original_route, APIRoute | Route), route
        for method in sorted(route.methods or ()):
            if method == "HEAD" or (method, route.path) in PUBLIC:
                continue
            endpoints.append((method, PATH_PARAM.sub("1", route.path)))
    return endpoints


async def unprotected(client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str]) -> list[str]:
    leaks = []
    for method, path in protected_endpoints(app):
        response = await client.request(method, path, headers=headers)
        if response.status_code != 401 or not response.headers["content-type"].startswith(
            "application/problem+json"
        ):
            leaks.append(f"{method} {path} -> {response.status_code}")
    return leaks


async def test_password_login_issues_bearer_token(client: httpx.AsyncClient) -> None:
    response = await login(client, "oper")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == TOKEN_TTL
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"], audience=TOKEN_AUDIENCE)
    assert claims["sub"] == "2"
    assert claims["role"] == "operator"
    assert claims["exp"] - claims["iat"] == TOKEN_TTL
    assert len(claims["jti"]) >= 16


async def test_token_opens_protected_routes(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/devices", headers=viewer)

    assert response.status_code == 200


async def test_token_ids_are_unique(client: httpx.AsyncClient) -> None:
    first, second = (await login(client, "view")).json(), (await login(client, "view")).json()

    jti = [jwt.decode(t["access_token"], options={"verify_signature": False})["jti"] for t in (first, second)]
    assert jti[0] != jti[1]


@pytest.mark.parametrize(
    ("username", "password"),
    [("oper", "wrong password"), ("nobody", PASSWORD), ("gone", PASSWORD)],
    ids=["wrong-password", "unknown-user", "inactive-user"],
)
async def test_wrong_credentials_are_401(client: httpx.AsyncClient, username: str, password: str) -> None:
    response = await login(client, username, password)

    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body


async def test_missing_password_is_422_without_echo(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_PATH, data={"username": "oper" * 100, "password": ""})

    body = assert_problem(response, 422)
    assert "oper" * 100 not in response.text
    assert isinstance(body["errors"], list)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "username"), ("body", "password")}


async def test_login_attempts_go_through_the_guard(
    client: httpx.AsyncClient, login_guard: FakeLoginGuard
) -> None:
    await login(client, "oper", "bad")
    await login(client, "oper", "bad")
    throttled = await login(client, "oper")

    body = assert_problem(throttled, 429)
    assert body["type"] == "/problems/login-throttled"
    assert throttled.headers["retry-after"] == "30"
    assert [success for _, _, success in login_guard.attempts] == [False, False]
    assert (await login(client, "view")).status_code == 200
    assert login_guard.attempts[-1] == ("view", "127.0.0.1", True)


async def test_expired_token_is_401(client: httpx.AsyncClient) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    issued = TokenService(SECRET, TOKEN_TTL, clock=lambda: an_hour_ago).issue(
        FakeUser(1, "admin", "administrator"), "0" * 32
    )

    response = await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {issued.access_token}"})

    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _with_claims(token: str, **changes: object) -> str:
    """`token` with its payload changed and its signature kept (so it no longer matches)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _claims(role: str = "administrator", **changes: object) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "sub": "1",
        "role": role,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "jti": "x" * 32,
        "sid": "s" * 32,
    }
    claims.update(changes)
    return claims


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda good: _with_claims(good, role="administrator"), id="payload-tampered"),
        pytest.param(
            lambda good: good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"), id="bad-signature"
        ),
        pytest.param(
            lambda good: jwt.encode(_claims(), "another-secret-" * 4, algorithm="HS256"), id="other-key"
        ),
        pytest.param(lambda good: jwt.encode(_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(
            lambda good: jwt.encode(_claims(aud="clearsight:stream"), SECRET, algorithm="HS256"),
            id="other-audience",
        ),
        pytest.param(
            lambda good: jwt.encode(
                {k: v for k, v in _claims().items() if k != "jti"}, SECRET, algorithm="HS256"
            ),
            id="no-jti",
        ),
        pytest.param(
            lambda good: jwt.encode(
                {k: v for k, v in _claims().items() if k != "sid"}, SECRET, algorithm="HS256"
            ),
            id="no-session",
        ),
        pytest.param(lambda good: "not-a-jwt", id="garbage"),
    ],
)
async def test_invalid_tokens_are_401(client: httpx.AsyncClient, make_token: object) -> None:
    good = (await login(client, "view")).json()["access_token"]
    assert callable(make_token)
    token = make_token(good)

    response = await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 401)


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic YWRtaW46c2VjcmV0"])
async def test_missing_bearer_token_is_401(client: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await client.get("/api/v1/channels", headers=headers)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_non_public_route_requires_a_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    endpoints = protected_endpoints(app)
    assert ("GET", "/api/v1/devices") in endpoints and ("GET", "/metrics") in endpoints
    assert ("POST", "/api/v1/channels/1/ptz") in endpoints

    assert await unprotected(client, app, {}) == []
    assert await unprotected(client, app, {"Authorization": "Bearer forged.token.value"}) == []


async def test_route_check_catches_an_unprotected_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    @app.get("/api/v1/leak")
    async def leak() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    assert await unprotected(client, app, {}) == ["GET /api/v1/leak -> 200"]


async def test_viewer_may_not_control_ptz(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.post("/api/v1/channels/1/ptz", json={"action": "stop"}, headers=viewer)

    assert_problem(response, 403)


async def test_viewer_may_not_refresh_catalog(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.post("/api/v1/devices/34020000001320000001/catalog/refresh", headers=viewer)

    assert_problem(response, 403)


@pytest.mark.parametrize(("who", "status"), [("view", 403), ("oper", 403), ("admin", 204)])
async def test_only_administrators_delete_devices(client: httpx.AsyncClient, who: str, status: int) -> None:
    token = (await login(client, who)).json()["access_token"]

    response = await client.delete(
        "/api/v1/devices/34020000001320000001", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == status


def stream_url_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = []
    for route in iter_route_contexts(app.routes):
        if route.path is not None and STREAM_URL.match(route.path):
            methods = sorted(route.methods or ()) if isinstance(route.original_route, APIRoute) else ["WEBSOCKET"]
            routes += [(method, PATH_PARAM.sub("1", route.path)) for method in methods if method != "HEAD"]
    return routes


async def test_stream_urls_demand_a_stream_token(
    client: httpx.AsyncClient, app: FastAPI, viewer: dict[str, str]
) -> None:
    routes = stream_url_routes(app)
    assert ("WEBSOCKET", "/api/v1/live/1/ws") in routes and ("GET", "/api/v1/live/1/index.m3u8") in routes
    assert ("WEBSOCKET", "/api/v1/playback/1/ws") in routes and ("GET", "/api/v1/playback/1/index.m3u8") in routes
    api_token = viewer["Authorization"].split()[1]
    for method, path in routes:
        if method == "WEBSOCKET":
            continue  # refused before the handshake completes: tests/integration/test_live_view_api.py
        missing = await client.request(method, path, headers=viewer)
        assert missing.status_code == 422, (method, path)
        for token in ("forged", api_token):  # a bearer token is no stream token
            refused = await client.request(method, path, params={"token": token})
            assert refused.status_code == 403, (method, path, token)
            assert_problem(refused, 403)
