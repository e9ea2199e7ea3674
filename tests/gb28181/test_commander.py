"""Platform → device commands against a scripted endpoint: queries, chunked catalogs, re-query, errors."""

from __future__ import annotations

import asyncio

import pytest

from clearsight.gb28181.commander import DeviceCommander
from clearsight.gb28181.errors import DeviceOffline, DeviceRejected, DeviceTimeout
from clearsight.gb28181.manscdp import (
    build_catalog_response,
    build_device_info_response,
    parse_manscdp,
    parse_query,
)
from clearsight.gb28181.presence import PresenceTracker
from clearsight.gb28181.requests import RequestFactory
from clearsight.sim.device import SimulatedDevice
from clearsight.sip.message import SipRequest, make_response
from clearsight.sip.transport import Peer
from tests.gb28181.platform_fakes import DEVICE_ID, DOMAIN, PLATFORM_ID, FakeClock, ScriptedEndpoint

PEER = Peer("UDP", "127.0.0.1", 5062)


def make_commander(endpoint: ScriptedEndpoint, *, online: bool = True, stall: float = 0.2,
                   response_timeout: float = 0.3) -> DeviceCommander:
    presence = PresenceTracker(keepalive_interval=60)
    if online:
        presence.registered(DEVICE_ID, PEER, 3600, FakeClock()())
    factory = RequestFactory(PLATFORM_ID, DOMAIN, "127.0.0.1", 5060, endpoint.new_call_id, endpoint.new_tag)
    return DeviceCommander(endpoint, factory, presence,  # type: ignore[arg-type]
                           response_timeout=response_timeout, catalog_stall_timeout=stall)


def query_sn(request: SipRequest) -> int:
    return parse_manscdp(request.body).sn


async def test_query_returns_the_matching_response() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint)
    task = asyncio.create_task(commander.query(DEVICE_ID, "DeviceInfo"))
    await asyncio.sleep(0.01)
    sent = endpoint.sent[0]
    assert sent.method == "MESSAGE" and sent.uri.startswith(f"sip:{DEVICE_ID}@127.0.0.1:5062")
    assert parse_query(parse_manscdp(sent.body)).cmd_type == "DeviceInfo"
    sn = query_sn(sent)
    # A response with another SN is not ours.
    other = parse_manscdp(build_device_info_response(sn + 1, DEVICE_ID, device_name="x", manufacturer="m",
                                                     model="n", firmware="f", channel=1))
    assert not commander.on_response(DEVICE_ID, other)
    ours = parse_manscdp(build_device_info_response(sn, DEVICE_ID, device_name="cam", manufacturer="m",
                                                    model="n", firmware="f", channel=1))
    assert commander.on_response(DEVICE_ID, ours)
    assert (await task).sn == sn


async def test_query_without_answer_times_out() -> None:
    commander = make_commander(ScriptedEndpoint(), response_timeout=0.05)
    with pytest.raises(DeviceTimeout):
        await commander.query(DEVICE_ID, "DeviceStatus")


async def test_offline_device_is_refused_before_sending() -> None:
    endpoint = ScriptedEndpoint()
    with pytest.raises(DeviceOffline):
        await make_commander(endpoint, online=False).send_ptz(DEVICE_ID, "34020000001310000001", "A50F0100000000B5")
    assert endpoint.sent == []


async def test_sip_timeout_and_rejection_are_reported() -> None:
    with pytest.raises(DeviceTimeout):
        await make_commander(ScriptedEndpoint(reply=lambda r: None)).send_ptz(DEVICE_ID, DEVICE_ID, "A50F0100000000B5")
    with pytest.raises(DeviceRejected) as rejected:
        await make_commander(ScriptedEndpoint(reply=lambda r: make_response(r, 488))).send_ptz(
            DEVICE_ID, DEVICE_ID, "A50F0100000000B5")
    assert rejected.value.status == 488


def _chunks(sn: int, size: int, total: int) -> list[bytes]:
    device = SimulatedDevice.create(DEVICE_ID, "34020000001310000001", total, 0)
    items = device.catalog_items()
    return [build_catalog_response(sn, DEVICE_ID, total, items[i:i + size]) for i in range(0, total, size)]


async def test_catalog_chunks_out_of_order_assemble() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint)
    task = asyncio.create_task(commander.query_catalog(DEVICE_ID))
    await asyncio.sleep(0.01)
    chunks = _chunks(query_sn(endpoint.sent[0]), 7, 30)
    for body in reversed(chunks):
        assert commander.on_response(DEVICE_ID, parse_manscdp(body))
    result = await task
    assert result.complete and len(result.items) == 30 and result.requeries == 0


async def test_stalled_catalog_is_queried_again_and_merged() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint, stall=0.1)
    task = asyncio.create_task(commander.query_catalog(DEVICE_ID))
    await asyncio.sleep(0.01)
    first = _chunks(query_sn(endpoint.sent[0]), 10, 30)
    commander.on_response(DEVICE_ID, parse_manscdp(first[0]))  # chunks 2 and 3 are lost
    while len(endpoint.sent) < 2:  # noqa: ASYNC110 - the fake endpoint has no event to wait on
        await asyncio.sleep(0.02)
    second_sn = query_sn(endpoint.sent[1])
    assert second_sn != query_sn(endpoint.sent[0])
    for body in _chunks(second_sn, 10, 30)[1:]:
        commander.on_response(DEVICE_ID, parse_manscdp(body))
    result = await task
    assert result.complete and len(result.items) == 30 and result.requeries == 1


async def test_catalog_gives_up_after_requeries_and_keeps_what_arrived() -> None:
    endpoint = ScriptedEndpoint()
    commander = make_commander(endpoint, stall=0.05)
    task = asyncio.create_task(commander.query_catalog(DEVICE_ID, requeries=2))
    await asyncio.sleep(0.01)
    commander.on_response(DEVICE_ID, parse_manscdp(_chunks(query_sn(endpoint.sent[0]), 10, 30)[0]))
    result = await task
    assert not result.complete and len(result.items) == 10 and result.sum_num == 30
    assert len(endpoint.sent) == 3  # the query and two re-queries


async def test_subscribe_catalog_sends_event_and_expires() -> None:
    endpoint = ScriptedEndpoint(reply=lambda r: make_response(r, 200))
    commander = make_commander(endpoint)
    assert await commander.subscribe_catalog(DEVICE_ID, 600) == 600
    request = endpoint.sent[0]
    assert request.method == "SUBSCRIBE"
    assert (request.header("Event") or "").startswith("Catalog;id=")
    assert request.header("Expires") == "600"
