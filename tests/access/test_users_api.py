"""`/api/v1/users`: who am I, and users for administrators (create through `UserStore.create_user`, list by
cursor, change role/department/active), audited as permission.change; a disabled user's tokens are refused
at once and a changed role applies to the next request."""

from __future__ import annotations

from typing import Any

import httpx

from tests.access.platform import USERS, AccessPlatform
from tests.api.session import assert_problem, bearer, login

NEW_PASSWORD = "a long enough password"


def _changes(platform: AccessPlatform) -> list[dict[str, Any]]:
    return [dict(e.details) | {"target": e.target, "actor": e.actor} for e in platform.audit.entries
            if e.action == "permission.change" and str(e.target).startswith("user:")]


async def test_me_names_role_and_department(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    me = (await client.get("/api/v1/users/me", headers=await bearer(client, "oper"))).json()
    assert (me["id"], me["username"], me["role"], me["active"]) == (platform.users["oper"], "oper", "operator", True)
    assert (me["department"]["id"], me["department"]["name"]) == (platform.department_id, "Traffic")
    assert me["department"]["home_region_code"] == "3402"
    admin = (await client.get("/api/v1/users/me", headers=await bearer(client, "admin"))).json()
    assert admin["role"] == "administrator" and admin["department"] is None
    assert_problem(await client.get("/api/v1/users/me"), 401)


async def test_administrators_create_users_who_can_sign_in(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    created = await client.post("/api/v1/users", headers=admin, json={
        "username": "pol1", "password": NEW_PASSWORD, "role": "operator", "department_id": platform.department_id})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "pol1" and body["role"] == "operator" and body["active"] is True
    assert body["department"]["id"] == platform.department_id and "password" not in body
    assert (await login(client, "pol1", NEW_PASSWORD)).status_code == 200
    [entry] = _changes(platform)
    assert entry["change"] == "user.create" and entry["target"] == f"user:{body['id']}" and entry["actor"] == "admin"
    assert entry["department_id"] == platform.department_id and NEW_PASSWORD not in str(entry)

    assert_problem(await client.post("/api/v1/users", headers=admin, json={
        "username": "pol1", "password": NEW_PASSWORD, "role": "viewer"}), 409)
    weak = assert_problem(await client.post("/api/v1/users", headers=admin, json={
        "username": "pol2", "password": "short", "role": "viewer"}), 422)
    assert "password" in weak["detail"]
    assert_problem(await client.post("/api/v1/users", headers=admin, json={
        "username": "pol3", "password": NEW_PASSWORD, "role": "viewer", "department_id": 999}), 422)
    assert_problem(await client.post("/api/v1/users", headers=admin, json={
        "username": "pol4", "password": NEW_PASSWORD, "role": "emperor"}), 422)
    assert (await login(client, "pol2", "short")).status_code == 401
    assert (await login(client, "pol3", NEW_PASSWORD)).status_code == 401  # nothing created on a bad department
    assert len(_changes(platform)) == 1


async def test_listing_pages_by_cursor(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    seen: list[str] = []
    cursor: int | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor is not None else {})
        page = (await client.get("/api/v1/users", params=params, headers=admin)).json()
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(USERS)  # created in this order


async def test_disabling_refuses_existing_tokens_and_sign_in(platform: AccessPlatform,
                                                            client: httpx.AsyncClient) -> None:
    admin, viewer = await bearer(client, "admin"), await bearer(client, "view")
    url = f"/api/v1/users/{platform.users['view']}"
    assert (await client.get("/api/v1/devices", headers=viewer)).status_code == 200
    disabled = await client.patch(url, headers=admin, json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    for path in ("/api/v1/devices", "/api/v1/users/me", "/api/v1/channels"):  # routes with and without grants
        assert_problem(await client.get(path, headers=viewer), 401)
    assert (await login(client, "view")).status_code == 401
    assert (await client.patch(url, headers=admin, json={"active": True})).status_code == 200
    assert (await client.get("/api/v1/devices", headers=await bearer(client, "view"))).status_code == 200
    assert [(c["change"], c["active"]) for c in _changes(platform)] == [("user.update", False), ("user.update", True)]


async def test_a_changed_role_or_department_applies_to_the_next_request(platform: AccessPlatform,
                                                                        client: httpx.AsyncClient) -> None:
    admin, viewer = await bearer(client, "admin"), await bearer(client, "view")
    url = f"/api/v1/users/{platform.users['view']}"
    assert_problem(await client.get("/api/v1/share-requests", headers=viewer), 403)
    promoted = await client.patch(url, headers=admin, json={"role": "operator"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "operator"
    assert (await client.get("/api/v1/share-requests", headers=viewer)).status_code == 200  # same token
    moved = (await client.patch(url, headers=admin, json={"department_id": None})).json()
    assert moved["department"] is None and moved["role"] == "operator"  # fields left out stay
    assert (await client.get("/api/v1/users/me", headers=viewer)).json()["department"] is None
    entries = _changes(platform)
    assert [(e["change"], e.get("role"), e["department_id"]) for e in entries] == [
        ("user.update", "operator", platform.department_id), ("user.update", "operator", None)]


async def test_changes_are_checked(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    own = f"/api/v1/users/{platform.users['admin']}"
    assert_problem(await client.patch(own, headers=admin, json={"active": False}), 409)
    assert_problem(await client.patch(own, headers=admin, json={"role": "viewer"}), 409)
    assert (await client.patch(own, headers=admin, json={"role": "administrator"})).status_code == 200
    other = f"/api/v1/users/{platform.users['oper']}"
    assert_problem(await client.patch(other, headers=admin, json={}), 422)
    assert_problem(await client.patch(other, headers=admin, json={"role": None}), 422)
    assert_problem(await client.patch(other, headers=admin, json={"department_id": 999}), 422)
    assert_problem(await client.patch("/api/v1/users/999", headers=admin, json={"active": False}), 404)
    assert (await client.get("/api/v1/users/me", headers=await bearer(client, "oper"))).json()["department"]
