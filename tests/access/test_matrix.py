"""The authorization matrix, generated from the app's routes: every channel route × every role × a channel in
and out of the granted scope × each class. A new route naming a channel without a `ChannelPermission` check,
or a new route not naming one and not listed in NOT_CHANNEL_SCOPED with a reason, fails here.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from clearsight.access.policy import ChannelClass
from clearsight.api.channel_access import (
    REASON_ACTIONS,
    REASON_CLASSES,
    REASON_REQUIRED,
    AnyChannelPermission,
    ChannelPermission,
)
from tests.access.app_routes import ROUTES, dependency_calls, roles_of
from tests.access.platform import USERS, AccessPlatform
from tests.api.session import bearer

CHANNEL_PARAM = "{channel_id}"
STREAM_PREFIX = "/api/v1/live/"  # stream URLs: a stream token, checked by tests/access/test_stream_grants.py
RECORDED_STREAM_PREFIX = "/api/v1/playback/"  # recorded playback: stream tokens too (tests/recording)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# Routes naming no channel in their path, each with why it is not channel-scoped (or how it is scoped).
NOT_CHANNEL_SCOPED: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "the API description",
    ("GET", "/docs"): "the API description",
    ("GET", "/healthz"): "health probe, no data",
    ("GET", "/metrics"): "platform figures, no channel data",
    ("POST", "/api/v1/auth/token"): "login",
    ("POST", "/api/v1/auth/session"): "login (cookie)",
    ("POST", "/api/v1/auth/logout"): "the caller's own session (test_sessions.py)",
    ("PUT", "/api/v1/auth/password"): "the caller's own password",
    ("GET", "/api/v1/auth/sessions"): "own sessions; administrators: anyone's (test_matrix_of_credential_routes)",
    ("DELETE", "/api/v1/auth/sessions/{session_id}"): "own sessions; administrators: anyone's",
    ("POST", "/api/v1/api-tokens"): "a token of the caller's own, acting within the caller's rights",
    ("GET", "/api/v1/api-tokens"): "own tokens; administrators: anyone's (test_matrix_of_credential_routes)",
    ("DELETE", "/api/v1/api-tokens/{token_id}"): "own tokens; administrators: anyone's",
    ("PUT", "/api/v1/users/{user_id}/active"): "administrators only",
    ("GET", "/api/v1/devices"): "devices with a channel in the caller's scope, filtered in the query (test_devices)",
    ("GET", "/api/v1/devices/{device_id}"): "DevicePermission: 404 unless the caller sees a channel of it "
                                            "(test_device_matrix)",
    ("DELETE", "/api/v1/devices/{device_id}"): "administrators only",
    ("GET", "/api/v1/devices/{device_id}/channels"): "DevicePermission (404 as above); filtered by the caller's scope "
                                                     "in the query",
    ("POST", "/api/v1/devices/{device_id}/catalog/refresh"): "operators; DevicePermission(manage): manage on every "
                                                             "channel of the device (test_device_matrix)",
    ("GET", "/api/v1/devices/{device_id}/status"): "DevicePermission: a visible device; hidden alarm inputs left out "
                                                   "(test_device_matrix)",
    ("PUT", "/api/v1/devices/{device_id}/password"): "administrators only",
    ("GET", "/api/v1/devices/pending"): "administrators only; devices not admitted, no channels",
    ("POST", "/api/v1/devices/pending/{device_id}/approve"): "administrators only",
    ("DELETE", "/api/v1/devices/pending/{device_id}"): "administrators only",
    ("GET", "/api/v1/channels"): "filtered by the caller's scope in the query (test_channel_lists)",
    ("GET", "/api/v1/regions"): "counts filtered by the caller's scope in the query",
    ("GET", "/api/v1/groups"): "catalog structure, no channels",
    ("POST", "/api/v1/exports"): "checks export on each channel of its body (test_exports_access)",
    ("GET", "/api/v1/exports"): "the caller's own exports (administrators and auditors: all)",
    ("GET", "/api/v1/exports/signing-key"): "public key",
    ("GET", "/api/v1/exports/{export_id}"): "its creator, administrators and auditors (test_exports_access)",
    ("GET", "/api/v1/exports/{export_id}/download"): "likewise; its channels were checked when it was requested",
    ("POST", "/api/v1/legal-holds"): "checks manage on the body's channel (test_legal_hold_needs_manage)",
    ("GET", "/api/v1/legal-holds"): "hold metadata, no video",
    ("GET", "/api/v1/legal-holds/{hold_id}"): "hold metadata, no video",
    ("DELETE", "/api/v1/legal-holds/{hold_id}"): "checks manage on the hold's channel",
    ("GET", "/api/v1/recording/status"): "operators; storage figures",
    ("GET", "/api/v1/device-playback/{session_id}"): "a session opened after the playback check of its channel",
    ("POST", "/api/v1/device-playback/{session_id}/control"): "likewise",
    ("DELETE", "/api/v1/device-playback/{session_id}"): "likewise",
    ("DELETE", "/api/v1/playback/{session_id}"): "the session's owner (or an administrator); opened after the playback"
                                                 " check of its channel",
    ("WS", "/api/v1/playback/{session_id}/ws"): "stream token of a session opened after the playback check; its grant"
                                                " must still be active (tests/recording/test_playback_api.py)",
    ("GET", "/api/v1/playback/{session_id}/index.m3u8"): "likewise",
    ("GET", "/api/v1/playback/{session_id}/init/{segment_id}.mp4"): "likewise",
    ("GET", "/api/v1/playback/{session_id}/seg/{sequence}.m4s"): "likewise",
    ("GET", "/api/v1/grants"): "administrators only",
    ("POST", "/api/v1/grants"): "administrators only",
    ("GET", "/api/v1/grants/{grant_id}"): "administrators only",
    ("DELETE", "/api/v1/grants/{grant_id}"): "administrators only",
    ("GET", "/api/v1/departments"): "names only",
    ("POST", "/api/v1/departments"): "administrators only",
    ("PUT", "/api/v1/users/{user_id}/department"): "administrators only",
    ("GET", "/api/v1/share-requests"): "operators; requests of the caller's department (administrators: any)",
    ("POST", "/api/v1/share-requests"): "operators; names channels but hands out nothing (the owner decides)",
    ("GET", "/api/v1/share-requests/{request_id}"): "operators; parties to the request only",
    ("POST", "/api/v1/share-requests/{request_id}/approve"): "the owning department's operators, or administrators",
    ("POST", "/api/v1/share-requests/{request_id}/reject"): "likewise",
    ("POST", "/api/v1/share-requests/{request_id}/revoke"): "likewise; revokes the grant, ending its streams",
    ("GET", "/api/v1/share-requests/channels"): "operators; other departments' channels to ask for: no stream, "
                                                 "sensitive ones never listed (test_share_discovery)",
    ("GET", "/api/v1/users/me"): "the caller's own profile",
    ("GET", "/api/v1/users"): "administrators only",
    ("POST", "/api/v1/users"): "administrators only",
    ("PATCH", "/api/v1/users/{user_id}"): "administrators only",
    ("GET", "/api/v1/audit"): "administrators and auditors",
    ("GET", "/api/v1/audit/export"): "administrators and auditors",
}
# Channel routes that check otherwise than by ChannelPermission, with the status a refusal gives.
CHANNEL_ROUTES_CHECKED_OTHERWISE: dict[tuple[str, str], tuple[str, int | None]] = {
    ("GET", "/api/v1/channels/{channel_id}"): ("catalog facts, only within the caller's list scope", 404),
    ("PUT", "/api/v1/channels/{channel_id}/class"): ("administrators only: classifying is not an access", None),
}
PATH_PARAM = re.compile(r"\{[^}]+\}")
STATED_REASON = "Incident 2026-118: checking the junction"


CHANNEL_ROUTES = [(m, p, r) for m, p, r in ROUTES if CHANNEL_PARAM in p and not p.startswith(STREAM_PREFIX)]


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES], ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_is_checked_or_listed(method: str, path: str) -> None:
    route = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    if path.startswith(STREAM_PREFIX):
        return  # stream URLs: test_stream_grants
    if CHANNEL_PARAM in path and (method, path) not in CHANNEL_ROUTES_CHECKED_OTHERWISE:
        assert route is not None
        actions = [c.action for c in dependency_calls(route.dependant) if isinstance(c, ChannelPermission)]
        assert actions, f"{method} {path} names a channel but has no ChannelPermission dependency"
    elif CHANNEL_PARAM not in path:
        assert (method, path) in NOT_CHANNEL_SCOPED, f"{method} {path}: add a check or list it with a reason"


def _needs_reason(route: APIRoute, channel_class: ChannelClass) -> bool:
    """Live view and playback of restricted and sensitive channels need `?reason=` (docs/access.md)."""
    actions = {c.action for c in dependency_calls(route.dependant)
               if isinstance(c, ChannelPermission) and not isinstance(c, AnyChannelPermission)}
    return bool(actions & REASON_ACTIONS) and channel_class in REASON_CLASSES


async def test_matrix_of_channel_routes(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    """Each channel route × role × channel (in/out of scope × class): refused exactly when no grant allows it.

    Where a reason is needed it is supplied; the same request without it is then refused with
    `reason-required` when access would be allowed, and with the plain refusal (never a prompt) otherwise."""
    headers = {name: await bearer(client, name) for name in USERS}
    mismatches: list[str] = []
    checked = reasons_checked = 0
    for method, path, route in CHANNEL_ROUTES:
        assert route is not None
        roles = roles_of(route)
        other = CHANNEL_ROUTES_CHECKED_OTHERWISE.get((method, path))
        for username, role in USERS.items():
            for channel in platform.channels:
                allowed = platform.expected_allowed(username, channel)
                if other is not None and other[1] is None:
                    allowed = role == "administrator"
                if roles is not None and str(role) not in roles:
                    allowed = False
                if role == "auditor" and method not in SAFE:
                    allowed = False
                url = path.replace(CHANNEL_PARAM, str(channel.id))
                url = PATH_PARAM.sub("1", url)
                needs_reason = other is None and _needs_reason(route, channel.channel_class)
                params = {"reason": STATED_REASON} if needs_reason else None
                response = await client.request(method, url, headers=headers[username], params=params)
                refusal = other[1] if other is not None and other[1] is not None else 403
                refused = response.status_code in (403, refusal)
                checked += 1
                if refused == allowed or (response.status_code >= 500 and response.status_code != 503):
                    mismatches.append(f"{method} {url} as {username} on {channel}: {response.status_code}"
                                      f" {response.text[:120]} (expected {'allowed' if allowed else 'refused'})")
                if not needs_reason:
                    continue
                bare = await client.request(method, url, headers=headers[username])
                prompted = bare.status_code == 403 and bare.json().get("type", "").endswith("reason-required")
                reasons_checked += 1
                if prompted != allowed or (not allowed and bare.status_code != 403):
                    mismatches.append(f"{method} {url} as {username} on {channel} without a reason: "
                                      f"{bare.status_code} {bare.text[:120]} (expected "
                                      f"{REASON_REQUIRED if allowed else 'a refusal without a prompt'})")
    assert mismatches == []
    assert checked == len(CHANNEL_ROUTES) * len(USERS) * len(platform.channels)
    assert reasons_checked > 0


async def test_channel_lists_are_filtered_in_the_query(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    in_scope = {c.id for c in platform.channels if c.in_scope and c.channel_class is not ChannelClass.SENSITIVE}
    for username in USERS:
        body = (await client.get("/api/v1/channels", headers=await bearer(client, username))).json()
        listed = {item["id"] for item in body["items"]}
        if username == "admin":
            assert listed == {c.id for c in platform.channels}
        elif username in ("oper", "view", "maint"):
            assert listed == in_scope and body["total"] == len(in_scope)
        else:
            assert listed == set() and body["total"] == 0
    regions = (await client.get("/api/v1/regions", headers=await bearer(client, "view"))).json()
    counts = {node["code"]: node["channel_count"] for node in regions}
    assert counts.get("34") == len(in_scope) and counts.get("35", 0) == 0


async def test_matrix_of_credential_routes(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    """Each role on another user's sessions, API tokens and account: only administrators reach them."""
    owner = "maint"
    owner_id = platform.users[owner]
    mismatches: list[str] = []
    for username, role in USERS.items():
        if username == owner:
            continue
        headers = await bearer(client, username)
        owner_session = (await client.get("/api/v1/auth/sessions", headers=await bearer(client, owner))).json()[0]
        owner_token = (await client.post("/api/v1/api-tokens", headers=await bearer(client, owner),
                                         json={"name": "m", "scopes": ["read"]})).json()
        admin = role == "administrator"
        expected = [
            ("GET", "/api/v1/auth/sessions", {"user_id": owner_id}, 200 if admin else 403),
            ("GET", "/api/v1/api-tokens", {"user_id": owner_id}, 200 if admin else 403),
            ("DELETE", f"/api/v1/auth/sessions/{owner_session['id']}", None, 204 if admin else 404),
            ("DELETE", f"/api/v1/api-tokens/{owner_token['id']}", None, 200 if admin else 404),
            ("PUT", f"/api/v1/users/{owner_id}/active", None, 200 if admin else 403),
        ]
        for method, path, params, status in expected:
            body = {"active": True} if path.endswith("/active") else None
            response = await client.request(method, path, headers=headers, params=params, json=body)
            if response.status_code != status:
                mismatches.append(f"{method} {path} as {username}: {response.status_code}, expected {status}")
    assert mismatches == []


PUBLIC = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/session"), ("GET", "/healthz"),
          ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect")}


async def test_a_metrics_token_opens_only_metrics(client: httpx.AsyncClient) -> None:
    """Every authenticated route of the app, called with a `metrics:read` API token: refused but /metrics."""
    created = await client.post("/api/v1/api-tokens", headers=await bearer(client, "admin"),
                                json={"name": "scraper", "scopes": ["metrics:read"]})
    headers = {"Authorization": f"Bearer {created.json()['secret']}"}
    opened = []
    for method, path, route in ROUTES:
        if route is None or path.startswith(STREAM_PREFIX) or path.startswith(RECORDED_STREAM_PREFIX) \
                or (method, path) in PUBLIC:
            continue  # WebSockets and stream URLs take stream tokens; public routes take nothing
        response = await client.request(method, PATH_PARAM.sub("1", path), headers=headers)
        if response.status_code != 403 and path != "/metrics":
            opened.append(f"{method} {path} -> {response.status_code}")
        if path == "/metrics":
            assert response.status_code == 200
    assert opened == []
# Channel routes whose required actions are not the same for every method, as docs/privacy.md states them.
EXPECTED_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/channels/{channel_id}/privacy-masks"): {"live", "manage"},  # either one
    ("POST", "/api/v1/channels/{channel_id}/privacy-masks"): {"manage"},
    ("PUT", "/api/v1/channels/{channel_id}/privacy-masks/{mask_id}"): {"manage"},
    ("DELETE", "/api/v1/channels/{channel_id}/privacy-masks/{mask_id}"): {"manage"},
}


@pytest.mark.parametrize(("method", "path"), list(EXPECTED_ACTIONS), ids=[f"{m} {p}" for m, p in EXPECTED_ACTIONS])
def test_privacy_mask_routes_check_the_documented_actions(method: str, path: str) -> None:
    route = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    assert route is not None
    checks = [c for c in dependency_calls(route.dependant) if isinstance(c, ChannelPermission)]
    assert {str(a) for c in checks for a in getattr(c, "actions", (c.action,))} == EXPECTED_ACTIONS[(method, path)]

# Routes of the sharing and users APIs naming no channel: who may call them (every other role gets 403).
ROLE_ROUTES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/share-requests/channels"): frozenset({"admin", "oper"}),
    ("GET", "/api/v1/users/me"): frozenset(USERS),
    ("GET", "/api/v1/users"): frozenset({"admin"}),
    ("POST", "/api/v1/users"): frozenset({"admin"}),
    ("PATCH", "/api/v1/users/{user_id}"): frozenset({"admin"}),
}


async def test_matrix_of_role_routes(platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    """Each route of ROLE_ROUTES × role: 403 exactly for the roles not listed (bodies are invalid on purpose,
    so an admitted caller gets 422 and nothing changes)."""
    mismatches = []
    for (method, path), allowed_users in ROLE_ROUTES.items():
        assert (method, path) in NOT_CHANNEL_SCOPED
        url = PATH_PARAM.sub(str(platform.users["view"]), path)
        for username in USERS:
            body = {} if method in ("POST", "PATCH") else None
            response = await client.request(method, url, headers=await bearer(client, username), json=body)
            refused = response.status_code == 403
            if refused == (username in allowed_users) or response.status_code >= 500:
                mismatches.append(f"{method} {url} as {username}: {response.status_code} {response.text[:120]}")
    assert mismatches == []
