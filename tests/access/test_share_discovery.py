"""`GET /api/v1/share-requests/channels`: other departments' channels to ask for, owned as `owner_of` says,
never sensitive, never the caller's own department's, only the fields a request needs, paged by cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import ChannelClass
from clearsight.access.users import Role, UserStore
from clearsight.db import session_factory
from tests.access.platform import FAST_HASHER, AccessPlatform, build_platform
from tests.api.fakes import PASSWORD
from tests.api.session import BASE_URL, assert_problem, bearer

URL = "/api/v1/share-requests/channels"
FIELDS = {"id", "gb_id", "name", "owner_department_id", "owner_department_name", "channel_class", "region_code"}


@dataclass(slots=True)
class Discovery:
    platform: AccessPlatform
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]

    async def search(self, username: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(URL, params=params, headers=self.headers[username])
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["next_cursor"] is None, "a default page holds every test channel"
        items: list[dict[str, Any]] = body["items"]
        return items

    def ids(self, *, in_scope: bool, classes: tuple[ChannelClass, ...] = (ChannelClass.PUBLIC,
                                                                         ChannelClass.RESTRICTED)) -> list[int]:
        return sorted(c.id for c in self.platform.channels if c.in_scope == in_scope and c.channel_class in classes)


@pytest.fixture
async def discovery(db_engine: AsyncEngine) -> AsyncIterator[Discovery]:
    platform = await build_platform(db_engine)  # department Traffic (3402) owns the in-scope channels
    users = UserStore(session_factory(db_engine), FAST_HASHER)
    powner = await users.create_user("powner", PASSWORD, Role.OPERATOR)
    transport = httpx.ASGITransport(app=platform.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        headers = {n: await bearer(client, n) for n in ("admin", "oper", "powner")}
        discovery = Discovery(platform, client, headers)
        discovery.platform.users["powner"] = int(powner.id)
        yield discovery


async def _police(discovery: Discovery) -> int:
    store = discovery.platform.access.store
    police = await store.create_department("Police", "3501")
    await store.set_user_department(discovery.platform.users["powner"], police.id)
    return police.id


async def test_lists_other_departments_channels_only_and_only_what_asking_needs(discovery: Discovery) -> None:
    assert await discovery.search("oper") == []  # the 3501 channels belong to no department yet
    police = await _police(discovery)
    audited = len(discovery.platform.audit.entries)
    listed = await discovery.search("oper")
    assert [c["id"] for c in listed] == discovery.ids(in_scope=False)  # no sensitive one, none of Traffic's
    assert all(set(c) == FIELDS for c in listed)
    assert {(c["owner_department_id"], c["owner_department_name"], c["region_code"]) for c in listed} == {
        (police, "Police", "3501")}
    assert {c["channel_class"] for c in listed} == {"public", "restricted"}
    # the owner's side: Traffic's channels, not its own
    assert [c["id"] for c in await discovery.search("powner")] == discovery.ids(in_scope=True)
    # administrators (no department) see every owned channel but the sensitive ones
    assert [c["id"] for c in await discovery.search("admin")] == sorted(
        discovery.ids(in_scope=True) + discovery.ids(in_scope=False))
    assert len(discovery.platform.audit.entries) == audited  # a search hands out no video: not audited


async def test_ownership_matches_the_rule_share_requests_use(discovery: Discovery) -> None:
    store = discovery.platform.access.store
    await store.create_department("Province", "35")  # shorter home region: Police's 3501 wins
    police = await _police(discovery)
    await store.create_department("Police twin", "3501")  # same home region, higher ID: Police still wins
    moved = next(c for c in discovery.platform.channels if c.in_scope and c.channel_class is ChannelClass.PUBLIC)
    await store.set_channel_owner(moved.id, police)  # an explicit owner beats the region
    listed = await discovery.search("admin")
    for channel in listed:
        facts = await store.channel_facts(channel["id"])
        assert facts is not None
        assert channel["owner_department_id"] == await store.owner_of(facts), channel
    assert moved.id in [c["id"] for c in await discovery.search("oper")]
    assert moved.id not in [c["id"] for c in await discovery.search("powner")]


async def test_filters_by_name_region_and_owner(discovery: Discovery) -> None:
    police = await _police(discovery)
    public_foreign = discovery.ids(in_scope=False, classes=(ChannelClass.PUBLIC,))
    assert [c["id"] for c in await discovery.search("oper", name="PUBLIC")] == public_foreign  # any case
    assert await discovery.search("oper", name="%") == []  # LIKE wildcards are matched literally
    assert await discovery.search("oper", name="_") == []
    assert [c["id"] for c in await discovery.search("admin", region="35")] == discovery.ids(in_scope=False)
    assert [c["id"] for c in await discovery.search("admin", owner_department_id=police)] == discovery.ids(
        in_scope=False)
    assert await discovery.search("oper", region="3402") == []  # its own department's
    assert [c["id"] for c in await discovery.search("admin", region="3501")] == discovery.ids(in_scope=False)
    assert await discovery.search("admin", region="3599") == []
    assert await discovery.search("admin", region="99") == []  # no upper bound for a prefix of nines
    assert_problem(await discovery.client.get(URL, params={"region": "34%"}, headers=discovery.headers["oper"]), 422)
    assert_problem(await discovery.client.get(URL, params={"limit": 0}, headers=discovery.headers["oper"]), 422)


async def test_pages_by_cursor(discovery: Discovery) -> None:
    await _police(discovery)
    seen: list[int] = []
    cursor: int | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor is not None else {})
        body = (await discovery.client.get(URL, params=params, headers=discovery.headers["admin"])).json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(discovery.ids(in_scope=True) + discovery.ids(in_scope=False))
