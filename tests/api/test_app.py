"""The app as a whole: problem details for every error, security headers, OpenAPI, the web UI mount."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import CollectorRegistry

from clearsight.api import ApiConfig, create_app
from clearsight.api.middleware import DOCS_CSP, STRICT_CSP
from tests.api.fakes import FakeControl, FakeDatabase, FakeRegistry, FakeUsers
from tests.api.session import BASE_URL, SECRET, assert_problem

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_security_headers(response: httpx.Response, csp: str = STRICT_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"] == csp


@pytest.mark.parametrize("path", ["/nowhere", "/api/v1/nowhere", "/api/v2/devices"])
async def test_unknown_route_is_404_problem(client: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await client.get(path), 404)

    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.put("/healthz")

    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_validation_error_is_422_problem(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/channels", params={"limit": "many"}, headers=viewer)

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/validation-failed"
    [error] = body["errors"]
    assert error["loc"] == ["query", "limit"]
    assert error["type"] == "int_parsing"
    assert set(error) == {"loc", "msg", "type"}  # the input itself is not echoed


async def test_unhandled_error_is_500_problem_without_internals(
    client: httpx.AsyncClient,
    viewer: dict[str, str],
    registry: FakeRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry.fail_with = RuntimeError("password=hunter2 in a connection string")

    with caplog.at_level(logging.ERROR, logger="clearsight.api.middleware"):
        response = await client.get("/api/v1/devices", headers=viewer)

    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert body["title"] == "Internal Server Error"
    assert_security_headers(response)
    [record] = [r for r in caplog.records if r.name == "clearsight.api.middleware"]
    assert "GET /api/v1/devices" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/devices", 401),
        ("GET", "/nowhere", 404),
        ("GET", "/openapi.json", 200),
    ],
)
async def test_security_headers_on_every_response(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    assert_security_headers(response)


async def test_docs_page_gets_its_own_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert_security_headers(response, DOCS_CSP)


async def test_docs_page_loads_nothing_from_outside(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/docs-assets/"), asset
        assert (await client.get(asset)).status_code == 200, asset


async def test_openapi_lists_every_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    routes = [r for r in iter_route_contexts(app.routes)
              if isinstance(r.original_route, APIRoute) and r.original_route.include_in_schema]
    assert len(routes) >= 12
    for route in routes:
        assert route.path in schema["paths"], route.path
        for method in route.methods or ():
            assert method.lower() in schema["paths"][route.path], f"{method} {route.path}"


async def test_openapi_documents_auth_and_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    ptz = schema["paths"]["/api/v1/channels/{channel_id}/ptz"]["post"]
    assert ptz["security"] == [{"OAuth2PasswordBearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert set(ptz["responses"]["4XX"]["content"]) == {"application/problem+json"}
    assert "422" not in ptz["responses"]  # covered by 4XX: problem details, not FastAPI's default shape
    assert {"PtzMove", "PtzStop", "PtzPreset", "ProblemDetail"} <= set(schema["components"]["schemas"])


def _app_with_static(static_dir: Path) -> FastAPI:
    return create_app(
        settings=ApiConfig(secret_key=SECRET, token_ttl=60),
        registry=FakeRegistry(),
        users=FakeUsers(),
        control=FakeControl(),
        metrics_registry=CollectorRegistry(),
        db_ping=FakeDatabase().ping,
        static_dir=static_dir,
    )


async def test_web_ui_is_served_at_root_when_present(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Clearsight</title>")
    app = _app_with_static(tmp_path)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        index = await client.get("/")
        missing = await client.get("/api/v1/nowhere")
        devices = await client.get("/api/v1/devices")

    assert index.status_code == 200 and "Clearsight" in index.text
    assert_security_headers(index)
    assert_problem(missing, 404)
    assert_problem(devices, 401)


async def test_no_web_ui_mount_without_directory(tmp_path: Path) -> None:
    app = _app_with_static(tmp_path / "absent")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        assert_problem(await client.get("/"), 404)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        create_app(
            settings=ApiConfig(secret_key="short", token_ttl=60),
            registry=FakeRegistry(),
            users=FakeUsers(),
            control=FakeControl(),
            metrics_registry=CollectorRegistry(),
            db_ping=FakeDatabase().ping,
        )
