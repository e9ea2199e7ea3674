"""A stated reason for live view and playback of restricted and sensitive channels (`ChannelPermission`):
403 `reason-required` without one, the reason in the audit entries of live.start and snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import ChannelClass
from clearsight.media.es import EsFrame
from clearsight.media.hub import MediaSource
from tests.access.platform import AccessPlatform, MatrixChannel, build_platform
from tests.api.fakes import FakeControl
from tests.api.session import assert_problem, bearer
from tests.recording.fake_stream import ClipSource
from tests.recording.samples import make_clip

REASON = "Traffic incident 2026-118 at the junction"


@cache
def _frames() -> list[EsFrame]:
    return make_clip(1.0).frames


class StreamingControl(FakeControl):
    """Every channel streams a short clip, so live view and snapshots succeed."""

    async def open_live_source(self, device_id: str, channel_gb_id: str) -> MediaSource:
        return ClipSource(_frames(), speed=4.0)


@pytest.fixture
async def platform(db_engine: AsyncEngine) -> AsyncIterator[AccessPlatform]:
    platform = await build_platform(db_engine, StreamingControl())
    yield platform
    await platform.app.state.services.hub.close()


def _channel(platform: AccessPlatform, channel_class: ChannelClass) -> MatrixChannel:
    return next(c for c in platform.channels if c.in_scope and c.channel_class is channel_class)


async def test_restricted_live_view_without_reason_is_refused_with_the_contract(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    response = await client.post(f"/api/v1/channels/{channel.id}/live", headers=await bearer(client, "view"))
    body = assert_problem(response, 403)
    assert body["type"].endswith("reason-required")
    assert "reason" in body["detail"] and "none was given" in body["detail"]
    assert body["channel_id"] == channel.id and body["action"] == "live" and body["channel_class"] == "restricted"
    assert not [e for e in platform.audit.entries if e.action == "live.start"]


@pytest.mark.parametrize("stated", ["", "   ", "abc", "  ab  ", "x" * 501, "bad\ufffdtext"])
async def test_an_unacceptable_reason_is_refused(platform: AccessPlatform, client: httpx.AsyncClient,
                                                  stated: str) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    response = await client.get(f"/api/v1/channels/{channel.id}/snapshot", params={"reason": stated},
                                headers=await bearer(client, "view"))
    assert assert_problem(response, 403)["type"].endswith("reason-required")


async def test_a_reason_with_nul_is_refused_before_the_permission_check(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    response = await client.get(f"/api/v1/channels/{channel.id}/snapshot", params={"reason": "four\x00 reasons"},
                                headers=await bearer(client, "view"))
    assert assert_problem(response, 422)["type"].endswith("validation-failed")
    assert not [e for e in platform.audit.entries if e.action == "snapshot"]


async def test_live_start_and_snapshot_entries_carry_the_trimmed_reason(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    headers = await bearer(client, "view")
    padded = f"  {REASON}\t"
    live = await client.post(f"/api/v1/channels/{channel.id}/live?reason={quote(padded)}", headers=headers)
    assert live.status_code == 200, live.text
    snapshot = await client.get(f"/api/v1/channels/{channel.id}/snapshot", params={"reason": "Zählung 路口"},
                                headers=headers)
    assert snapshot.status_code == 200, snapshot.text
    entries = {e.action: e for e in platform.audit.entries if e.action in ("live.start", "snapshot")}
    assert entries["live.start"].reason == REASON
    assert entries["snapshot"].reason == "Zählung 路口"
    assert entries["live.start"].grant == platform.grant.id


async def test_exactly_four_and_five_hundred_characters_are_accepted(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    headers = await bearer(client, "oper")
    for stated in ("abcd", "y" * 500):
        response = await client.get(f"/api/v1/channels/{channel.id}/snapshot", params={"reason": stated},
                                    headers=headers)
        assert response.status_code == 200, response.text


async def test_public_channels_need_none_and_administrators_state_one_too(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    public = _channel(platform, ChannelClass.PUBLIC)
    response = await client.get(f"/api/v1/channels/{public.id}/snapshot", headers=await bearer(client, "view"))
    assert response.status_code == 200, response.text
    assert [e.reason for e in platform.audit.entries if e.action == "snapshot"] == [None]
    sensitive = next(c for c in platform.channels if c.channel_class is ChannelClass.SENSITIVE)
    admin = await bearer(client, "admin")
    refused = await client.get(f"/api/v1/channels/{sensitive.id}/snapshot", headers=admin)
    assert assert_problem(refused, 403)["type"].endswith("reason-required")
    allowed = await client.get(f"/api/v1/channels/{sensitive.id}/snapshot", params={"reason": REASON},
                               headers=admin)
    assert allowed.status_code == 200, allowed.text


async def test_no_prompt_for_a_channel_the_caller_may_not_see_anyway(
        platform: AccessPlatform, client: httpx.AsyncClient) -> None:
    sensitive = _channel(platform, ChannelClass.SENSITIVE)  # the grant reaches up to restricted
    response = await client.get(f"/api/v1/channels/{sensitive.id}/snapshot", headers=await bearer(client, "view"))
    assert assert_problem(response, 403)["type"].endswith("access-denied")


async def test_ptz_on_a_restricted_channel_needs_no_reason(platform: AccessPlatform,
                                                           client: httpx.AsyncClient) -> None:
    channel = _channel(platform, ChannelClass.RESTRICTED)
    response = await client.post(f"/api/v1/channels/{channel.id}/ptz", json={"action": "stop"},
                                 headers=await bearer(client, "oper"))
    assert response.status_code == 202, response.text
