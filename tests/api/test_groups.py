"""`/api/v1/groups`: business groups and virtual organisations."""

from __future__ import annotations

import httpx

from tests.api.fakes import DEVICE_ID, FakeRegistry
from tests.api.session import assert_problem


async def test_groups_are_listed_with_filters(
    client: httpx.AsyncClient, viewer: dict[str, str], registry: FakeRegistry
) -> None:
    everything = (await client.get("/api/v1/groups", headers=viewer)).json()
    assert everything["total"] == 2
    assert {g["kind"] for g in everything["items"]} == {"business_group", "virtual_org"}

    orgs = (await client.get("/api/v1/groups", params={"kind": "virtual_org", "device_id": DEVICE_ID},
                             headers=viewer)).json()
    assert [(g["name"], g["parent_id"]) for g in orgs["items"]] == [("Gate 3", "34020000002150000001")]
    assert registry.calls[-1][1]["device_id"] == DEVICE_ID


async def test_bad_group_filters_are_422(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    assert_problem(await client.get("/api/v1/groups", params={"kind": "other"}, headers=viewer), 422)
    assert_problem(await client.get("/api/v1/groups", params={"device_id": "12ab"}, headers=viewer), 422)
