"""A share request on the real platform with the real simulator: the requesting department's operator watches
an approved channel over the live WebSocket; revoking the share ends that socket at once."""

from __future__ import annotations

import asyncio
import json
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


async def test_revoking_a_share_closes_the_open_live_websocket(tmp_path: Path) -> None:
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
                "channel_ids": [first, second], "actions": ["live"], "purpose": "flooding at the underpass"})
            assert asked.status_code == 201, asked.text
            request_id = asked.json()["id"]
            approved = await client.post(f"/api/v1/share-requests/{request_id}/approve", headers=owner_headers,
                                         json={"channel_ids": [first]})
            assert approved.status_code == 200, approved.text
            grant_id = approved.json()["grant_id"]

            assert (await client.post(f"/api/v1/channels/{second}/live", headers=requester_headers)
                    ).status_code == 403
            live = await client.post(f"/api/v1/channels/{first}/live", headers=requester_headers)
            assert live.status_code == 200, live.text
            async with websockets.connect(str(live.json()["ws_url"]), max_size=None) as ws:
                init = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert init["type"] == "init"
                assert isinstance(await asyncio.wait_for(ws.recv(), 10), bytes)  # the init segment
                async with asyncio.timeout(10):  # media is flowing (stats messages come in between)
                    while not isinstance(await ws.recv(), bytes):
                        pass
                assert stack.platform.access is not None and stack.platform.access.streams.count(grant_id) == 1

                revoked = await client.post(f"/api/v1/share-requests/{request_id}/revoke", headers=owner_headers)
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
                assert ended == {"type": "end", "reason": "grant revoked"}
            assert stack.platform.access.streams.count(grant_id) == 0
            assert (await client.post(f"/api/v1/channels/{first}/live", headers=requester_headers)
                    ).status_code == 403
