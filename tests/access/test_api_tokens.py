"""API tokens on a real database: the secret once and only its hash stored, scopes, the owner's rights, revocation,
expiry, last use, who manages which, and the audit entries."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.api_tokens import ApiTokenScope, ApiTokenStore, secret_hash
from clearsight.access.credential_models import ApiToken
from clearsight.db import session_factory
from clearsight.registry.models import utc_now
from tests.access.platform import AccessPlatform
from tests.api.session import assert_problem, bearer

TOKENS = "/api/v1/api-tokens"


async def _create(client: httpx.AsyncClient, headers: dict[str, str], *scopes: str,
                  name: str = "scraper") -> dict[str, object]:
    response = await client.post(TOKENS, headers=headers, json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _auth(token: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['secret']}"}


async def test_the_secret_is_shown_once_and_only_its_hash_is_kept(platform: AccessPlatform, db_engine: AsyncEngine,
                                                                  client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    created = await _create(client, admin, "metrics:read")
    secret = str(created["secret"])

    assert secret.startswith("cs_") and len(secret) > 40 and str(created["secret_prefix"]) == secret[:10]
    listed = (await client.get(TOKENS, headers=admin)).json()
    assert [t["id"] for t in listed] == [created["id"]] and "secret" not in listed[0]
    async with session_factory(db_engine)() as session:
        row = (await session.scalars(select(ApiToken))).one()
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert row.secret_hash == secret_hash(secret) and not any(secret in value for value in stored)
    entry = platform.audit.entries[-1]
    assert (entry.action, entry.actor, entry.target) == ("api_token.create", "admin", f"api_token:{created['id']}")
    assert entry.details["scopes"] == ["metrics:read"]


async def test_a_metrics_token_scrapes_and_reads_nothing_else(client: httpx.AsyncClient) -> None:
    token = await _create(client, await bearer(client, "admin"), "metrics:read")

    scrape = await client.get("/metrics", headers=_auth(token))
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    refused = assert_problem(await client.get("/api/v1/devices", headers=_auth(token)), 403)
    assert refused["type"] == "/problems/insufficient-scope" and refused["scope"] == "read"


async def test_read_and_write_scopes_split_by_method(client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    reader, writer = await _create(client, admin, "read"), await _create(client, admin, "write")

    assert (await client.get("/api/v1/devices", headers=_auth(reader))).status_code == 200
    assert (await client.get("/metrics", headers=_auth(reader))).status_code == 200  # read covers a scrape
    body = {"name": "Harbour", "home_region_code": "3502"}
    denied = await client.post("/api/v1/departments", headers=_auth(reader), json=body)
    assert assert_problem(denied, 403)["scope"] == "write"
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    assert (await client.post("/api/v1/departments", headers=_auth(writer), json=body)).status_code == 201
    assert assert_problem(await client.get("/api/v1/devices", headers=_auth(writer)), 403)["scope"] == "read"


async def test_a_token_acts_as_its_user_within_the_users_rights(platform: AccessPlatform,
                                                                client: httpx.AsyncClient) -> None:
    viewer = await _create(client, await bearer(client, "view"), "read", "write")

    assert_problem(await client.delete("/api/v1/devices/34020000001320000001", headers=_auth(viewer)), 403)
    listed = (await client.get("/api/v1/channels", headers=_auth(viewer))).json()
    assert listed["total"] == len([c for c in platform.channels if platform.expected_allowed("view", c)
                                   or (c.in_scope and c.channel_class.value != "sensitive")])


async def test_an_auditors_token_changes_nothing(client: httpx.AsyncClient) -> None:
    token = await _create(client, await bearer(client, "audit"), "read", "write")

    assert (await client.get("/api/v1/audit", headers=_auth(token))).status_code == 200
    refused = await client.post("/api/v1/departments", headers=_auth(token), json={"name": "X"})
    assert assert_problem(refused, 403)["detail"] == "auditors may read but not change anything"


async def test_a_token_cannot_manage_credentials(client: httpx.AsyncClient) -> None:
    token = await _create(client, await bearer(client, "admin"), "read", "write")

    for method, path in (("POST", TOKENS), ("GET", TOKENS), ("GET", "/api/v1/auth/sessions"),
                         ("POST", "/api/v1/auth/logout")):
        response = await client.request(method, path, headers=_auth(token), json={"name": "x", "scopes": ["read"]})
        assert_problem(response, 403)


async def test_a_revoked_token_is_refused(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    view, oper, admin = await bearer(client, "view"), await bearer(client, "oper"), await bearer(client, "admin")
    token = await _create(client, view, "read")
    assert (await client.get("/api/v1/devices", headers=_auth(token))).status_code == 200

    assert_problem(await client.delete(f"{TOKENS}/{token['id']}", headers=oper), 404)  # not oper's
    revoked = await client.delete(f"{TOKENS}/{token['id']}", headers=admin)

    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "admin"
    assert_problem(await client.get("/api/v1/devices", headers=_auth(token)), 401)
    assert_problem(await client.delete(f"{TOKENS}/{token['id']}", headers=view), 409)
    entry = platform.audit.entries[-1]
    assert (entry.action, entry.target, entry.details) == ("api_token.revoke", f"api_token:{token['id']}",
                                                           {"owner": "view"})


async def test_users_see_their_own_tokens_and_administrators_anyones(platform: AccessPlatform,
                                                                     client: httpx.AsyncClient) -> None:
    view, oper, admin = await bearer(client, "view"), await bearer(client, "oper"), await bearer(client, "admin")
    await _create(client, view, "read", name="view's")
    await _create(client, oper, "read", name="oper's")

    assert [t["name"] for t in (await client.get(TOKENS, headers=view)).json()] == ["view's"]
    assert_problem(await client.get(TOKENS, headers=view, params={"user_id": platform.users["oper"]}), 403)
    assert {t["name"] for t in (await client.get(TOKENS, headers=admin)).json()} == {"view's", "oper's"}
    opers = (await client.get(TOKENS, headers=admin, params={"user_id": platform.users["oper"]})).json()
    assert [t["name"] for t in opers] == ["oper's"]


async def test_expired_tokens_and_disabled_owners_are_refused(platform: AccessPlatform, db_engine: AsyncEngine,
                                                              client: httpx.AsyncClient) -> None:
    store = ApiTokenStore(session_factory(db_engine))
    _, expired = await store.create(platform.users["oper"], "old", frozenset({ApiTokenScope.READ}),
                                    utc_now() - timedelta(seconds=1))
    _, current = await store.create(platform.users["view"], "new", frozenset({ApiTokenScope.READ}),
                                    utc_now() + timedelta(days=1))
    assert_problem(await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {expired}"}), 401)
    assert (await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {current}"})).status_code == 200

    await platform.user_store.set_active(platform.users["view"], False)

    assert_problem(await client.get("/api/v1/devices", headers={"Authorization": f"Bearer {current}"}), 401)
    past = await client.post(TOKENS, headers=await bearer(client, "admin"),
                             json={"name": "x", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"})
    assert_problem(past, 422)


async def test_last_use_is_recorded(client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    token = await _create(client, admin, "read")
    assert token["last_used_at"] is None

    await client.get("/api/v1/devices", headers=_auth(token))

    listed = (await client.get(TOKENS, headers=admin)).json()
    assert listed[0]["last_used_at"] is not None
