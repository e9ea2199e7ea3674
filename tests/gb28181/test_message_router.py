"""Device → platform MESSAGE/NOTIFY routing: keepalives, answers, catalog events, bad bodies."""

from __future__ import annotations

import pytest

from clearsight.gb28181.commander import DeviceCommander
from clearsight.gb28181.manscdp import CatalogItem, build_catalog_notify, build_keepalive
from clearsight.gb28181.message_router import MessageRouter
from clearsight.gb28181.presence import PresenceTracker
from clearsight.gb28181.requests import RequestFactory
from clearsight.sim.device import SimulatedDevice
from clearsight.sip.transport import Peer
from tests.gb28181.platform_fakes import (
    DEVICE_ID,
    DOMAIN,
    PLATFORM_ID,
    AnsweredRequest,
    FakeClock,
    ScriptedEndpoint,
    sip_request,
)


class Harness:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.presence = PresenceTracker(keepalive_interval=60)
        endpoint = ScriptedEndpoint()
        factory = RequestFactory(PLATFORM_ID, DOMAIN, "127.0.0.1", 5060, endpoint.new_call_id, endpoint.new_tag)
        self.commander = DeviceCommander(endpoint, factory, self.presence)  # type: ignore[arg-type]
        self.events: list[tuple[str, list[CatalogItem]]] = []

        async def on_events(device_id: str, items: list[CatalogItem]) -> None:
            self.events.append((device_id, items))

        self.router = MessageRouter(presence=self.presence, commander=self.commander, clock=self.clock,
                                    on_catalog_events=on_events)

    def register(self) -> None:
        self.presence.registered(DEVICE_ID, Peer("UDP", "127.0.0.1", 5062), 3600, self.clock())

    async def message(self, body: bytes, method: str = "MESSAGE") -> int:
        incoming = AnsweredRequest(sip_request(method, body=body))
        await self.router.handle(incoming)
        return incoming.status


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_keepalive_of_registered_device_is_accepted(harness: Harness) -> None:
    harness.register()
    harness.clock.advance(30)
    assert await harness.message(build_keepalive(1, DEVICE_ID)) == 200
    presence = harness.presence.get(DEVICE_ID)
    assert presence is not None and presence.last_keepalive == harness.clock()


async def test_keepalive_of_unregistered_device_is_refused(harness: Harness) -> None:
    assert await harness.message(build_keepalive(1, DEVICE_ID)) == 403


async def test_unreadable_body_is_bad_request(harness: Harness) -> None:
    harness.register()
    assert await harness.message(b"<Notify><CmdType>Keepalive") == 400
    assert await harness.message(b"\xff\xfe garbage") == 400


async def test_catalog_events_reach_the_handler_by_message_and_notify(harness: Harness) -> None:
    harness.register()
    device = SimulatedDevice.create(DEVICE_ID, "34020000001310000001", 2, 0)
    items = [device.channels[0].catalog_item(DEVICE_ID, event="OFF")]
    assert await harness.message(build_catalog_notify(5, DEVICE_ID, items)) == 200
    assert await harness.message(build_catalog_notify(6, DEVICE_ID, items), method="NOTIFY") == 200
    assert [(d, [i.event for i in its]) for d, its in harness.events] == [(DEVICE_ID, ["OFF"])] * 2


async def test_messages_from_unregistered_devices_are_refused(harness: Harness) -> None:
    device = SimulatedDevice.create(DEVICE_ID, "34020000001310000001", 1, 0)
    items = [device.channels[0].catalog_item(DEVICE_ID, event="ADD")]
    assert await harness.message(build_catalog_notify(5, DEVICE_ID, items)) == 403
    assert harness.events == []
