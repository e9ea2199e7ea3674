"""`/api/v1/exports` on the real app, database and export runner: request, poll, download, verify."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.api import ApiConfig, create_app
from clearsight.db import session_factory
from clearsight.export import runner as runner_module
from clearsight.export.runner import ExportRunner
from clearsight.export.verify import TrustAnchor, verify_package
from clearsight.signing import SigningKey
from tests.api.fakes import FakeControl, FakeUser, FakeUsers
from tests.api.session import BASE_URL, SECRET, TOKEN_TTL, assert_problem, bearer
from tests.export.conftest import T0
from tests.export.held_builds import hold_builds
from tests.export.platform import RecordedPlatform, recorded_platform

EXPORTS = "/api/v1/exports"
POLL_TIMEOUT = 60.0


async def _ping() -> bool:
    return True


def _app(platform: RecordedPlatform, exports: ExportRunner | None) -> FastAPI:
    users = FakeUsers()
    users.users["oper2"] = FakeUser(5, "oper2", "operator")
    return create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=platform.registry,
                      users=users, control=FakeControl(), metrics_registry=CollectorRegistry(), db_ping=_ping,
                      exports=exports, static_dir=None)


@pytest.fixture
async def platform(db_engine: AsyncEngine, tmp_path: Path) -> RecordedPlatform:
    return await recorded_platform(session_factory(db_engine), tmp_path)


@pytest.fixture
async def runner(platform: RecordedPlatform, signing_key: SigningKey) -> AsyncIterator[ExportRunner]:
    runner = platform.runner(signing_key)
    await runner.start()
    yield runner
    await runner.close()


@pytest.fixture
def app(platform: RecordedPlatform, runner: ExportRunner) -> FastAPI:
    return _app(platform, runner)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def _body(platform: RecordedPlatform, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"channels": list(platform.channel_ids), "start": (T0 + timedelta(seconds=1)).isoformat(),
                            "end": (T0 + timedelta(seconds=9)).isoformat(), "reason": "case 2026-0042"}
    return body | overrides


async def _until(client: httpx.AsyncClient, headers: dict[str, str], export_id: str, *states: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_TIMEOUT
    while True:
        response = await client.get(f"{EXPORTS}/{export_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["state"] in states:
            return body
        assert loop.time() < deadline, f"export still {body['state']}"
        await asyncio.sleep(0.05)


async def test_lifecycle_pending_running_done_download(client: httpx.AsyncClient, app: FastAPI,
                                                       platform: RecordedPlatform, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    release = hold_builds(monkeypatch, POLL_TIMEOUT)
    oper = await bearer(client, "oper")
    response = await client.post(EXPORTS, json=_body(platform, watermark=True), headers=oper)
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["state"] in ("pending", "running") and created["created_by"] == "oper"
    assert created["channels"] == list(platform.channel_ids) and created["watermark"] is True
    assert created["start"] == "2026-05-01T12:00:01Z" and created["download_url"] is None
    assert response.headers["location"] == f"{EXPORTS}/{created['id']}"

    await _until(client, oper, created["id"], "running")
    assert_problem(await client.get(f"{EXPORTS}/{created['id']}/download", headers=oper), 409)
    release.set()
    done = await _until(client, oper, created["id"], "done", "failed")
    assert done["state"] == "done", done
    assert done["download_url"] == f"{EXPORTS}/{created['id']}/download" and done["finished_at"]

    download = await client.get(done["download_url"], headers=oper)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert f"clearsight-export-{created['id']}.zip" in download.headers["content-disposition"]
    assert len(download.content) == done["size"]
    key = (await client.get(f"{EXPORTS}/signing-key", headers=oper)).json()
    assert key["algorithm"] == "Ed25519" and key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "package.zip").write_bytes(download.content)
    report = verify_package(tmp_path / "package.zip", TrustAnchor.from_fingerprint(key["fingerprint"]))
    assert report.intact and report.trusted and report.files_checked == 2
    assert report.manifest is not None and report.manifest.created_by == "oper"
    assert report.manifest.reason == "case 2026-0042"

    audit = [e for e in app.state.services.audit.entries if e.action.startswith("export.")]
    assert [(e.action, e.actor, e.target, e.reason) for e in audit] == [
        ("export.create", "oper", created["id"], "case 2026-0042"),
        ("export.download", "oper", created["id"], "case 2026-0042")]
    assert audit[0].details["channels"] == list(platform.channel_ids) and audit[0].details["watermark"] is True
    assert audit[1].details["size"] == done["size"]


@pytest.mark.parametrize(("change", "message"), [
    ({"end": T0.isoformat(), "start": (T0 + timedelta(seconds=5)).isoformat()}, "start must be before end"),
    ({"end": (T0 + timedelta(hours=25)).isoformat()}, "at most 24 h"),
    ({"reason": "   "}, "at least 1 character"),
    ({"start": "2026-05-01T12:00:00"}, "timezone"),
    ({"channels": []}, "at least 1 item"),
    ({"channels": [1, 1]}, "each channel may be named once"),
    ({"channels": list(range(1, 18))}, "at most 16 items"),
    ({"watermark": "sometimes"}, "valid boolean"),
    ({"owner": "me"}, "Extra inputs"),
])
async def test_invalid_requests_are_validation_problems(client: httpx.AsyncClient, platform: RecordedPlatform,
                                                       change: dict[str, Any], message: str) -> None:
    oper = await bearer(client, "oper")
    body = assert_problem(await client.post(EXPORTS, json=_body(platform, **change), headers=oper), 422)
    assert body["type"] == "/problems/validation-failed"
    assert any(message in error["msg"] for error in body["errors"]), body["errors"]


async def test_a_missing_reason_is_a_validation_problem(client: httpx.AsyncClient, platform: RecordedPlatform) -> None:
    body = _body(platform)
    del body["reason"]
    problem = assert_problem(await client.post(EXPORTS, json=body, headers=await bearer(client, "oper")), 422)
    assert problem["errors"][0]["loc"] == ["body", "reason"]


async def test_unknown_channels_are_named(client: httpx.AsyncClient, platform: RecordedPlatform) -> None:
    known = platform.channel_ids[0]
    response = await client.post(EXPORTS, json=_body(platform, channels=[known, 999, 1000]),
                                 headers=await bearer(client, "oper"))
    problem = assert_problem(response, 422)
    assert problem["type"] == "/problems/validation-failed" and problem["detail"] == "no channel 999; no channel 1000"
    assert [e["loc"] for e in problem["errors"]] == [["body", "channels", 1], ["body", "channels", 2]]


async def test_who_may_export_and_who_sees_which(client: httpx.AsyncClient, platform: RecordedPlatform) -> None:
    assert_problem(await client.post(EXPORTS, json=_body(platform)), 401)
    assert_problem(await client.post(EXPORTS, json=_body(platform), headers=await bearer(client, "view")), 403)
    assert_problem(await client.get(EXPORTS, headers=await bearer(client, "view")), 403)
    oper, other, admin = [await bearer(client, name) for name in ("oper", "oper2", "admin")]
    mine = (await client.post(EXPORTS, json=_body(platform), headers=oper)).json()
    theirs = (await client.post(EXPORTS, json=_body(platform), headers=other)).json()
    assert_problem(await client.get(f"{EXPORTS}/{mine['id']}", headers=other), 404)
    assert_problem(await client.get(f"{EXPORTS}/{mine['id']}/download", headers=other), 404)
    assert (await client.get(f"{EXPORTS}/{mine['id']}", headers=admin)).status_code == 200
    own = (await client.get(EXPORTS, headers=oper)).json()
    assert own["total"] == 1 and [e["id"] for e in own["items"]] == [mine["id"]]
    every = (await client.get(EXPORTS, headers=admin)).json()
    assert every["total"] == 2 and {e["id"] for e in every["items"]} == {mine["id"], theirs["id"]}


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient) -> None:
    admin = await bearer(client, "admin")
    assert_problem(await client.get(f"{EXPORTS}/{'0' * 32}", headers=admin), 404)
    assert_problem(await client.get(f"{EXPORTS}/not-an-id", headers=admin), 422)


async def test_a_failed_export_says_why_and_has_nothing_to_download(client: httpx.AsyncClient,
                                                                    platform: RecordedPlatform,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner_module, "build_package", failing)
    oper = await bearer(client, "oper")
    created = (await client.post(EXPORTS, json=_body(platform), headers=oper)).json()
    failed = await _until(client, oper, created["id"], "failed", "done")
    assert failed["state"] == "failed" and "No space left on device" in failed["detail"]
    assert_problem(await client.get(f"{EXPORTS}/{created['id']}/download", headers=oper), 409)


async def test_a_package_deleted_from_disk_is_gone(client: httpx.AsyncClient, platform: RecordedPlatform,
                                                   runner: ExportRunner) -> None:
    oper = await bearer(client, "oper")
    created = (await client.post(EXPORTS, json=_body(platform), headers=oper)).json()
    await _until(client, oper, created["id"], "done")
    path = await runner.package(created["id"])
    assert path is not None
    path.unlink()
    assert_problem(await client.get(f"{EXPORTS}/{created['id']}/download", headers=oper), 410)


async def test_without_an_export_runner_the_endpoints_answer_503(platform: RecordedPlatform) -> None:
    transport = httpx.ASGITransport(app=_app(platform, None), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        oper = await bearer(client, "oper")
        assert_problem(await client.post(EXPORTS, json=_body(platform), headers=oper), 503)
        assert_problem(await client.get(EXPORTS, headers=oper), 503)


async def test_the_openapi_document_describes_the_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {f"{EXPORTS}", f"{EXPORTS}/{{export_id}}", f"{EXPORTS}/{{export_id}}/download",
            f"{EXPORTS}/signing-key"} <= set(paths)
    assert "application/zip" in paths[f"{EXPORTS}/{{export_id}}/download"]["get"]["responses"]["200"]["content"]
