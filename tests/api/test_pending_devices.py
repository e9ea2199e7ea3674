"""`/api/v1/devices/pending` on a real database: administrators only, list, approve (with a password), reject,
404s, audit entries, and 503 without admission configured."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from clearsight.api import ApiConfig, create_app
from clearsight.audit import AuditAction, InMemoryAuditLog
from clearsight.gb28181.admission import DeviceAdmission, UnknownDevicePolicy
from clearsight.registry.admission_store import AdmissionStore
from clearsight.registry.store import RegistryStore
from clearsight.sip.transport import Peer
from tests.api.fakes import FakeControl, FakeDatabase, FakeUsers
from tests.api.session import BASE_URL, SECRET, TOKEN_TTL, assert_problem, bearer
from tests.gb28181.platform_fakes import FakeClock

HELD = "34020000001320000301"
OTHER = "34020000001320000302"
SOURCE = Peer("UDP", "198.51.100.7", 5060)


class Stack:
    def __init__(self, registry: RegistryStore) -> None:
        self.audit = InMemoryAuditLog()
        self.passwords: dict[str, str | None] = {}
        self.admission = DeviceAdmission(AdmissionStore(registry), UnknownDevicePolicy.HOLD, clock=FakeClock(),
                                         set_password=self.passwords.__setitem__)
        self.app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry,
                              users=FakeUsers(), control=FakeControl(), metrics_registry=CollectorRegistry(),
                              db_ping=FakeDatabase().ping, audit_log=self.audit, audit_reader=self.audit,
                              admission=self.admission, static_dir=None)


@pytest.fixture
async def stack(registry_store: RegistryStore) -> Stack:
    stack = Stack(registry_store)
    for device_id in (HELD, OTHER):
        assert not await stack.admission.admits(device_id, SOURCE, "NVR 4.0")
    return stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=stack.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def test_only_administrators_see_or_decide(client: httpx.AsyncClient) -> None:
    for username in ("oper", "view"):
        headers = await bearer(client, username)
        assert_problem(await client.get("/api/v1/devices/pending", headers=headers), 403)
        assert_problem(await client.post(f"/api/v1/devices/pending/{HELD}/approve", headers=headers), 403)
        assert_problem(await client.delete(f"/api/v1/devices/pending/{HELD}", headers=headers), 403)
    assert_problem(await client.get("/api/v1/devices/pending"), 401)


async def test_list_shows_what_the_device_sent(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/v1/devices/pending", headers=await bearer(client, "admin"))).json()
    assert {item["device_id"] for item in listed} == {HELD, OTHER}
    item = next(i for i in listed if i["device_id"] == HELD)
    assert item["state"] == "pending" and item["attempts"] == 1 and item["user_agent"] == "NVR 4.0"
    assert (item["transport"], item["remote_host"], item["remote_port"]) == ("udp", "198.51.100.7", 5060)
    assert item["first_seen"].endswith("Z") or item["first_seen"].endswith("+00:00")


async def test_approve_with_a_password_admits_and_is_audited(client: httpx.AsyncClient, stack: Stack,
                                                             registry_store: RegistryStore) -> None:
    headers = await bearer(client, "admin")
    response = await client.post(f"/api/v1/devices/pending/{HELD}/approve", headers=headers,
                                 json={"password": "its-own-pw"})
    assert response.status_code == 200 and response.json()["state"] == "approved"
    assert stack.passwords == {HELD: "its-own-pw"}
    assert await registry_store.device_password(HELD) == "its-own-pw"
    assert await stack.admission.admits(HELD, SOURCE, None)
    listed = (await client.get("/api/v1/devices/pending", headers=headers)).json()
    assert [item["device_id"] for item in listed] == [OTHER]
    [entry] = [e for e in stack.audit.entries if e.action == AuditAction.DEVICE_CHANGE]
    assert (entry.actor, entry.target) == ("admin", HELD)
    assert entry.details == {"admission": "approved", "was": "pending", "password_set": True,
                             "source": "198.51.100.7"}
    assert_problem(await client.post(f"/api/v1/devices/pending/{HELD}/approve", headers=headers), 404)


async def test_approve_without_body_uses_the_default_password(client: httpx.AsyncClient, stack: Stack) -> None:
    response = await client.post(f"/api/v1/devices/pending/{HELD}/approve", headers=await bearer(client, "admin"))
    assert response.status_code == 200
    assert stack.passwords == {HELD: None}


async def test_short_password_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/api/v1/devices/pending/{HELD}/approve", headers=await bearer(client, "admin"),
                                 json={"password": "short"})
    assert_problem(response, 422)


async def test_reject_keeps_it_listed_and_refused(client: httpx.AsyncClient, stack: Stack) -> None:
    headers = await bearer(client, "admin")
    response = await client.delete(f"/api/v1/devices/pending/{OTHER}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "rejected" and body["decided_by"] == "admin" and body["decided_at"]
    rejected = (await client.get("/api/v1/devices/pending", params={"state": "rejected"}, headers=headers)).json()
    assert [item["device_id"] for item in rejected] == [OTHER]
    pending = (await client.get("/api/v1/devices/pending", params={"state": "pending"}, headers=headers)).json()
    assert [item["device_id"] for item in pending] == [HELD]
    assert not await stack.admission.admits(OTHER, SOURCE, None)
    assert [e.details["admission"] for e in stack.audit.entries if e.action == AuditAction.DEVICE_CHANGE] == [
        "rejected"]
    assert_problem(await client.delete("/api/v1/devices/pending/34020000001320000999", headers=headers), 404)


async def test_pending_is_not_taken_for_a_device_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices/pending", headers=await bearer(client, "admin"))
    assert response.status_code == 200 and isinstance(response.json(), list)


async def test_without_admission_the_routes_answer_503(registry_store: RegistryStore) -> None:
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry_store,
                     users=FakeUsers(), control=FakeControl(), metrics_registry=CollectorRegistry(),
                     db_ping=FakeDatabase().ping, static_dir=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        assert_problem(await client.get("/api/v1/devices/pending", headers=await bearer(client, "admin")), 503)
