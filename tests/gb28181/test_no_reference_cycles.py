"""The per-message paths must leave no reference cycles: at thousands of messages a second, cyclic
garbage turns into garbage-collector pauses of a hundred milliseconds and more."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from clearsight.gb28181.manscdp import (
    build_catalog_response,
    build_keepalive,
    build_query,
    parse_catalog_response,
    parse_manscdp,
)
from clearsight.sim.device import SimulatedDevice
from clearsight.sip.message import SipRequest, make_response, parse_message

KEEPALIVE_REQUEST = (
    b"MESSAGE sip:34020000002000000001@3402000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK1\r\n"
    b"From: <sip:34020000001320000001@3402000000>;tag=1\r\n"
    b"To: <sip:34020000002000000001@3402000000>\r\n"
    b"Call-ID: 1@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: Application/MANSCDP+xml\r\n"
)


@pytest.fixture
def collector_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_message_paths_leave_no_cycles(collector_paused: None) -> None:
    device = SimulatedDevice.create("34020000001320000001", "34020000001310000001", 3, 0)
    for sn in range(50):
        body = build_keepalive(sn, "34020000001320000001")
        parse_manscdp(body)
        raw = KEEPALIVE_REQUEST + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        request = parse_message(raw)
        assert isinstance(request, SipRequest)
        make_response(request, 200).to_bytes()
        build_query("Catalog", sn, "34020000001320000001")
        chunk = build_catalog_response(sn, device.device_id, 3, device.catalog_items())
        parse_catalog_response(parse_manscdp(chunk))
    assert gc.collect() == 0
