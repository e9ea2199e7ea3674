"""The audit endpoints, what the API records, and auditors being refused every change."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from clearsight.api.auditing import OWN_CREDENTIALS_PATHS
from clearsight.audit import AuditEntry, AuditUnavailable, InMemoryAuditLog
from clearsight.audit.entry import JsonObject
from tests.api.fakes import CHANNEL_GB_ID, DEVICE_ID, PASSWORD
from tests.api.session import BASE_URL, TOKEN_PATH, assert_problem, bearer, login
from tests.audit.api_app import audit_api

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PATH_PARAM = re.compile(r"\{[^}]+\}")


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def app(audit: InMemoryAuditLog) -> FastAPI:
    return audit_api(audit)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def test_logins_are_recorded_with_the_client_address(client: httpx.AsyncClient,
                                                           audit: InMemoryAuditLog) -> None:
    assert (await login(client, "oper", "wrong password")).status_code == 401
    assert (await login(client, "oper")).status_code == 200
    assert [(e.action, e.actor, e.client) for e in audit.entries] == [
        ("login.failure", "oper", "127.0.0.1"), ("login.success", "oper", "127.0.0.1")]


async def test_ptz_is_recorded_against_the_channel_gb_id(client: httpx.AsyncClient, audit: InMemoryAuditLog) -> None:
    headers = await bearer(client, "oper")
    response = await client.post("/api/v1/channels/1/ptz", headers=headers, json={"action": "preset_call", "preset": 3})
    assert response.status_code == 202
    entry = audit.entries[-1]
    assert (entry.action, entry.actor, entry.target) == ("ptz", "oper", CHANNEL_GB_ID)
    assert entry.details == {"channel_id": 1, "device_id": DEVICE_ID,
                             "command": {"action": "preset_call", "preset": 3}}


@pytest.mark.parametrize(("user", "status"), [("admin", 200), ("audit", 200), ("oper", 403), ("view", 403),
                                              ("maint", 403)])
async def test_only_administrators_and_auditors_read_the_log(client: httpx.AsyncClient, user: str,
                                                             status: int) -> None:
    headers = await bearer(client, user)
    for path in ("/api/v1/audit", "/api/v1/audit/export?format=csv"):
        response = await client.get(path, headers=headers)
        assert response.status_code == status, (path, response.text)


async def test_search_filters_and_pages(client: httpx.AsyncClient, audit: InMemoryAuditLog) -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(5):
        await audit.record("ptz", actor="oper", target=f"cam{n % 2}", at=early.replace(hour=n))
    headers = await bearer(client, "audit")

    page = (await client.get("/api/v1/audit", headers=headers, params={"action": "ptz", "limit": 2})).json()
    assert (page["total"], [item["seq"] for item in page["items"]]) == (5, [5, 4])  # newest first
    page = (await client.get("/api/v1/audit", headers=headers,
                             params={"target": "cam0", "since": "2026-01-01T01:00:00", "until": "2026-01-01T04:00:00Z"}
                             )).json()
    assert [item["seq"] for item in page["items"]] == [3]
    item = page["items"][0]
    assert item["at"] == "2026-01-01T02:00:00Z" and len(item["hash"]) == 64 and item["prev_hash"]
    page = (await client.get("/api/v1/audit", headers=headers, params={"actor": "audit"})).json()
    assert [item["action"] for item in page["items"]] == ["login.success"]
    assert_problem(await client.get("/api/v1/audit", headers=headers, params={"action": "nonsense"}), 422)


async def test_export_csv_and_json_and_the_export_is_audited(client: httpx.AsyncClient,
                                                             audit: InMemoryAuditLog) -> None:
    await audit.record("login.failure", actor="=HYPERLINK(\"http://x\")", client="192.0.2.1")
    headers = await bearer(client, "admin")

    response = await client.get("/api/v1/audit/export", headers=headers, params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="audit-\d{8}T\d{6}Z\.csv"', response.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["actor"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it, does not run it
    assert audit.entries[-1].action == "audit.export" and audit.entries[-1].details == {"format": "csv"}

    response = await client.get("/api/v1/audit/export", headers=headers,
                                params={"format": "json", "action": "login.success"})
    assert [(e["seq"], e["actor"]) for e in response.json()] == [(2, "admin")]
    assert audit.entries[-1].details == {"format": "json", "action": "login.success"}


def unsafe_endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every HTTP route that may change state, but the caller's own credentials
    (signing in and out, own password and sessions: test_auditors_manage_their_own_sign_in)."""
    endpoints = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue  # WebSockets and the static mount only read
        assert route.path is not None
        for method in sorted(set(route.methods or ()) & UNSAFE_METHODS):
            if not route.path.startswith(OWN_CREDENTIALS_PATHS):
                endpoints.append((method, PATH_PARAM.sub("1", route.path)))
    return endpoints


async def test_auditors_are_refused_every_unsafe_endpoint(app: FastAPI, client: httpx.AsyncClient) -> None:
    endpoints = unsafe_endpoints(app)
    expected = {("DELETE", "/api/v1/devices/1"), ("PUT", "/api/v1/devices/1/password"),
                ("POST", "/api/v1/devices/1/catalog/refresh"), ("POST", "/api/v1/channels/1/ptz"),
                ("POST", "/api/v1/channels/1/live")}
    assert expected <= set(endpoints), endpoints
    headers = await bearer(client, "audit")
    allowed = []
    for method, path in endpoints:
        response = await client.request(method, path, headers=headers, json={})
        if response.status_code != 403:
            allowed.append(f"{method} {path} -> {response.status_code}")
    assert allowed == []


async def test_auditors_manage_their_own_sign_in(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "audit")
    sessions = await client.get("/api/v1/auth/sessions", headers=headers)
    assert sessions.status_code == 200 and [s["username"] for s in sessions.json()] == ["audit"]
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 401


async def test_auditors_still_read(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "audit")
    for path in ("/api/v1/devices", "/api/v1/channels", "/api/v1/regions", "/api/v1/audit"):
        assert (await client.get(path, headers=headers)).status_code == 200, path


async def test_the_refusal_is_the_role_not_the_request(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "admin")
    response = await client.delete(f"/api/v1/devices/{DEVICE_ID}", headers=headers)
    assert response.status_code == 204
    assert_problem(await client.delete(f"/api/v1/devices/{DEVICE_ID}", headers=await bearer(client, "audit")), 403)


class UnavailableAudit:
    async def record(self, action: str, *, actor: str, target: str | None = None, client: str | None = None,
                     grant: str | None = None, reason: str | None = None, details: JsonObject | None = None,
                     at: datetime | None = None) -> AuditEntry:
        raise AuditUnavailable("database unreachable")


async def test_no_token_without_its_audit_entry(audit: InMemoryAuditLog) -> None:
    app = audit_api(audit, recorder=UnavailableAudit())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        response = await client.post(TOKEN_PATH, data={"username": "admin", "password": PASSWORD})
        body = assert_problem(response, 503)
    assert "audit log" in body["detail"]
