"""`/api/v1/channels/{id}/privacy-masks`: create, list, change, delete; who may; what the audit log keeps."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.session import assert_problem, bearer
from tests.privacy.platform import MASKED_GB_ID, PrivacyPlatform

WINDOW = [[0.6, 0.1], [0.9, 0.1], [0.9, 0.6], [0.6, 0.6]]
BALCONY = [[0.1, 0.2], [0.3, 0.2], [0.2, 0.5]]


def _masks(channel_id: int) -> str:
    return f"/api/v1/channels/{channel_id}/privacy-masks"


async def _create(client: httpx.AsyncClient, headers: dict[str, str], channel_id: int, **body: Any) -> httpx.Response:
    return await client.post(_masks(channel_id), headers=headers, json={"name": "window", "polygon": WINDOW} | body)


async def test_masks_are_created_listed_changed_and_deleted(client: httpx.AsyncClient,
                                                            platform: PrivacyPlatform) -> None:
    oper = await bearer(client, "oper")
    channel = platform.channel_id
    created = await _create(client, oper, channel, name="  windows of No. 12  ")
    assert created.status_code == 201, created.text
    mask = created.json()
    assert created.headers["Location"] == f"{_masks(channel)}/{mask['id']}"
    assert mask["name"] == "windows of No. 12" and mask["polygon"] == WINDOW and mask["enabled"] is True
    assert mask["channel_id"] == channel and mask["created_by"] == mask["updated_by"] == "oper"
    assert len(mask["polygon_sha256"]) == 64
    second = (await _create(client, oper, channel, name="balcony", polygon=[*BALCONY, BALCONY[0]],
                            enabled=False)).json()
    assert second["polygon"] == BALCONY and second["enabled"] is False

    listed = (await client.get(_masks(channel), headers=oper)).json()
    assert [m["id"] for m in listed] == [mask["id"], second["id"]]

    manager = await bearer(client, "manager")
    changed = await client.put(f"{_masks(channel)}/{second['id']}", headers=manager,
                               json={"name": "balcony", "polygon": BALCONY, "enabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is True and changed.json()["updated_by"] == "manager"
    assert changed.json()["created_by"] == "oper"

    assert (await client.delete(f"{_masks(channel)}/{mask['id']}", headers=oper)).status_code == 204
    assert [m["id"] for m in (await client.get(_masks(channel), headers=oper)).json()] == [second["id"]]
    assert_problem(await client.delete(f"{_masks(channel)}/{mask['id']}", headers=oper), 404)
    assert_problem(await client.put(f"{_masks(channel)}/{mask['id']}", headers=oper,
                                    json={"name": "x", "polygon": WINDOW}), 404)


async def test_a_mask_belongs_to_its_channel(client: httpx.AsyncClient, platform: PrivacyPlatform) -> None:
    admin = await bearer(client, "admin")
    mask = (await _create(client, admin, platform.channel_id)).json()
    elsewhere = f"{_masks(platform.other_channel_id)}/{mask['id']}"
    assert_problem(await client.put(elsewhere, headers=admin, json={"name": "x", "polygon": WINDOW}), 404)
    assert_problem(await client.delete(elsewhere, headers=admin), 404)
    assert (await client.get(_masks(platform.other_channel_id), headers=admin)).json() == []
    assert_problem(await client.get(_masks(999_999), headers=admin), 404)


async def test_invalid_polygons_are_refused_with_the_reason(client: httpx.AsyncClient,
                                                            platform: PrivacyPlatform) -> None:
    oper = await bearer(client, "oper")
    for polygon, why in (([[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]], "Self-intersection"),
                         ([[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]], "outside the picture"),
                         ([[0.1, 0.1], [0.2, 0.2]], "at least 3"),
                         ([[0.1, 0.1], [0.2, 0.1], [0.3, 0.1]], "not a simple polygon|encloses no area")):
        body = assert_problem(await _create(client, oper, platform.channel_id, polygon=polygon), 422)
        assert body["type"] == "/problems/validation-failed"
        messages = " ".join(error["msg"] for error in body["errors"])
        assert any(part in messages for part in why.split("|")), messages
    assert_problem(await _create(client, oper, platform.channel_id, name=""), 422)
    assert (await client.get(_masks(platform.channel_id), headers=oper)).json() == []


async def test_reading_needs_live_or_manage_and_changing_needs_manage(client: httpx.AsyncClient,
                                                                      platform: PrivacyPlatform) -> None:
    channel = platform.channel_id
    mask = (await _create(client, await bearer(client, "admin"), channel)).json()
    one = f"{_masks(channel)}/{mask['id']}"
    change = {"name": "w", "polygon": WINDOW}
    for user in ("viewer", "manager", "oper", "reader"):
        assert (await client.get(_masks(channel), headers=await bearer(client, user))).status_code == 200, user
    body = assert_problem(await client.get(_masks(channel), headers=await bearer(client, "player")), 403)
    assert body["action"] == "live" and body["channel_id"] == channel
    for user in ("viewer", "player", "reader"):  # no manage grant; a viewer by role may change nothing
        headers = await bearer(client, user)
        assert_problem(await _create(client, headers, channel), 403)
        assert_problem(await client.put(one, headers=headers, json=change), 403)
        assert_problem(await client.delete(one, headers=headers), 403)
    oper = await bearer(client, "oper")
    assert_problem(await client.get(_masks(platform.other_channel_id), headers=oper), 403)
    assert_problem(await _create(client, oper, platform.other_channel_id), 403)
    assert [m["id"] for m in (await client.get(_masks(channel), headers=oper)).json()] == [mask["id"]]


async def test_every_change_is_audited_with_the_polygon_and_its_hash(client: httpx.AsyncClient,
                                                                     platform: PrivacyPlatform) -> None:
    oper = await bearer(client, "oper")
    mask = (await _create(client, oper, platform.channel_id)).json()
    one = f"{_masks(platform.channel_id)}/{mask['id']}"
    changed = (await client.put(one, headers=oper, json={"name": "window", "polygon": BALCONY,
                                                         "enabled": False})).json()
    await client.delete(one, headers=oper)
    await client.get(_masks(platform.channel_id), headers=oper)
    entries = [e for e in platform.audit.entries if e.action == "privacy_mask.change"]
    assert [e.details["change"] for e in entries] == ["create", "update", "delete"]
    assert all(e.actor == "oper" and e.target == MASKED_GB_ID for e in entries)
    assert all(e.details["mask_id"] == mask["id"] and e.details["channel_id"] == platform.channel_id
               for e in entries)
    assert entries[0].details["polygon"] == WINDOW and entries[0].details["polygon_sha256"] == mask["polygon_sha256"]
    assert entries[1].details["polygon"] == BALCONY and entries[1].details["enabled"] is False
    assert entries[1].details["polygon_sha256"] == changed["polygon_sha256"] != mask["polygon_sha256"]
