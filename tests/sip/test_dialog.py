"""Dialogs (RFC 3261 §12) and CANCEL (§9.1), on the INVITE fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.sip.dialog import CSeqOutOfOrder, Dialog, DialogError, create_cancel
from clearsight.sip.message import SipRequest, SipResponse, make_response, parse_message

FIXTURES = Path("/work/shared/fixtures/gb28181-captures")


def load(number: str) -> SipRequest | SipResponse:
    (path,) = FIXTURES.glob(f"{number}-*.sip")
    return parse_message(path.read_bytes())


def invite_48() -> SipRequest:
    message = load("48")
    assert isinstance(message, SipRequest)
    return message


def ok_50() -> SipResponse:
    message = load("50")
    assert isinstance(message, SipResponse)
    return message


def device_invite_63() -> SipRequest:
    message = load("63")
    assert isinstance(message, SipRequest)
    return message


@pytest.fixture
def uac() -> Dialog:
    return Dialog.from_uac_response(invite_48(), ok_50())


def test_uac_dialog_from_fixture_2xx(uac: Dialog) -> None:
    assert uac.call_id == "1316183468"
    assert uac.local_tag == "4086715875"
    assert uac.remote_tag == "1504032660"
    assert uac.remote_target == "sip:34020000001310000001@192.168.6.71:5060"
    assert uac.local_cseq == 20 and uac.invite_cseq == 20
    assert uac.remote_cseq is None
    assert uac.route_set == []
    assert uac.is_uac
    assert uac.id.call_id == "1316183468"


def test_ack_for_2xx(uac: Dialog) -> None:
    ack = uac.create_ack()
    assert ack.method == "ACK"
    assert ack.uri == "sip:34020000001310000001@192.168.6.71:5060"
    assert str(ack.cseq) == "20 ACK"
    assert ack.from_addr.tag == "4086715875" and ack.to_addr.tag == "1504032660"
    assert ack.call_id == "1316183468"
    assert ack.headers.get_all("Via") == []  # the endpoint adds a Via with a new branch
    assert ack.headers.get("Max-Forwards") == "70"
    assert uac.local_cseq == 20  # ACK does not consume a CSeq


def test_bye_and_info_take_the_next_cseq(uac: Dialog) -> None:
    info = uac.create_info(b"PAUSE MANSRTSP/1.0\r\nCSeq: 1\r\nPauseTime: now\r\n", "Application/MANSRTSP")
    assert str(info.cseq) == "21 INFO"
    assert info.headers.get("Content-Type") == "Application/MANSRTSP"
    assert info.body.startswith(b"PAUSE")
    bye = uac.create_bye()
    assert str(bye.cseq) == "22 BYE"
    assert bye.uri == uac.remote_target
    assert bye.headers.get("To") == ok_50().headers.get("To")
    extra = uac.create_request("message", headers=[("Subject", "x")])
    assert extra.method == "MESSAGE" and extra.headers.get("Subject") == "x"
    with pytest.raises(ValueError):
        uac.create_request("ACK")
    with pytest.raises(ValueError):
        uac.create_request("CANCEL")


def test_loose_route_set_is_reversed_on_the_uac_side() -> None:
    ok = ok_50()
    ok.headers.add("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>")
    dialog = Dialog.from_uac_response(invite_48(), ok)
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    bye = dialog.create_bye()
    assert bye.uri == dialog.remote_target
    assert bye.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


def test_strict_router_becomes_the_request_uri() -> None:
    ok = ok_50()
    ok.headers.add("Record-Route", "<sip:p2.example.com;lr>")
    ok.headers.add("Record-Route", "<sip:p1.example.com;method=INVITE;transport=udp>")
    dialog = Dialog.from_uac_response(invite_48(), ok)
    bye = dialog.create_bye()
    assert bye.uri == "sip:p1.example.com;transport=udp"
    assert bye.headers.get_all("Route") == [
        "<sip:p2.example.com;lr>", "<sip:34020000001310000001@192.168.6.71:5060>",
    ]


def test_dialog_from_provisional_with_tag_and_refusals() -> None:
    early = load("49")  # 101 with To-tag: an early dialog
    assert isinstance(early, SipResponse)
    assert Dialog.from_uac_response(invite_48(), early).remote_tag == "1504032660"
    for status in (100, 486):
        with pytest.raises(DialogError):
            Dialog.from_uac_response(invite_48(), make_response(invite_48(), status, to_tag="x"))
    no_tag = ok_50()
    no_tag.headers.set("To", "<sip:34020000001310000001@192.168.6.71:5060>")
    with pytest.raises(DialogError):
        Dialog.from_uac_response(invite_48(), no_tag)
    message = load("46")
    assert isinstance(message, SipRequest)
    with pytest.raises(DialogError):
        Dialog.from_uac_response(message, ok_50())


def test_missing_contact_falls_back_to_request_uri(caplog: pytest.LogCaptureFixture) -> None:
    ok = ok_50()
    ok.headers.remove("Contact")
    dialog = Dialog.from_uac_response(invite_48(), ok)
    assert dialog.remote_target == invite_48().uri
    assert "no usable Contact" in caplog.text


def test_uas_dialog_from_device_invite() -> None:
    invite = device_invite_63()
    invite.headers.add("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>")
    dialog = Dialog.from_uas_request(invite, "our-tag")
    assert not dialog.is_uac
    assert dialog.call_id == "fd514e34c2a7e40940437ac0272afd44"
    assert dialog.local_tag == "our-tag"
    assert dialog.remote_tag == "44088339578db934ef88a6a85534964b"
    assert dialog.local_party == "<sip:34020000002000000001@192.168.0.110:15060>;tag=our-tag"
    assert dialog.remote_target == "sip:34020000001320000001@192.168.0.100:5061"
    assert dialog.remote_cseq == 1
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]  # not reversed
    bye = dialog.create_bye()
    assert str(bye.cseq) == "1 BYE"
    assert bye.from_addr.tag == "our-tag" and bye.to_addr.tag == "44088339578db934ef88a6a85534964b"
    assert bye.uri == "sip:34020000001320000001@192.168.0.100:5061"


def test_uas_dialog_needs_from_tag() -> None:
    invite = device_invite_63()
    invite.headers.set("From", "<sip:34020000001320000001@192.168.0.100:5061>")
    with pytest.raises(DialogError):
        Dialog.from_uas_request(invite, "t")


def _in_dialog(dialog: Dialog, method: str, cseq: int, *, contact: str | None = None) -> SipRequest:
    """A request the remote side sends inside `dialog` (its From is our To)."""
    raw = (
        f"{method} {dialog.local_party.split('<')[1].split('>')[0]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.168.0.100:5061;branch=z9hG4bKin{cseq}{method}\r\n"
        f"From: {dialog.remote_party}\r\nTo: {dialog.local_party}\r\n"
        f"Call-ID: {dialog.call_id}\r\nCSeq: {cseq} {method}\r\n"
        + (f"Contact: {contact}\r\n" if contact else "")
        + "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(raw.encode())
    assert isinstance(message, SipRequest)
    return message


def test_validate_request_enforces_cseq_order() -> None:
    dialog = Dialog.from_uas_request(device_invite_63(), "our-tag")
    dialog.validate_request(_in_dialog(dialog, "INFO", 2))
    assert dialog.remote_cseq == 2
    dialog.validate_request(_in_dialog(dialog, "ACK", 1))  # ACK carries the INVITE's CSeq
    with pytest.raises(CSeqOutOfOrder) as info:
        dialog.validate_request(_in_dialog(dialog, "BYE", 1))
    assert (info.value.received, info.value.last) == (1, 2)
    dialog.validate_request(_in_dialog(dialog, "BYE", 7))
    assert dialog.remote_cseq == 7


def test_uac_dialog_accepts_first_remote_request() -> None:
    dialog = Dialog.from_uac_response(invite_48(), ok_50())
    dialog.validate_request(_in_dialog(dialog, "BYE", 5000))
    assert dialog.remote_cseq == 5000


def test_validate_request_refuses_other_dialogs() -> None:
    dialog = Dialog.from_uas_request(device_invite_63(), "our-tag")
    stranger = _in_dialog(dialog, "BYE", 9)
    stranger.headers.set("To", "<sip:34020000002000000001@192.168.0.110:15060>;tag=not-ours")
    with pytest.raises(DialogError):
        dialog.validate_request(stranger)
    other_call = _in_dialog(dialog, "BYE", 9)
    other_call.headers.set("Call-ID", "another")
    assert not dialog.matches(other_call)


def test_reinvite_refreshes_remote_target() -> None:
    dialog = Dialog.from_uas_request(device_invite_63(), "our-tag")
    dialog.validate_request(_in_dialog(dialog, "INVITE", 2, contact="<sip:dev@192.168.0.200:5070>"))
    assert dialog.remote_target == "sip:dev@192.168.0.200:5070"
    dialog.validate_request(_in_dialog(dialog, "INFO", 3, contact="<sip:ignored@10.0.0.1>"))
    assert dialog.remote_target == "sip:dev@192.168.0.200:5070"


def test_matches_responses_to_our_in_dialog_requests(uac: Dialog) -> None:
    bye = uac.create_bye()
    bye.headers.add("Via", "SIP/2.0/UDP 192.168.6.106:5062;branch=z9hG4bKbye")
    assert uac.matches(make_response(bye, 200))
    assert not uac.matches(make_response(invite_48(), 200, to_tag="someone-else"))


def test_cancel_mirrors_the_invite() -> None:
    invite = invite_48()
    invite.headers.add("Route", "<sip:proxy.example.com;lr>")
    cancel = create_cancel(invite)
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert cancel.headers.get_all("Via") == invite.headers.get_all("Via")
    assert str(cancel.cseq) == "20 CANCEL"
    assert cancel.headers.get("From") == invite.headers.get("From")
    assert cancel.headers.get("To") == invite.headers.get("To")
    assert cancel.call_id == invite.call_id
    assert cancel.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    assert cancel.body == b""


def test_cancel_preconditions() -> None:
    message = load("46")
    assert isinstance(message, SipRequest)
    with pytest.raises(ValueError):
        create_cancel(message)
    unsent = invite_48()
    unsent.headers.remove("Via")
    with pytest.raises(ValueError):
        create_cancel(unsent)
