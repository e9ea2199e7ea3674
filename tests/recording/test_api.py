"""The recording endpoints on the real RecordingService and database: policies, timeline, thumbnails, legal holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from clearsight.api import ApiConfig, create_app
from clearsight.media.hub import StreamHub
from clearsight.recording.layout import thumbnail_path
from clearsight.recording.service import RecordingService, RecordingServiceSettings
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.registry.store import RegistryStore
from tests.api.fakes import FakeControl, FakeUsers
from tests.api.session import BASE_URL, SECRET, TOKEN_TTL, assert_problem, bearer
from tests.recording.fake_stream import FakeStreams
from tests.recording.samples import Clip
from tests.recording.segments import index, write_segments

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def service(recording_store: RecordingStore, registry_store: RegistryStore, pool: StoragePool,
                  clip: Clip) -> AsyncIterator[RecordingService]:
    hub = StreamHub()
    service = RecordingService(recording_store, FakeStreams(hub, clip.frames), registry_store, pool,
                               RecordingServiceSettings(retention_days=7))
    yield service
    await service.stop()
    await hub.close()


@pytest.fixture
def app(service: RecordingService, registry_store: RegistryStore) -> FastAPI:
    return create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry_store,
                      users=FakeUsers(), control=FakeControl(), metrics_registry=CollectorRegistry(),
                      db_ping=lambda: _true(), recordings=service, static_dir=None)


async def _true() -> bool:
    return True


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_policy_defaults_then_is_set_by_operators_only(client: httpx.AsyncClient,
                                                             channel_ids: list[int]) -> None:
    viewer, operator = await bearer(client, "view"), await bearer(client, "oper")
    pk = channel_ids[0]
    url = f"/api/v1/channels/{pk}/recording-policy"
    body = (await client.get(url, headers=viewer)).json()
    assert body["is_default"] and body["mode"] == "none" and body["effective_retention_days"] == 7
    schedule = [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]
    assert_problem(await client.put(url, headers=viewer, json={"mode": "continuous"}), 403)
    put = await client.put(url, headers=operator, json={"mode": "scheduled", "schedule": schedule,
                                                         "retention_days": 30, "storage": "main"})
    assert put.status_code == 200, put.text
    assert put.json()["schedule"] == schedule and not put.json()["is_default"]
    got = (await client.get(url, headers=viewer)).json()
    assert got["mode"] == "scheduled" and got["effective_retention_days"] == 30 and got["storage"] == "main"
    problem = assert_problem(await client.put(url, headers=operator, json={"mode": "scheduled"}), 422)
    assert "at least one" in problem["detail"]
    assert_problem(await client.put(url, headers=operator, json={"mode": "continuous", "storage": "nas"}), 422)
    assert_problem(await client.put(url, headers=operator,
                                    json={"mode": "scheduled", "schedule": [{"days": [9], "start": "8",
                                                                             "end": "9"}]}), 422)
    assert (await client.delete(url, headers=operator)).json()["is_default"]
    assert_problem(await client.get("/api/v1/channels/999/recording-policy", headers=viewer), 404)


async def test_timeline_shows_ranges_gaps_and_segments(client: httpx.AsyncClient, recording_store: RecordingStore,
                                                       pool: StoragePool, clip: Clip, channel_ids: list[int]) -> None:
    viewer = await bearer(client, "view")
    pk = channel_ids[0]
    first = write_segments(pool, clip, pk, T0, fragments=100)  # 4 s
    later = write_segments(pool, clip, pk, T0 + timedelta(seconds=10), fragments=50)  # 2 s
    await index(recording_store, pk, first + later)
    gap = await recording_store.open_gap(pk, T0 + timedelta(seconds=4), "device sent BYE")
    await recording_store.close_gap(gap, T0 + timedelta(seconds=10))
    response = await client.get(f"/api/v1/channels/{pk}/recordings", headers=viewer,
                                params={"start": iso(T0 - timedelta(minutes=1)), "end": iso(T0 + timedelta(minutes=1))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["start"], r["end"]) for r in body["ranges"]] == [
        ("2026-03-02T08:00:00Z", "2026-03-02T08:00:04Z"), ("2026-03-02T08:00:10Z", "2026-03-02T08:00:12Z")]
    assert [(g["reason"], g["end"]) for g in body["gaps"]] == [("device sent BYE", "2026-03-02T08:00:10Z")]
    assert len(body["segments"]) == 3 and body["segments"][0]["keyframes"] == 2
    assert body["segments"][0]["state"] == "complete" and not body["recording_now"]
    bad = {"start": iso(T0), "end": iso(T0 - timedelta(seconds=1))}
    assert_problem(await client.get(f"/api/v1/channels/{pk}/recordings", headers=viewer, params=bad), 422)
    naive = {"start": "2026-03-02T08:00:00", "end": "2026-03-02T09:00:00"}
    assert_problem(await client.get(f"/api/v1/channels/{pk}/recordings", headers=viewer, params=naive), 422)
    month = {"start": iso(T0), "end": iso(T0 + timedelta(days=40))}
    assert_problem(await client.get(f"/api/v1/channels/{pk}/recordings", headers=viewer, params=month), 422)
    assert_problem(await client.get("/api/v1/channels/999/recordings", headers=viewer,
                                    params={"start": iso(T0), "end": iso(T0 + timedelta(hours=1))}), 404)
    assert_problem(await client.get(f"/api/v1/channels/{pk}/recordings",
                                    params={"start": iso(T0), "end": iso(T0 + timedelta(hours=1))}), 401)


async def test_thumbnail_nearest_to_the_moment(client: httpx.AsyncClient, storage_root: Path,
                                               channel_ids: list[int]) -> None:
    viewer = await bearer(client, "view")
    pk = channel_ids[0]
    for seconds, content in ((0, b"\xff\xd8first"), (10, b"\xff\xd8second")):
        path = storage_root / thumbnail_path(pk, T0 + timedelta(seconds=seconds))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    response = await client.get(f"/api/v1/channels/{pk}/thumbnails", headers=viewer,
                                params={"at": iso(T0 + timedelta(seconds=7))})
    assert response.status_code == 200 and response.content == b"\xff\xd8second"
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-thumbnail-at"] == "2026-03-02T08:00:10+00:00"
    assert_problem(await client.get(f"/api/v1/channels/{pk}/thumbnails", headers=viewer,
                                    params={"at": iso(T0 + timedelta(hours=1))}), 404)


async def test_legal_holds_are_placed_listed_and_released_keeping_who_and_when(
        client: httpx.AsyncClient, channel_ids: list[int]) -> None:
    viewer, operator, admin = (await bearer(client, "view"), await bearer(client, "oper"),
                               await bearer(client, "admin"))
    hold = {"channel_id": channel_ids[0], "start": iso(T0), "end": iso(T0 + timedelta(hours=2)),
            "reason": "case 2026-0117"}
    assert_problem(await client.post("/api/v1/legal-holds", headers=viewer, json=hold), 403)
    created = await client.post("/api/v1/legal-holds", headers=operator, json=hold)
    assert created.status_code == 201, created.text
    hold_id = created.json()["id"]
    assert created.json()["created_by"] == "oper" and created.json()["active"]
    listed = (await client.get("/api/v1/legal-holds", headers=viewer, params={"active": "true"})).json()
    assert [h["id"] for h in listed] == [hold_id]
    released = await client.delete(f"/api/v1/legal-holds/{hold_id}", headers=admin)
    assert released.status_code == 200
    assert released.json()["released_by"] == "admin" and released.json()["released_at"]
    assert not released.json()["active"]
    assert (await client.get(f"/api/v1/legal-holds/{hold_id}", headers=viewer)).json()["released_by"] == "admin"
    assert_problem(await client.delete(f"/api/v1/legal-holds/{hold_id}", headers=admin), 409)
    assert_problem(await client.delete("/api/v1/legal-holds/999", headers=admin), 404)
    assert (await client.get("/api/v1/legal-holds", headers=viewer, params={"active": "true"})).json() == []
    assert_problem(await client.post("/api/v1/legal-holds", headers=operator,
                                     json=hold | {"channel_id": 999}), 422)
    assert_problem(await client.post("/api/v1/legal-holds", headers=operator,
                                     json=hold | {"end": iso(T0 - timedelta(hours=1))}), 422)
    assert_problem(await client.post("/api/v1/legal-holds", headers=operator, json=hold | {"reason": "  "}), 422)


async def test_status_lists_storage_and_needs_an_operator(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/recording/status", headers=await bearer(client, "view")), 403)
    body = (await client.get("/api/v1/recording/status", headers=await bearer(client, "oper"))).json()
    assert [s["name"] for s in body["storages"]] == ["main"] and body["recorders"] == [] and body["repair"] is None


async def test_without_recording_the_endpoints_answer_503(registry_store: RegistryStore) -> None:
    app = create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=registry_store,
                     users=FakeUsers(), control=FakeControl(), metrics_registry=CollectorRegistry(),
                     db_ping=_true, static_dir=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        assert_problem(await client.get("/api/v1/legal-holds", headers=await bearer(client, "view")), 503)
