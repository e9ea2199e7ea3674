"""`POST /exports` checks `export` on every channel of its body; an export is seen and downloaded by its creator,
administrators and auditors only."""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import Action, ChannelClass, ScopeKind
from clearsight.access.store import NewGrant
from clearsight.export.records import ExportRecord, ExportState
from clearsight.registry.records import Page
from tests.access.platform import AccessPlatform, build_platform
from tests.api.session import assert_problem, bearer

EXPORTS = "/api/v1/exports"
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class FinishedExports:
    """An `ExportsPort` whose exports are done at once: a tiny zip per export."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.records: dict[str, ExportRecord] = {}

    async def submit(self, *, created_by: str, reason: str, channels: Sequence[int], start: datetime,
                     end: datetime, watermark: bool, masks_lifted: Sequence[int] = ()) -> ExportRecord:
        export_id = uuid.uuid4().hex
        path = self._directory / f"{export_id}.zip"
        with zipfile.ZipFile(path, "w") as package:
            package.writestr("manifest.json", "{}")
        now = datetime.now(UTC)
        record = ExportRecord(export_id, created_by, reason, tuple(channels), start, end, watermark,
                              ExportState.DONE, None, str(path), path.stat().st_size, now, now)
        self.records[export_id] = record
        return record

    async def get(self, export_id: str) -> ExportRecord | None:
        return self.records.get(export_id)

    async def list_exports(self, *, created_by: str | None, offset: int, limit: int) -> Page[ExportRecord]:
        items = [r for r in self.records.values() if created_by in (None, r.created_by)]
        return Page(len(items), offset, limit, tuple(items[offset:offset + limit]))

    async def package(self, export_id: str) -> Path | None:
        record = self.records.get(export_id)
        return Path(record.path) if record is not None and record.path else None

    @property
    def signing_fingerprint(self) -> str:
        return "SHA256:test"

    @property
    def signing_public_key_pem(self) -> str:
        return "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"


@pytest.fixture
def exports(tmp_path: Path) -> FinishedExports:
    return FinishedExports(tmp_path)


@pytest.fixture
async def platform(db_engine: AsyncEngine, exports: FinishedExports) -> AccessPlatform:
    return await build_platform(db_engine, exports=exports)


def _body(channels: list[int]) -> dict[str, Any]:
    return {"channels": channels, "start": T0.isoformat(), "end": (T0 + timedelta(minutes=5)).isoformat(),
            "reason": "case 2026-0042"}


def _ids(platform: AccessPlatform, *, in_scope: bool, channel_class: ChannelClass = ChannelClass.PUBLIC) -> int:
    return next(c.id for c in platform.channels if c.in_scope is in_scope and c.channel_class is channel_class)


async def test_export_of_granted_channels_is_accepted_and_audited_with_the_grant(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channels = [_ids(platform, in_scope=True), _ids(platform, in_scope=True, channel_class=ChannelClass.RESTRICTED)]
    response = await client.post(EXPORTS, json=_body(channels), headers=await bearer(client, "oper"))
    assert response.status_code == 202, response.text
    entry = next(e for e in platform.audit.entries if e.action == "export.create")
    assert entry.grant == platform.grant.id
    assert entry.details["grants"] == {str(c): platform.grant.id for c in channels}


async def test_one_channel_without_export_refuses_the_whole_export_naming_it(
        platform: AccessPlatform, client: httpx.AsyncClient, exports: FinishedExports) -> None:
    outside = _ids(platform, in_scope=False)
    body = _body([_ids(platform, in_scope=True), outside])
    problem = assert_problem(await client.post(EXPORTS, json=body, headers=await bearer(client, "oper")), 403)
    assert problem["type"].endswith("access-denied")
    assert problem["channel_id"] == outside and problem["action"] == "export"
    assert f"channel {outside}" in problem["detail"]
    assert exports.records == {} and not [e for e in platform.audit.entries if e.action == "export.create"]


async def test_a_grant_without_the_export_action_does_not_allow_exports(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    await platform.access.revoke_grant(platform.grant.id, "admin", None)
    await platform.access.create_grant(
        NewGrant(actions=frozenset({Action.LIVE, Action.PLAYBACK}), scope_kind=ScopeKind.REGION,
                 scope_values=("3402",), max_class=ChannelClass.RESTRICTED, department_id=platform.department_id),
        "admin", None)
    channel = _ids(platform, in_scope=True)
    problem = assert_problem(await client.post(EXPORTS, json=_body([channel]), headers=await bearer(client, "oper")),
                             403)
    assert problem["channel_id"] == channel and "no grant allows export" in problem["detail"]


async def test_an_expired_grant_refuses_at_the_time_of_the_request(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channel = _ids(platform, in_scope=True)
    headers = await bearer(client, "oper")
    assert (await client.post(EXPORTS, json=_body([channel]), headers=headers)).status_code == 202
    later = datetime.now(UTC) + timedelta(days=400)
    await platform.access.revoke_grant(platform.grant.id, "admin", None)
    await platform.access.create_grant(
        NewGrant(actions=frozenset({Action.EXPORT}), scope_kind=ScopeKind.CHANNELS, scope_values=(str(channel),),
                 max_class=ChannelClass.PUBLIC, department_id=platform.department_id,
                 valid_until=datetime.now(UTC) + timedelta(days=1)), "admin", None)
    platform.access._clock = lambda: later  # the request comes after the grant ended
    assert_problem(await client.post(EXPORTS, json=_body([channel]), headers=headers), 403)


async def test_administrators_export_any_channel(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    body = _body([c.id for c in platform.channels])
    assert (await client.post(EXPORTS, json=body, headers=await bearer(client, "admin"))).status_code == 202


async def test_an_export_is_seen_by_its_creator_administrators_and_auditors_only(
        platform: AccessPlatform, client: httpx.AsyncClient, exports: FinishedExports) -> None:
    created = await client.post(EXPORTS, json=_body([_ids(platform, in_scope=True)]),
                                headers=await bearer(client, "oper"))
    export_id = created.json()["id"]
    other = next(iter(exports.records.values()))
    exports.records["f" * 32] = replace(other, id="f" * 32, created_by="someone-else")
    for username in ("oper", "admin", "audit"):
        headers = await bearer(client, username)
        assert (await client.get(f"{EXPORTS}/{export_id}", headers=headers)).status_code == 200, username
        download = await client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
        assert download.status_code == 200 and download.content.startswith(b"PK"), username
    oper = await bearer(client, "oper")
    assert_problem(await client.get(f"{EXPORTS}/{'f' * 32}", headers=oper), 404)
    assert_problem(await client.get(f"{EXPORTS}/{'f' * 32}/download", headers=oper), 404)
    listed = (await client.get(EXPORTS, headers=await bearer(client, "audit"))).json()
    assert {item["id"] for item in listed["items"]} == {export_id, "f" * 32}
    assert {item["id"] for item in (await client.get(EXPORTS, headers=oper)).json()["items"]} == {export_id}
    for username in ("view", "maint"):
        headers = await bearer(client, username)
        assert_problem(await client.get(f"{EXPORTS}/{export_id}", headers=headers), 403)
        assert_problem(await client.get(f"{EXPORTS}/{export_id}/download", headers=headers), 403)
    downloads = [e.actor for e in platform.audit.entries if e.action == "export.download"]
    assert downloads == ["oper", "admin", "audit"]


async def test_auditors_may_not_create_exports(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    body = _body([_ids(platform, in_scope=True)])
    assert_problem(await client.post(EXPORTS, json=body, headers=await bearer(client, "audit")), 403)
