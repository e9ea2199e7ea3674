"""Server-side sessions on a real database: every token names one, and ending it refuses the token everywhere
(routes, stream tokens, open streams); password changes and disabled accounts end sessions."""

from __future__ import annotations

import httpx
import jwt
import pytest

from clearsight.access.sessions import InMemorySessionStore, SessionKind
from clearsight.api.deps import ApiServices
from clearsight.api.device_playbacks import DevicePlaybacks, PlaybackTokenService
from clearsight.api.problems import Problem
from clearsight.api.routers.device_playback import _verified
from clearsight.api.sessions import SessionGuard
from clearsight.api.tokens import TOKEN_AUDIENCE, InvalidToken, TokenService
from clearsight.api.viewer_streams import ACCOUNT_DISABLED, SESSION_ENDED, Viewer
from clearsight.media.consumer import Consumer, StreamEnd
from clearsight.registry.models import utc_now
from tests.access.platform import AccessPlatform
from tests.api.fakes import PASSWORD, FakeUser
from tests.api.session import SECRET, TOKEN_TTL, assert_problem, bearer, login


def _services(platform: AccessPlatform) -> ApiServices:
    services: ApiServices = platform.app.state.services
    return services


def _session_id(headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, SECRET, algorithms=["HS256"], audience=TOKEN_AUDIENCE)["sid"])


async def test_login_opens_a_session_the_token_names(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "view", "password": PASSWORD},
                                 headers={"User-Agent": "camera-wall/1.0"})
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    session_id = _session_id(headers)

    row = await platform.sessions.get(session_id)
    assert row is not None and row.username == "view" and row.kind == "bearer"
    assert row.client == "127.0.0.1" and row.user_agent == "camera-wall/1.0"
    assert row.active_at(utc_now())
    listed = (await client.get("/api/v1/auth/sessions", headers=headers)).json()
    assert [(s["id"], s["current"]) for s in listed] == [(session_id, True)]


async def test_logout_refuses_the_token_everywhere(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    headers, other = await bearer(client, "admin"), await bearer(client, "admin")
    assert (await client.get("/metrics", headers=headers)).status_code == 200

    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204

    for path in ("/api/v1/devices", "/metrics", "/api/v1/auth/sessions"):
        assert_problem(await client.get(path, headers=headers), 401)
    assert (await client.get("/api/v1/devices", headers=other)).status_code == 200  # another login stays
    row = await platform.sessions.get(_session_id(headers))
    assert row is not None and row.revoked_at is not None and row.revoked_by == "admin"
    entry = platform.audit.entries[-1]
    assert entry.action == "logout" and entry.target == f"session:{row.id}" and entry.actor == "admin"


async def test_a_revocation_holds_in_a_new_process(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "oper")
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    tokens = TokenService(SECRET, TOKEN_TTL)
    principal = tokens.verify(headers["Authorization"].removeprefix("Bearer "))

    restarted = SessionGuard(platform.sessions, tokens)  # an empty cache, filled from the database

    with pytest.raises(InvalidToken):
        await restarted.check(principal)


async def test_users_list_their_own_sessions_and_administrators_anyones(platform: AccessPlatform,
                                                                        client: httpx.AsyncClient) -> None:
    view, admin = await bearer(client, "view"), await bearer(client, "admin")
    await bearer(client, "oper")

    own = (await client.get("/api/v1/auth/sessions", headers=view)).json()
    assert {s["username"] for s in own} == {"view"}
    assert_problem(await client.get("/api/v1/auth/sessions", headers=view,
                                    params={"user_id": platform.users["oper"]}), 403)
    opers = (await client.get("/api/v1/auth/sessions", headers=admin,
                              params={"user_id": platform.users["oper"]})).json()
    assert {s["username"] for s in opers} == {"oper"}
    everyone = (await client.get("/api/v1/auth/sessions", headers=admin)).json()
    assert {s["username"] for s in everyone} == {"view", "admin", "oper"}


async def test_only_the_owner_or_an_administrator_revokes_a_session(platform: AccessPlatform,
                                                                      client: httpx.AsyncClient) -> None:
    oper, view, admin = await bearer(client, "oper"), await bearer(client, "view"), await bearer(client, "admin")
    target = _session_id(oper)

    assert_problem(await client.delete(f"/api/v1/auth/sessions/{target}", headers=view), 404)
    assert (await client.get("/api/v1/devices", headers=oper)).status_code == 200

    assert (await client.delete(f"/api/v1/auth/sessions/{target}", headers=admin)).status_code == 204
    assert_problem(await client.get("/api/v1/devices", headers=oper), 401)
    assert_problem(await client.delete(f"/api/v1/auth/sessions/{target}", headers=admin), 404)  # already ended
    entry = platform.audit.entries[-1]
    assert (entry.action, entry.actor, entry.target) == ("session.revoke", "admin", f"session:{target}")
    assert entry.details["user"] == "oper"


async def test_changing_the_password_ends_the_other_sessions(platform: AccessPlatform,
                                                              client: httpx.AsyncClient) -> None:
    here, elsewhere = await bearer(client, "oper"), await bearer(client, "oper")
    new_password = "a new and long enough passphrase"

    wrong = await client.put("/api/v1/auth/password", headers=here,
                             json={"current_password": "not it at all", "new_password": new_password})
    assert_problem(wrong, 403)
    changed = await client.put("/api/v1/auth/password", headers=here,
                               json={"current_password": PASSWORD, "new_password": new_password})

    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/v1/devices", headers=here)).status_code == 200
    assert_problem(await client.get("/api/v1/devices", headers=elsewhere), 401)
    assert (await login(client, "oper", PASSWORD)).status_code == 401
    assert (await login(client, "oper", new_password)).status_code == 200
    entry = next(e for e in reversed(platform.audit.entries) if e.action == "password.change")
    assert entry.actor == "oper" and entry.details == {"sessions_revoked": 1}


@pytest.mark.parametrize(("new_password", "rule"), [("short pass", "min_length"),
                                                    ("Password1234", "not_common")])
async def test_a_weak_new_password_is_a_problem_naming_the_rule(client: httpx.AsyncClient, new_password: str,
                                                                rule: str) -> None:
    headers = await bearer(client, "view")

    response = await client.put("/api/v1/auth/password", headers=headers,
                                json={"current_password": PASSWORD, "new_password": new_password})

    body = assert_problem(response, 422)
    assert body["type"] == "/problems/weak-password" and body["rule"] == rule
    assert new_password not in response.text
    assert (await login(client, "view", PASSWORD)).status_code == 200  # unchanged


async def test_disabling_a_user_ends_all_their_sessions(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    admin, first, second = await bearer(client, "admin"), await bearer(client, "view"), await bearer(client, "view")
    user_id = platform.users["view"]

    response = await client.put(f"/api/v1/users/{user_id}/active", headers=admin, json={"active": False})

    assert response.status_code == 200 and response.json()["sessions_revoked"] == 2
    for headers in (first, second):
        assert_problem(await client.get("/api/v1/devices", headers=headers), 401)
    assert (await login(client, "view")).status_code == 401
    entry = next(e for e in reversed(platform.audit.entries) if e.action == "user.change")
    assert entry.target == f"user:{user_id}" and entry.details == {"change": "disabled", "sessions_revoked": 2}
    assert (await client.put(f"/api/v1/users/{user_id}/active", headers=admin, json={"active": True})).is_success
    assert (await login(client, "view")).status_code == 200
    assert_problem(await client.put(f"/api/v1/users/{platform.users['admin']}/active", headers=admin,
                                    json={"active": False}), 409)


async def test_a_stream_token_of_an_ended_session_is_refused(platform: AccessPlatform,
                                                             client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "admin")
    channel = platform.channels[0].id
    token, _ = _services(platform).stream_tokens.issue("admin", channel, None, _session_id(headers))
    other, _ = _services(platform).stream_tokens.issue("admin", channel, None, "0" * 32)

    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204

    refused = await client.get(f"/api/v1/live/{channel}/index.m3u8", params={"token": token})
    assert_problem(refused, 403)
    assert "session" in refused.json()["detail"]
    # A token of a session still open passes the session check (and fails later: the device is offline).
    assert (await client.get(f"/api/v1/live/{channel}/index.m3u8", params={"token": other})).status_code == 409


async def test_ending_a_session_ends_its_open_streams(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    guard = _services(platform).sessions
    headers = await bearer(client, "view")
    session = await guard.active(_session_id(headers))
    assert session is not None
    mine, others = Consumer("ws:view"), Consumer("ws:other")

    with guard.streams.watching(Viewer("view", session.id), mine), guard.streams.watching(Viewer("view", "1" * 32),
                                                                                          others):
        ended = await guard.revoke([session], "admin")

    assert ended == 1
    assert mine.get_nowait() == StreamEnd(SESSION_ENDED) and others.get_nowait() is None


async def test_last_seen_is_written_at_most_once_per_interval(platform: AccessPlatform) -> None:
    store = platform.sessions
    tokens = TokenService(SECRET, TOKEN_TTL)
    guard = SessionGuard(store, tokens)
    user = await platform.user_store.get_user("view")
    assert user is not None
    session, issued = await guard.open(user, SessionKind.BEARER, "127.0.0.1", None)
    before = session.last_seen_at

    await guard.check(issued.principal)
    first = await store.get(session.id)
    await guard.check(issued.principal)
    second = await store.get(session.id)

    assert first is not None and second is not None
    assert first.last_seen_at >= before and second.last_seen_at == first.last_seen_at


async def test_a_device_playback_of_an_ended_session_is_refused() -> None:
    tokens = TokenService(SECRET, TOKEN_TTL)
    guard = SessionGuard(InMemorySessionStore(), tokens)
    mine, _ = await guard.open(FakeUser(3, "view", "viewer"), SessionKind.BEARER, None, None)
    theirs, _ = await guard.open(FakeUser(2, "oper", "operator"), SessionKind.BEARER, None, None)
    playbacks = DevicePlaybacks(PlaybackTokenService(SECRET, 60))
    views = [playbacks.new(1, name, utc_now(), utc_now(), lambda v: True) for name in ("view", "oper")]
    views[0].auth_session, views[1].auth_session = mine.id, theirs.id
    urls = [playbacks.tokens.issue(v.username, v.session_id, 1)[0] for v in views]

    await guard.revoke([mine], "view")

    with pytest.raises(Problem) as refused:
        await _verified(playbacks, guard, urls[0], views[0].session_id)
    assert refused.value.status == 403
    assert (await _verified(playbacks, guard, urls[1], views[1].session_id))[0] is views[1]


async def test_a_stream_opened_while_its_session_ends_is_ended() -> None:
    guard = SessionGuard(InMemorySessionStore(), TokenService(SECRET, TOKEN_TTL))
    session, _ = await guard.open(FakeUser(3, "view", "viewer"), SessionKind.BEARER, None, None)
    assert not await guard.is_revoked(session.id)  # the stream token's check passes ...
    await guard.revoke([session], "admin")  # ... then the session ends while the stream is being opened
    consumer = Consumer("ws:view")

    with guard.streams.watching(Viewer("view", session.id), consumer):
        assert consumer.get_nowait() == StreamEnd(SESSION_ENDED)


@pytest.mark.parametrize("how", ["PUT active", "PATCH"])
async def test_disabling_a_user_ends_all_their_streams_and_refuses_their_stream_tokens(
        platform: AccessPlatform, client: httpx.AsyncClient, how: str) -> None:
    """Streams opened with a session and with an API token (no session) alike; another user's run on."""
    guard = _services(platform).sessions
    admin, view = await bearer(client, "admin"), await bearer(client, "view")
    user_id, channel = platform.users["view"], platform.channels[0].id
    signed_in, machine, theirs = Consumer("ws:view"), Consumer("ws:view-api-token"), Consumer("ws:oper")
    api_token, _ = _services(platform).stream_tokens.issue("view", channel, platform.grant.id, None)

    async def set_active(active: bool) -> httpx.Response:
        if how == "PATCH":
            return await client.patch(f"/api/v1/users/{user_id}", headers=admin, json={"active": active})
        return await client.put(f"/api/v1/users/{user_id}/active", headers=admin, json={"active": active})

    with (guard.streams.watching(Viewer("view", _session_id(view)), signed_in),
          guard.streams.watching(Viewer("view", None), machine), guard.streams.watching(Viewer("oper", None), theirs)):
        assert (await set_active(False)).status_code == 200
        late = Consumer("ws:view-late")  # opened after its token was checked, as the account was disabled
        with guard.streams.watching(Viewer("view", None), late):
            assert late.get_nowait() == StreamEnd(ACCOUNT_DISABLED)

    assert signed_in.get_nowait() == StreamEnd(ACCOUNT_DISABLED) and machine.get_nowait() == StreamEnd(ACCOUNT_DISABLED)
    assert theirs.get_nowait() is None
    refused = await client.get(f"/api/v1/live/{channel}/index.m3u8", params={"token": api_token})
    assert "disabled" in assert_problem(refused, 403)["detail"]
    assert (await set_active(True)).status_code == 200
    # Enabled again: the token passes the sign-in check (and fails later: the device is offline).
    assert (await client.get(f"/api/v1/live/{channel}/index.m3u8", params={"token": api_token})).status_code == 409
