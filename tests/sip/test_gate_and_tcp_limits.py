"""The endpoint's request gate (stateless refusal, silent drop) and the SIP TCP limits, over real sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from clearsight.sip.endpoint import IncomingRequest, Peer, SipEndpoint
from clearsight.sip.gate import DROP, Refusal
from clearsight.sip.message import SipRequest, SipResponse, parse_message
from clearsight.sip.transport import TcpLimits
from tests.sip.test_endpoint import FAST, HOST, raw_request, raw_udp

SECOND_SOURCE = "127.0.0.2"  # Linux routes all of 127/8 to loopback: a second source address


@asynccontextmanager
async def gated_endpoint(*, gate: dict[str, Refusal] | None = None, limits: TcpLimits | None = None,
                         handled: list[str] | None = None) -> AsyncIterator[SipEndpoint]:
    async def handler(incoming: IncomingRequest) -> None:
        if handled is not None:
            handled.append(incoming.request.method)
        await incoming.respond(200)

    def decide(request: SipRequest, peer: Peer) -> Refusal | None:
        return (gate or {}).get(request.method)

    ep = SipEndpoint(HOST, 0, user_agent="clearsight-test", on_request=handler, timers=FAST, gate=decide,
                     tcp_limits=limits)
    await ep.start()
    try:
        yield ep
    finally:
        await ep.close()


async def tcp_connect(ep: SipEndpoint, source: str = HOST) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, ep.tcp_port, local_addr=(source, 0))


async def tcp_exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, branch: str) -> SipResponse:
    writer.write(raw_request("OPTIONS", branch=branch, transport="TCP"))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    message = parse_message(head)
    assert isinstance(message, SipResponse)
    return message


async def closed_by_peer(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), within) == b""
    except ConnectionResetError:
        return True


async def test_gate_refusal_is_answered_without_a_transaction() -> None:
    handled: list[str] = []
    refusal = Refusal(503, "Service Unavailable", (("Retry-After", "7"),))
    async with gated_endpoint(gate={"REGISTER": refusal}, handled=handled) as ep, raw_udp() as device:
        device.send(raw_request("REGISTER", branch="z9hG4bKgate1", port=device.port), ep)
        response = await device.response()
        assert response.status == 503 and response.header("Retry-After") == "7"
        assert response.header("To") is not None and "tag=" in (response.header("To") or "")
        device.send(raw_request("MESSAGE", branch="z9hG4bKgate2", port=device.port), ep)
        assert (await device.response()).status == 200  # other methods pass the gate
        assert handled == ["MESSAGE"]
        assert all("z9hG4bKgate1" not in str(key) for key in ep._server)


async def test_gate_drop_sends_nothing_and_keeps_no_state() -> None:
    handled: list[str] = []
    async with gated_endpoint(gate={"REGISTER": DROP}, handled=handled) as ep, raw_udp() as device:
        for _ in range(3):  # retransmissions are dropped as well
            device.send(raw_request("REGISTER", branch="z9hG4bKdrop", port=device.port), ep)
        await device.nothing(within=0.5)
        assert handled == [] and ep._server == {}


async def test_idle_tcp_connection_is_closed_after_the_timeout() -> None:
    async with gated_endpoint(limits=TcpLimits(idle_timeout=0.4)) as ep:
        quiet_reader, quiet_writer = await tcp_connect(ep)
        busy_reader, busy_writer = await tcp_connect(ep)
        for _ in range(8):  # CRLF keep-alives every 0.1 s keep this one open
            busy_writer.write(b"\r\n\r\n")
            await asyncio.sleep(0.1)
        assert await closed_by_peer(quiet_reader, within=0.5)
        assert (await tcp_exchange(busy_reader, busy_writer, "z9hG4bKbusy")).status == 200
        assert ep.transport.counts.idle_closed == 1
        for writer in (quiet_writer, busy_writer):
            writer.close()


async def test_connections_beyond_the_per_source_cap_are_refused_others_keep_serving(
        caplog: pytest.LogCaptureFixture) -> None:
    async with gated_endpoint(limits=TcpLimits(max_per_source=2, max_connections=10)) as ep:
        first = [await tcp_connect(ep) for _ in range(2)]
        with caplog.at_level(logging.WARNING, logger="clearsight.sip.transport"):
            refused = [await tcp_connect(ep) for _ in range(3)]
            for reader, _ in refused:
                assert await closed_by_peer(reader, within=1.0)
        refusals = [r for r in caplog.records if "refused TCP connection" in r.getMessage()]
        assert len(refusals) == 1  # logged once, not per connection
        other_reader, other_writer = await tcp_connect(ep, SECOND_SOURCE)
        assert (await tcp_exchange(other_reader, other_writer, "z9hG4bKother")).status == 200
        for index, (reader, writer) in enumerate(first):
            assert (await tcp_exchange(reader, writer, f"z9hG4bKfirst{index}")).status == 200
        assert ep.transport.counts.refused_per_source == 3
        assert ep.transport.accepted_connections == 3
        first[0][1].close()
        await asyncio.sleep(0.1)
        again_reader, again_writer = await tcp_connect(ep)  # a slot came free
        assert (await tcp_exchange(again_reader, again_writer, "z9hG4bKagain")).status == 200
        for _, writer in [*first, *refused, (other_reader, other_writer), (again_reader, again_writer)]:
            writer.close()


async def test_connections_beyond_the_global_cap_are_refused() -> None:
    async with gated_endpoint(limits=TcpLimits(max_per_source=0, max_connections=2)) as ep:
        kept = [await tcp_connect(ep), await tcp_connect(ep, SECOND_SOURCE)]
        reader, writer = await tcp_connect(ep, SECOND_SOURCE)
        assert await closed_by_peer(reader, within=1.0)
        assert ep.transport.counts.refused_global == 1
        assert (await tcp_exchange(*kept[1], "z9hG4bKkept")).status == 200
        for _, kept_writer in [*kept, (reader, writer)]:
            kept_writer.close()


async def test_connections_we_open_are_not_limited() -> None:
    async with gated_endpoint(limits=TcpLimits(max_connections=1, max_per_source=1)) as device, \
            gated_endpoint(limits=TcpLimits(max_connections=1, max_per_source=1)) as platform:
        blocker_reader, blocker_writer = await tcp_connect(platform)  # fills the platform's accepted slots
        connection = await platform.transport.connection_to(Peer("TCP", HOST, device.tcp_port))
        assert not connection.closed and platform.transport.accepted_connections == 1
        blocker_writer.close()
        del blocker_reader
