"""A share request on the real platform with the real simulator: the requesting department's operator watches
an approved channel over the live WebSocket, or plays back the device's recording of it; revoking the share
ends that socket at once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import websockets

from clearsight.access.users import Role
from tests.integration.live_api_stack import CHANNEL_GB_IDS, LiveApiStack, live_api_stack
from tests.integration.processes import ADMIN_PASSWORD

pytestmark = pytest.mark.integration


async def _login(stack: LiveApiStack, username: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        response = await client.post("/api/v1/auth/token", data={"username": username, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _department(client: httpx.AsyncClient, name: str, region: str, user_id: int) -> int:
    response = await client.post("/api/v1/departments", json={"name": name, "home_region_code": region})
    assert response.status_code == 201, response.text
    department_id = int(response.json()["id"])
    assigned = await client.put(f"/api/v1/users/{user_id}/department", json={"department_id": department_id})
    assert assigned.status_code == 204, assigned.text
    return department_id


@dataclass
class Shared:
    """One channel of the owner's shared with the requesting operator; `second` was asked for and left out."""
    stack: LiveApiStack
    client: httpx.AsyncClient
    owner: dict[str, str]
    requester: dict[str, str]
    request_id: int
    grant_id: str
    first: int
    second: int


@asynccontextmanager
async def _shared(tmp_path: Path, actions: list[str]) -> AsyncIterator[Shared]:
    async with live_api_stack(tmp_path / "platform", with_access=True) as stack:
        first, second = [await stack.channel_pk(gb) for gb in CHANNEL_GB_IDS]
        owner = await stack.platform.users.create_user("ownop", ADMIN_PASSWORD, Role.OPERATOR)
        requester = await stack.platform.users.create_user("reqop", ADMIN_PASSWORD, Role.OPERATOR)
        async with stack.client() as admin:
            await _department(admin, "Governance", "3402", int(owner.id))  # owns the simulator's channels
            await _department(admin, "Traffic", "3501", int(requester.id))
        owner_headers, requester_headers = await _login(stack, "ownop"), await _login(stack, "reqop")
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=20.0) as client:
            assert (await client.post(f"/api/v1/channels/{first}/live", headers=requester_headers)
                    ).status_code == 403
            asked = await client.post("/api/v1/share-requests", headers=requester_headers, json={
                "channel_ids": [first, second], "actions": actions, "purpose": "flooding at the underpass"})
            assert asked.status_code == 201, asked.text
            request_id = asked.json()["id"]
            approved = await client.post(f"/api/v1/share-requests/{request_id}/approve", headers=owner_headers,
                                         json={"channel_ids": [first]})
            assert approved.status_code == 200, approved.text
            yield Shared(stack, client, owner_headers, requester_headers, request_id, approved.json()["grant_id"],
                         first, second)


async def _media_flows(ws: websockets.ClientConnection) -> None:
    init = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert init["type"] == "init"
    assert isinstance(await asyncio.wait_for(ws.recv(), 10), bytes)  # the init segment
    async with asyncio.timeout(10):  # media is flowing (stats messages come in between)
        while not isinstance(await ws.recv(), bytes):
            pass


async def _revoke_and_see_the_end(shared: Shared, ws: websockets.ClientConnection) -> dict[str, object]:
    revoked = await shared.client.post(f"/api/v1/share-requests/{shared.request_id}/revoke", headers=shared.owner)
    assert revoked.status_code == 200, revoked.text
    ended: dict[str, object] | None = None
    try:
        async with asyncio.timeout(5):
            while ended is None:
                message = await ws.recv()
                if isinstance(message, str) and json.loads(message).get("type") == "end":
                    ended = json.loads(message)
        await asyncio.wait_for(ws.recv(), 5)  # the server closes after the end message
        raise AssertionError("the socket stayed open after the end message")
    except websockets.exceptions.ConnectionClosed:
        pass
    return ended


async def _revoking_ends_the_stream(shared: Shared, ws_url: str) -> None:
    """With media flowing on `ws_url` under the share's grant, revoking the share ends the socket and the grant's
    count of open streams."""
    access = shared.stack.platform.access
    assert access is not None
    async with websockets.connect(ws_url, max_size=None) as ws:
        await _media_flows(ws)
        assert access.streams.count(shared.grant_id) == 1
        assert await _revoke_and_see_the_end(shared, ws) == {"type": "end", "reason": "grant revoked"}
    assert access.streams.count(shared.grant_id) == 0


async def test_revoking_a_share_closes_the_open_live_websocket(tmp_path: Path) -> None:
    async with _shared(tmp_path, ["live"]) as shared:
        client, requester_headers = shared.client, shared.requester
        assert (await client.post(f"/api/v1/channels/{shared.second}/live", headers=requester_headers)
                ).status_code == 403
        live = await client.post(f"/api/v1/channels/{shared.first}/live", headers=requester_headers)
        assert live.status_code == 200, live.text
        await _revoking_ends_the_stream(shared, str(live.json()["ws_url"]))
        assert (await client.post(f"/api/v1/channels/{shared.first}/live", headers=requester_headers)
                ).status_code == 403


async def test_revoking_a_share_closes_the_open_device_playback(tmp_path: Path) -> None:
    async with _shared(tmp_path, ["playback"]) as shared:
        shared.stack.sim.recordings.recorded_since -= 3600.0  # the simulator has "recorded" the last hour
        start = datetime.fromtimestamp(int(time.time()) - 1800, UTC)
        played = await shared.client.post(f"/api/v1/channels/{shared.first}/device-playback",
                                          headers=shared.requester,
                                          json={"start": start.isoformat(),
                                                "end": (start + timedelta(seconds=600)).isoformat()})
        assert played.status_code == 200, played.text
        await _revoking_ends_the_stream(shared, str(played.json()["ws_url"]))
        async with httpx.AsyncClient() as plain:  # the stream URLs of that playback are refused from now on
            assert (await plain.get(str(played.json()["hls_url"]))).status_code == 403
