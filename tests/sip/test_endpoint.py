"""SipEndpoint over real sockets on 127.0.0.1: UDP and TCP, retransmission, timeouts, hostile input."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import cast

import pytest

from clearsight.sip.dialog import Dialog, create_cancel
from clearsight.sip.endpoint import (
    IncomingRequest,
    Peer,
    SipEndpoint,
    SipObserver,
    TransactionTimeout,
    TransportError,
)
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipMessage, SipRequest, SipResponse, parse_message
from clearsight.sip.transaction import TimerConfig, TransactionStateError

HOST = "127.0.0.1"
FAST = TimerConfig(t1=0.02, t2=0.08, t4=0.1, d=0.2)  # Timer B/F = 64*T1 = 1.28 s
DEVICE = "34020000001320000001"
PLATFORM = "34020000002000000001"

Handler = Callable[[IncomingRequest], Awaitable[None]]


class Recorder(SipObserver):
    def __init__(self) -> None:
        self.received: list[SipMessage] = []
        self.sent: list[SipMessage] = []
        self.timeouts: list[str] = []
        self.rejected: list[str] = []

    def message_received(self, message: SipMessage, peer: Peer) -> None:
        self.received.append(message)

    def message_sent(self, message: SipMessage, peer: Peer) -> None:
        self.sent.append(message)

    def transaction_timed_out(self, method: str) -> None:
        self.timeouts.append(method)

    def message_rejected(self, peer: Peer, reason: str) -> None:
        self.rejected.append(reason)


async def answer_ok(incoming: IncomingRequest) -> None:
    await incoming.respond(200)


@asynccontextmanager
async def endpoint(handler: Handler = answer_ok, *, observer: SipObserver | None = None,
                   timers: TimerConfig = FAST) -> AsyncIterator[SipEndpoint]:
    ep = SipEndpoint(HOST, 0, user_agent="clearsight-test", on_request=handler, observer=observer,
                     timers=timers)
    await ep.start()
    try:
        yield ep
    finally:
        await ep.close()


def new_request(ep: SipEndpoint, method: str = "MESSAGE", *, body: bytes = b"",
                transport: str = "UDP") -> SipRequest:
    headers = Headers([
        ("From", f"<sip:{PLATFORM}@3402000000>;tag={ep.new_tag()}"),
        ("To", f"<sip:{DEVICE}@3402000000>"),
        ("Call-ID", ep.new_call_id()),
        ("CSeq", f"1 {method}"),
        ("Contact", ep.local_contact(transport, PLATFORM)),
    ])
    if body:
        headers.add("Content-Type", "Application/MANSCDP+xml")
    return SipRequest(headers=headers, body=body, method=method, uri=f"sip:{DEVICE}@3402000000")


def peer_of(ep: SipEndpoint, transport: str = "UDP") -> Peer:
    return Peer(transport, HOST, ep.udp_port if transport == "UDP" else ep.tcp_port)


def raw_request(method: str = "MESSAGE", *, branch: str = "z9hG4bKraw1", port: int = 5060, cseq: int = 1,
                call_id: str = "raw-call", extra: str = "", body: bytes = b"", transport: str = "UDP") -> bytes:
    head = (
        f"{method} sip:{PLATFORM}@3402000000 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 192.0.2.99:{port};rport;branch={branch}\r\n"
        f"From: <sip:{DEVICE}@3402000000>;tag=devtag\r\n"
        f"To: <sip:{PLATFORM}@3402000000>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Max-Forwards: 70\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class RawUdp(asyncio.DatagramProtocol):
    """A bare UDP socket standing in for a device."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self, data: bytes, ep: SipEndpoint) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (HOST, ep.udp_port))

    async def response(self, within: float = 2.0) -> SipResponse:
        message = parse_message(await asyncio.wait_for(self.queue.get(), within))
        assert isinstance(message, SipResponse)
        return message

    async def nothing(self, within: float = 0.2) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.queue.get(), within)


@asynccontextmanager
async def raw_udp() -> AsyncIterator[RawUdp]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(RawUdp, local_addr=(HOST, 0))
    try:
        yield proto
    finally:
        transport.close()


async def read_response(reader: asyncio.StreamReader) -> SipResponse:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    body = await reader.readexactly(length) if length else b""
    message = parse_message(head + body)
    assert isinstance(message, SipResponse)
    return message


async def disconnected(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed (FIN) or aborted (RST) the connection."""
    try:
        return await asyncio.wait_for(reader.read(), 2.0) == b""
    except ConnectionResetError:
        return True


# --- basic exchanges ------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_request_and_response(transport: str) -> None:
    seen: list[IncomingRequest] = []

    async def handler(incoming: IncomingRequest) -> None:
        seen.append(incoming)
        await incoming.respond(200, body=b"<Response/>", content_type="Application/MANSCDP+xml",
                               headers={"X-Test": "yes"})

    async with endpoint(handler) as server, endpoint() as client:
        request = new_request(client, body=b"<Notify><CmdType>Keepalive</CmdType></Notify>", transport=transport)
        response = await client.send_request(request, peer_of(server, transport))
        assert response.status == 200
        assert response.body == b"<Response/>"
        assert response.headers.get("X-Test") == "yes"
        assert response.headers.get("User-Agent") == "clearsight-test"
        assert response.to_addr.tag  # a tag is generated for a final response
        (incoming,) = seen
        assert incoming.peer.transport == transport and incoming.peer.host == HOST
        got = incoming.request
        assert got.body == request.body
        assert got.headers.get("Max-Forwards") == "70"
        assert got.headers.get("User-Agent") == "clearsight-test"
        via = got.top_via
        assert via.transport == transport and via.branch and via.branch.startswith("z9hG4bK")
        assert via.params["rport"] == str(incoming.peer.port)  # RFC 3581: filled in by the server


async def test_tcp_requests_back_to_a_device_reuse_its_connection() -> None:
    """A GB device registers over TCP and expects the platform's requests on that same connection."""
    platform_side: list[IncomingRequest] = []
    device_side: list[IncomingRequest] = []

    async def platform_handler(incoming: IncomingRequest) -> None:
        platform_side.append(incoming)
        await incoming.respond(200)

    async def device_handler(incoming: IncomingRequest) -> None:
        device_side.append(incoming)
        await incoming.respond(200)

    async with endpoint(platform_handler) as platform, endpoint(device_handler) as device:
        for _ in range(2):
            response = await device.send_request(new_request(device, "REGISTER", transport="TCP"),
                                                 peer_of(platform, "TCP"))
            assert response.status == 200
        first, second = platform_side
        assert first.peer == second.peer  # one connection for both
        assert first.peer.port != device.tcp_port  # the device's ephemeral side of it
        query = new_request(platform, body=b"<Query><CmdType>Catalog</CmdType></Query>", transport="TCP")
        response = await platform.send_request(query, first.peer)
        assert response.status == 200
        (incoming,) = device_side
        assert incoming.peer == Peer("TCP", HOST, platform.tcp_port)  # arrived on the same connection


async def test_handler_runs_once_per_request_and_ports_are_shared() -> None:
    async with endpoint() as ep:
        assert ep.udp_port == ep.tcp_port != 0
        assert ep.local_host == HOST
        assert ep.local_contact("TCP", "x") == f"<sip:x@{HOST}:{ep.tcp_port};transport=tcp>"
        assert ep.new_branch().startswith("z9hG4bK") and ep.new_branch() != ep.new_branch()
        assert ep.new_call_id() != ep.new_call_id()


# --- retransmission and timeouts ------------------------------------------------------------------

async def test_udp_retransmits_when_the_server_answers_late() -> None:
    calls = 0
    server_observer = Recorder()

    async def slow(incoming: IncomingRequest) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)  # E fires at 0.02, 0.06, 0.14 s meanwhile
        await incoming.respond(200)

    async with endpoint(slow, observer=server_observer) as server, endpoint() as client:
        response = await client.send_request(new_request(client), peer_of(server))
        assert response.status == 200
        assert calls == 1
        received = [m for m in server_observer.received if isinstance(m, SipRequest)]
        assert len(received) >= 3


async def test_timer_f_raises_transaction_timeout() -> None:
    observer = Recorder()
    async with raw_udp() as silent, endpoint(observer=observer) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransactionTimeout) as info:
            await client.send_request(new_request(client), Peer("UDP", HOST, silent.port))
        elapsed = loop.time() - started
        assert info.value.method == "MESSAGE" and info.value.peer.port == silent.port
        assert 64 * FAST.t1 - 0.05 <= elapsed < 64 * FAST.t1 + 1.0
        assert observer.timeouts == ["MESSAGE"]
        copies = silent.queue.qsize()
        # T1=0.02 doubling to T2=0.08 over 1.28 s: 1 + 3 + 15 transmissions, give or take loop jitter
        assert 12 <= copies <= 20


async def test_invite_timer_b_over_udp() -> None:
    async with raw_udp() as silent, endpoint() as client:
        with pytest.raises(TransactionTimeout):
            await client.send_request(new_request(client, "INVITE"), Peer("UDP", HOST, silent.port))
        assert silent.queue.qsize() == 7  # A doubles without cap: 0.02 … 0.64 s, then B at 1.28 s


async def test_caller_timeout_ends_the_transaction() -> None:
    release = asyncio.Event()

    async def never(incoming: IncomingRequest) -> None:
        await release.wait()

    async with endpoint(never) as server, endpoint() as client:
        with pytest.raises(TransactionTimeout):
            await client.send_request(new_request(client), peer_of(server), timeout=0.1)
        assert client._client == {}  # stopped retransmitting
        release.set()


async def test_retransmitted_request_reaches_the_handler_once() -> None:
    calls = 0

    async def handler(incoming: IncomingRequest) -> None:
        nonlocal calls
        calls += 1
        await incoming.respond(200)

    async with endpoint(handler) as server, raw_udp() as device:
        data = raw_request()
        device.send(data, server)
        first = await device.response()
        device.send(data, server)  # our 200 was "lost": the device retransmits
        second = await device.response()
        assert calls == 1
        assert first.status == second.status == 200
        assert first.to_addr.tag == second.to_addr.tag
        via = first.top_via
        assert via.params["received"] == HOST  # sent-by said 192.0.2.99
        assert via.params["rport"] == str(device.port)  # and the response came to the source port


# --- INVITE, ACK, CANCEL -------------------------------------------------------------------------

async def test_invite_dialog_ack_and_bye() -> None:
    acks: list[IncomingRequest] = []
    byes: list[IncomingRequest] = []

    async def device(incoming: IncomingRequest) -> None:
        method = incoming.request.method
        if method == "INVITE":
            await incoming.respond(180)
            await incoming.respond(200, body=b"v=0\r\n", content_type="application/sdp",
                                   headers=[("Contact", f"<sip:{DEVICE}@{HOST}:{device_ep.udp_port}>")])
        elif method == "ACK":
            acks.append(incoming)
            with pytest.raises(TransactionStateError):
                await incoming.respond(200)
        elif method == "BYE":
            byes.append(incoming)
            await incoming.respond(200)

    provisional: list[int] = []
    async with endpoint(device) as device_ep, endpoint() as platform:
        invite = new_request(platform, "INVITE", body=b"v=0\r\n")
        peer = peer_of(device_ep)
        ok = await platform.send_request(invite, peer, on_provisional=lambda r: provisional.append(r.status))
        assert ok.status == 200 and ok.body == b"v=0\r\n"
        assert provisional == [100, 180]
        dialog = Dialog.from_uac_response(invite, ok)
        ack = await platform.send_ack(dialog, peer)
        assert ack.top_via.branch != invite.top_via.branch
        await asyncio.sleep(0.1)
        assert len(acks) == 1
        # the device stopped retransmitting its 2xx once the ACK arrived
        assert not any(e.tx.pending_timers().get("G") for e in device_ep._server.values())
        bye_response = await platform.send_request(dialog.create_bye(), peer)
        assert bye_response.status == 200
        assert len(byes) == 1
        assert byes[0].request.to_addr.tag == ok.to_addr.tag


async def test_lost_ack_is_resent_when_the_2xx_is_retransmitted() -> None:
    async with endpoint() as platform, raw_udp() as device:
        invite = new_request(platform, "INVITE")
        task = asyncio.create_task(platform.send_request(invite, Peer("UDP", HOST, device.port)))
        wire = await asyncio.wait_for(device.queue.get(), 1.0)
        received = parse_message(wire)
        assert isinstance(received, SipRequest)
        ok = SipResponse(headers=received.headers.copy(), status=200, reason="OK")
        ok.headers.set("To", f"{received.headers.get('To')};tag=devtag")
        ok.headers.add("Contact", f"<sip:{DEVICE}@{HOST}:{device.port}>")
        ok.headers.remove("Max-Forwards")
        device.send(ok.to_bytes(), platform)
        response = await task
        await platform.send_ack(Dialog.from_uac_response(invite, response), Peer("UDP", HOST, device.port))
        while (ack := parse_message(await asyncio.wait_for(device.queue.get(), 1.0))) and \
                isinstance(ack, SipRequest) and ack.method == "INVITE":
            pass  # INVITE retransmissions sent before our 200 arrived
        assert isinstance(ack, SipRequest) and ack.method == "ACK"
        device.send(ok.to_bytes(), platform)
        again = parse_message(await asyncio.wait_for(device.queue.get(), 1.0))
        assert isinstance(again, SipRequest) and again.method == "ACK"
        assert again.top_via.branch == ack.top_via.branch


async def test_rejected_invite_is_acked_by_the_transaction() -> None:
    seen: list[str] = []

    async def busy(incoming: IncomingRequest) -> None:
        seen.append(incoming.request.method)
        await incoming.respond(486)

    observer = Recorder()
    async with endpoint(busy, observer=observer) as server, endpoint() as client:
        response = await client.send_request(new_request(client, "INVITE"), peer_of(server))
        assert response.status == 486
        await asyncio.sleep(0.1)
        assert seen == ["INVITE"]  # the ACK for a non-2xx stays in the transaction layer
        acks = [m for m in observer.received if isinstance(m, SipRequest) and m.method == "ACK"]
        assert len(acks) == 1


async def test_cancel_pending_invite(caplog: pytest.LogCaptureFixture) -> None:
    waiting: list[IncomingRequest] = []
    release = asyncio.Event()

    async def ringing(incoming: IncomingRequest) -> None:
        waiting.append(incoming)
        await release.wait()
        await incoming.respond(200)  # too late: raises TransactionStateError, logged as a cancel

    async with endpoint(ringing) as server, endpoint() as client:
        invite = new_request(client, "INVITE")
        trying = asyncio.Event()
        task = asyncio.create_task(client.send_request(invite, peer_of(server),
                                                       on_provisional=lambda r: trying.set()))
        await asyncio.wait_for(trying.wait(), 1.0)
        cancel_response = await client.send_request(create_cancel(invite), peer_of(server))
        assert cancel_response.status == 200
        final = await task
        assert final.status == 487
        assert final.to_addr.tag == cancel_response.to_addr.tag
        assert waiting[0].cancelled
        with caplog.at_level(logging.INFO):
            release.set()
            await asyncio.sleep(0.05)
        assert "cancelled before the handler answered" in caplog.text
        assert "handler failed" not in caplog.text
        never_sent = new_request(client, "INVITE")
        never_sent.headers.add("Via", f"SIP/2.0/UDP {HOST}:{client.udp_port};branch=z9hG4bKnosuch")
        unknown = create_cancel(never_sent)
        assert (await client.send_request(unknown, peer_of(server))).status == 481


# --- handlers that misbehave ----------------------------------------------------------------------

async def test_handler_exception_becomes_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(incoming: IncomingRequest) -> None:
        raise RuntimeError("boom")

    async with endpoint(broken) as server, endpoint() as client:
        with caplog.at_level(logging.ERROR):
            response = await client.send_request(new_request(client), peer_of(server))
        assert response.status == 500
        assert "handler failed" in caplog.text and "RuntimeError: boom" in caplog.text
        # and it keeps serving
        assert (await client.send_request(new_request(client), peer_of(server))).status == 500


async def test_unanswered_request_gets_500_and_double_final_is_refused() -> None:
    outcomes: list[str] = []

    async def handler(incoming: IncomingRequest) -> None:
        if incoming.request.method == "OPTIONS":
            return
        await incoming.respond(200)
        try:
            await incoming.respond(202)
        except TransactionStateError:
            outcomes.append("refused")

    async with endpoint(handler) as server, endpoint() as client:
        assert (await client.send_request(new_request(client, "OPTIONS"), peer_of(server))).status == 500
        assert (await client.send_request(new_request(client), peer_of(server))).status == 200
        await asyncio.sleep(0.02)
        assert outcomes == ["refused"]


# --- hostile and broken input ---------------------------------------------------------------------

async def test_malformed_datagrams_are_answered_or_dropped() -> None:
    observer = Recorder()
    async with endpoint(observer=observer) as server, raw_udp() as device:
        for junk in (b"garbage", bytes(range(256)) * 4, b"\xff\xfe\x00" * 300, b"\r\n\r\n",
                     raw_request().replace(b"Call-ID: raw-call\r\n", b""),
                     raw_request().replace(b"From: ", b"X-From: ")):
            device.send(junk, server)
        await device.nothing()

        for broken, fragment in (
            (raw_request(branch="z9hG4bKb1").replace(b"CSeq: 1 MESSAGE", b"CSeq: 1 INVITE"), "does not match"),
            (raw_request(branch="z9hG4bKb2").replace(b"Content-Length: 0", b"Content-Length: 99999999"),
             "exceeds"),
            (raw_request(branch="z9hG4bKb3").replace(b"Content-Length: 0", b"Content-Length: 40"), "shorter"),
            (raw_request(branch="z9hG4bKb4").replace(b"Max-Forwards: 70", b"Max-Forwards 70"), "malformed"),
        ):
            device.send(broken, server)
            response = await device.response()
            assert response.status == 400
            assert fragment in response.reason
            warning = response.headers.get("Warning")
            assert warning is not None and warning.startswith("399 ") and fragment in warning
            assert response.top_via.params["rport"] == str(device.port)

        device.send(raw_request(branch="z9hG4bKgood"), server)
        assert (await device.response()).status == 200
        assert len(observer.rejected) == 9  # CRLF keep-alive is not a rejection


async def test_stray_response_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    async with endpoint() as server, raw_udp() as device:
        stray = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKnobody\r\n" \
                b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 MESSAGE\r\n" \
                b"Content-Length: 0\r\n\r\n"
        with caplog.at_level(logging.INFO):
            device.send(stray, server)
            await device.nothing(0.1)
        assert "stray response" in caplog.text
        device.send(raw_request(), server)
        assert (await device.response()).status == 200


async def test_tcp_several_messages_per_write_and_byte_by_byte() -> None:
    calls: list[int] = []

    async def handler(incoming: IncomingRequest) -> None:
        calls.append(incoming.request.cseq.number)
        await incoming.respond(200)

    async with endpoint(handler) as server:
        reader, writer = await asyncio.open_connection(HOST, server.tcp_port)
        try:
            burst = b"".join(raw_request(branch=f"z9hG4bKburst{i}", cseq=i, transport="TCP", body=b"<a/>")
                             for i in range(1, 4))
            writer.write(b"\r\n\r\n" + burst)
            await writer.drain()
            statuses = [(await read_response(reader)) for _ in range(3)]
            assert [r.status for r in statuses] == [200, 200, 200]
            assert sorted(r.cseq.number for r in statuses) == [1, 2, 3]

            one = raw_request(branch="z9hG4bKdribble", cseq=4, transport="TCP", body=b"<Notify/>")
            for i in range(len(one)):
                writer.write(one[i:i + 1])
                await writer.drain()
                if i % 64 == 0:
                    await asyncio.sleep(0)
            response = await read_response(reader)
            assert response.cseq.number == 4
            assert sorted(calls) == [1, 2, 3, 4]
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


async def test_malformed_request_over_tcp_gets_400_and_connection_stays() -> None:
    async with endpoint() as server:
        reader, writer = await asyncio.open_connection(HOST, server.tcp_port)
        try:
            bad = raw_request(branch="z9hG4bKt1", transport="TCP").replace(b"CSeq: 1 MESSAGE", b"CSeq: 1 BYE")
            writer.write(bad + raw_request(branch="z9hG4bKt2", transport="TCP"))
            first, second = await read_response(reader), await read_response(reader)
            assert (first.status, second.status) == (400, 200)
        finally:
            writer.close()


async def test_hostile_tcp_peer_is_disconnected_others_keep_working() -> None:
    observer = Recorder()
    async with endpoint(observer=observer) as server:
        good_reader, good_writer = await asyncio.open_connection(HOST, server.tcp_port)
        bad_reader, bad_writer = await asyncio.open_connection(HOST, server.tcp_port)
        try:
            good_writer.write(raw_request(branch="z9hG4bKpart", transport="TCP")[:40])  # half a message
            for _ in range(100):
                bad_writer.write(b"A" * 1024)
                with suppress(ConnectionError):
                    await bad_writer.drain()
            assert await disconnected(bad_reader)
            assert any("no end of headers" in reason for reason in observer.rejected)
            good_writer.write(raw_request(branch="z9hG4bKpart", transport="TCP")[40:])
            assert (await read_response(good_reader)).status == 200
        finally:
            for writer in (good_writer, bad_writer):
                writer.close()


async def test_bad_content_length_on_tcp_closes_that_connection_only() -> None:
    async with endpoint() as server:
        reader, writer = await asyncio.open_connection(HOST, server.tcp_port)
        writer.write(raw_request(transport="TCP").replace(b"Content-Length: 0", b"Content-Length: nope"))
        assert await disconnected(reader)
        writer.close()
        reader, writer = await asyncio.open_connection(HOST, server.tcp_port)
        writer.write(raw_request(branch="z9hG4bKafter", transport="TCP"))
        assert (await read_response(reader)).status == 200
        writer.close()


async def test_connect_failure_raises_transport_error() -> None:
    async with endpoint() as client:
        probe = await asyncio.start_server(lambda r, w: None, HOST, 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        with pytest.raises(TransportError):
            await client.send_request(new_request(client, transport="TCP"), Peer("TCP", HOST, port))


async def test_close_fails_pending_requests() -> None:
    async with raw_udp() as silent:
        client = SipEndpoint(HOST, 0, user_agent="t", on_request=answer_ok, timers=FAST)
        await client.start()
        task = asyncio.create_task(client.send_request(new_request(client), Peer("UDP", HOST, silent.port)))
        await asyncio.sleep(0.05)
        await client.close()
        with pytest.raises(TransportError):
            await task


async def test_send_request_refuses_ack_and_unknown_transport() -> None:
    async with endpoint() as client:
        with pytest.raises(ValueError):
            await client.send_request(new_request(client, "ACK"), peer_of(client))
        with pytest.raises(ValueError):
            await client.send_request(new_request(client), Peer("SCTP", HOST, 5060))
