"""Share requests through the API on a real database: request → approve (narrowed) → grant → live allowed on
the approved channel only → revoke → refused; rejection; expiry; who may decide; validation problems; audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import ChannelClass
from clearsight.access.users import Role, UserStore
from clearsight.db import session_factory
from tests.access.platform import FAST_HASHER, AccessPlatform, MatrixChannel, build_platform
from tests.api.fakes import PASSWORD
from tests.api.session import BASE_URL, assert_problem, bearer

OWNER_REGION = "3501"  # the platform's out-of-scope channels (civil code 35010000)


@dataclass(slots=True)
class Shares:
    platform: AccessPlatform
    client: httpx.AsyncClient
    owner_department_id: int
    headers: dict[str, dict[str, str]]
    foreign: list[MatrixChannel]  # owned by the owner department, public and restricted

    async def ask(self, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {"channel_ids": [c.id for c in self.foreign], "actions": ["live", "playback"],
                                "purpose": "traffic incident on the ring road"}
        body.update(overrides)
        return await self.client.post("/api/v1/share-requests", json=body, headers=self.headers["oper"])

    async def live(self, username: str, channel_id: int) -> int:
        return (await self.client.post(f"/api/v1/channels/{channel_id}/live", headers=self.headers[username])
                ).status_code


@pytest.fixture
async def shares(db_engine: AsyncEngine) -> AsyncIterator[Shares]:
    platform = await build_platform(db_engine)
    owner = await platform.access.store.create_department("Police", OWNER_REGION)
    users = UserStore(session_factory(db_engine), FAST_HASHER)
    for name, role in (("powner", Role.OPERATOR), ("pview", Role.VIEWER)):
        user = await users.create_user(name, PASSWORD, role)
        await platform.access.store.set_user_department(int(user.id), owner.id)
    foreign = [c for c in platform.channels if not c.in_scope and c.channel_class is not ChannelClass.SENSITIVE]
    transport = httpx.ASGITransport(app=platform.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        headers = {n: await bearer(client, n) for n in ("admin", "oper", "view", "audit", "powner", "pview")}
        yield Shares(platform, client, owner.id, headers, foreign)


def _actions(platform: AccessPlatform, action: str) -> list[Any]:
    return [e for e in platform.audit.entries if e.action == action]


async def test_lifecycle_request_approve_narrowed_live_revoke(shares: Shares) -> None:
    first, second = shares.foreign
    assert await shares.live("oper", first.id) == 403  # before: no grant reaches the other department's channels
    now = datetime.now(UTC)
    asked = await shares.ask(period_start=now.isoformat(), period_end=(now + timedelta(days=10)).isoformat())
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["state"] == "pending" and request["owner_department_id"] == shares.owner_department_id
    assert request["requester_department_id"] == shares.platform.department_id

    outgoing = (await shares.client.get("/api/v1/share-requests", params={"direction": "outgoing"},
                                        headers=shares.headers["oper"])).json()
    incoming = (await shares.client.get("/api/v1/share-requests", params={"direction": "incoming"},
                                        headers=shares.headers["powner"])).json()
    assert [r["id"] for r in outgoing] == [request["id"]] == [r["id"] for r in incoming]
    assert (await shares.client.get("/api/v1/share-requests", params={"direction": "incoming"},
                                    headers=shares.headers["oper"])).json() == []

    # the requester cannot approve their own request; the owner's viewer has no say (role)
    url = f"/api/v1/share-requests/{request['id']}"
    assert_problem(await shares.client.post(f"{url}/approve", json={}, headers=shares.headers["oper"]), 403)
    assert_problem(await shares.client.post(f"{url}/approve", json={}, headers=shares.headers["pview"]), 403)

    end = now + timedelta(days=2)
    approved = await shares.client.post(f"{url}/approve", headers=shares.headers["powner"], json={
        "channel_ids": [first.id], "actions": ["live"], "period_end": end.isoformat(), "note": "first only"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved" and body["decided_by"] == "powner" and body["grant_id"]
    grant = body["grant"]
    assert grant["department_id"] == shares.platform.department_id and grant["actions"] == ["live"]
    assert grant["scope_kind"] == "channels" and grant["scope_values"] == [str(first.id)]
    assert datetime.fromisoformat(grant["valid_until"]) == end and grant["share_request_id"] == request["id"]
    stored = await shares.platform.access.store.get_grant(body["grant_id"])
    assert stored is not None and stored.valid_until == end

    assert await shares.live("oper", first.id) == 409  # allowed (the fake devices are offline)
    assert await shares.live("view", first.id) == 409  # the whole requesting department
    assert await shares.live("oper", second.id) == 403  # not approved
    playback = await shares.client.get(f"/api/v1/channels/{first.id}/recordings",
                                       params={"start": now.isoformat(), "end": (now + timedelta(hours=1)).isoformat()},
                                       headers=shares.headers["oper"])
    assert playback.status_code == 403  # action narrowed away

    assert_problem(await shares.client.post(f"{url}/approve", json={}, headers=shares.headers["powner"]), 409)
    revoked = await shares.client.post(f"{url}/revoke", json={"reason": "incident closed"},
                                       headers=shares.headers["powner"])
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and revoked.json()["grant"]["revoked_at"] is not None
    assert revoked.json()["revoked_by"] == "powner" and revoked.json()["revoke_reason"] == "incident closed"
    assert revoked.json()["revoked_at"] == revoked.json()["grant"]["revoked_at"]
    for reader in ("oper", "powner"):  # both parties read who revoked and why, in the list and singly
        listed = (await shares.client.get("/api/v1/share-requests", headers=shares.headers[reader])).json()
        single = (await shares.client.get(url, headers=shares.headers[reader])).json()
        for read in (listed[0], single):
            assert (read["revoked_by"], read["revoke_reason"]) == ("powner", "incident closed"), read
    assert await shares.live("oper", first.id) == 403
    assert_problem(await shares.client.post(f"{url}/revoke", headers=shares.headers["powner"]), 409)

    decisions = [e.details["decision"] for e in _actions(shares.platform, "share.decision")]
    assert decisions == ["approve", "revoke"]
    approve_entry = _actions(shares.platform, "share.decision")[0]
    assert approve_entry.grant == body["grant_id"] and approve_entry.details["narrowed"] is True
    changes = [e for e in _actions(shares.platform, "permission.change") if e.grant == body["grant_id"]]
    assert [e.details["change"] for e in changes] == ["create", "revoke"]
    assert changes[0].details["share_request_id"] == request["id"]
    assert len(_actions(shares.platform, "share.request")) == 1


async def test_rejection_needs_a_reason_and_creates_no_grant(shares: Shares) -> None:
    request = (await shares.ask()).json()
    url = f"/api/v1/share-requests/{request['id']}/reject"
    problem = assert_problem(await shares.client.post(url, json={"reason": "  "}, headers=shares.headers["powner"]),
                             422)
    assert problem["type"] == "/problems/validation-failed"
    rejected = await shares.client.post(url, json={"reason": "not within our remit"},
                                        headers=shares.headers["powner"])
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected" and rejected.json()["grant_id"] is None
    assert rejected.json()["decision_note"] == "not within our remit"
    assert await shares.live("oper", shares.foreign[0].id) == 403
    entry = _actions(shares.platform, "share.decision")[-1]
    assert entry.details["decision"] == "reject" and entry.reason == "not within our remit"
    assert_problem(await shares.client.post(f"/api/v1/share-requests/{request['id']}/approve", json={},
                                            headers=shares.headers["admin"]), 409)
    listed = (await shares.client.get("/api/v1/share-requests", params={"state": "rejected"},
                                      headers=shares.headers["powner"])).json()
    assert [r["id"] for r in listed] == [request["id"]]


async def test_an_approved_share_whose_period_ended_refuses_access(shares: Shares,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(shares.platform.access, "_clock", lambda: clock[0])
    request = (await shares.ask(period_end=(clock[0] + timedelta(hours=1)).isoformat())).json()
    url = f"/api/v1/share-requests/{request['id']}"
    approved = await shares.client.post(f"{url}/approve", json={}, headers=shares.headers["admin"])
    assert approved.status_code == 200, approved.text  # a platform administrator may decide too
    channel = shares.foreign[0].id
    assert await shares.live("oper", channel) == 409
    clock[0] += timedelta(hours=1, seconds=1)
    assert await shares.live("oper", channel) == 403
    assert (await shares.client.get(url, headers=shares.headers["oper"])).json()["state"] == "expired"
    expired = (await shares.client.get("/api/v1/share-requests", params={"state": "expired"},
                                       headers=shares.headers["oper"])).json()
    assert [r["id"] for r in expired] == [request["id"]]


async def test_the_period_always_ends_and_at_most_after_30_days(shares: Shares) -> None:
    now = datetime.now(UTC)
    default = (await shares.ask()).json()
    assert datetime.fromisoformat(default["period_end"]) - datetime.fromisoformat(default["period_start"]) \
        == timedelta(days=7)
    too_long = assert_problem(await shares.ask(period_start=now.isoformat(),
                                               period_end=(now + timedelta(days=31)).isoformat()), 422)
    assert too_long["type"] == "/problems/validation-failed" and "30 days" in too_long["detail"]
    assert_problem(await shares.ask(period_start=(now - timedelta(days=3)).isoformat(),
                                    period_end=(now - timedelta(days=1)).isoformat()), 422)
    assert_problem(await shares.ask(period_start=now.isoformat(), period_end=now.isoformat()), 422)
    # approval cannot widen the request
    url = f"/api/v1/share-requests/{default['id']}/approve"
    later = datetime.fromisoformat(default["period_end"]) + timedelta(days=1)
    assert_problem(await shares.client.post(url, json={"period_end": later.isoformat()},
                                            headers=shares.headers["powner"]), 422)
    own = [c.id for c in shares.platform.channels if c.in_scope][:1]
    assert_problem(await shares.client.post(url, json={"channel_ids": own}, headers=shares.headers["powner"]), 422)
    assert_problem(await shares.client.post(url, json={"actions": ["ptz"]}, headers=shares.headers["powner"]), 422)


async def test_requests_are_checked(shares: Shares) -> None:
    own = next(c.id for c in shares.platform.channels if c.in_scope)
    problem = assert_problem(await shares.ask(channel_ids=[own]), 422)
    assert "requesting department" in problem["detail"]
    assert_problem(await shares.ask(channel_ids=[own, shares.foreign[0].id]), 422)  # two owners
    assert_problem(await shares.ask(channel_ids=[999_999]), 422)
    # keys beyond a 64-bit column are refused as invalid, not passed to the database (was a 500)
    assert_problem(await shares.ask(channel_ids=[2**70]), 422)
    assert_problem(await shares.ask(department_id=2**63), 422)
    assert_problem(await shares.client.get(f"/api/v1/grants?department_id={2**70}", headers=shares.headers["admin"]),
                   422)
    assert_problem(await shares.client.put("/api/v1/users/1/department", json={"department_id": 999_999},
                                           headers=shares.headers["admin"]), 422)
    assert_problem(await shares.client.get("/api/v1/channels?offset=99999999999999999999",
                                           headers=shares.headers["admin"]), 422)
    assert_problem(await shares.ask(purpose=" "), 422)
    assert_problem(await shares.ask(actions=["fly"]), 422)
    for username, status in (("view", 403), ("audit", 403)):
        response = await shares.client.post("/api/v1/share-requests", headers=shares.headers[username], json={
            "channel_ids": [shares.foreign[0].id], "actions": ["live"], "purpose": "x"})
        assert_problem(response, status)
    admin = await shares.client.post("/api/v1/share-requests", headers=shares.headers["admin"], json={
        "channel_ids": [shares.foreign[0].id], "actions": ["live"], "purpose": "x"})
    assert_problem(admin, 422)  # the administrator belongs to no department and named none
    named = await shares.client.post("/api/v1/share-requests", headers=shares.headers["admin"], json={
        "channel_ids": [shares.foreign[0].id], "actions": ["live"], "purpose": "x",
        "department_id": shares.platform.department_id})
    assert named.status_code == 201, named.text
    # another department's request is not visible to an outsider
    request_id = named.json()["id"]
    assert (await shares.client.get(f"/api/v1/share-requests/{request_id}", headers=shares.headers["oper"])
            ).status_code == 200
    assert_problem(await shares.client.get("/api/v1/share-requests/12345", headers=shares.headers["oper"]), 404)


async def test_only_the_owner_revokes_and_a_grant_revoked_directly_reads_revoked(shares: Shares) -> None:
    request = (await shares.ask(actions=["live"])).json()
    url = f"/api/v1/share-requests/{request['id']}"
    approved = await shares.client.post(f"{url}/approve", json={}, headers=shares.headers["powner"])
    grant_id = approved.json()["grant_id"]
    assert_problem(await shares.client.post(f"{url}/revoke", headers=shares.headers["oper"]), 403)  # the requester
    assert_problem(await shares.client.post(f"{url}/revoke", headers=shares.headers["audit"]), 403)  # read only
    assert await shares.live("oper", shares.foreign[0].id) == 409
    deleted = await shares.client.delete(f"/api/v1/grants/{grant_id}", headers=shares.headers["admin"])
    assert deleted.status_code == 200, deleted.text
    assert await shares.live("oper", shares.foreign[0].id) == 403
    read = (await shares.client.get(url, headers=shares.headers["powner"])).json()
    assert read["state"] == "revoked"
    assert read["revoked_by"] == "admin" and read["revoke_reason"] is None and read["revoked_at"] is not None
    listed = (await shares.client.get("/api/v1/share-requests", headers=shares.headers["oper"])).json()
    assert (listed[0]["revoked_by"], listed[0]["revoked_at"]) == ("admin", read["revoked_at"])
