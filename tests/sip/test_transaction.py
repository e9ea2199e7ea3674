"""RFC 3261 §17 transaction machines: every timer path, retransmission schedules, matching, ACK."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.sip.message import SipRequest, SipResponse, make_response, parse_message
from clearsight.sip.transaction import (
    T1,
    T2,
    T4,
    TIMER_D,
    ClientTransaction,
    DeliverResponse,
    SendMessage,
    ServerTransaction,
    Terminated,
    Timeout,
    TimerConfig,
    TransactionAction,
    TransactionState,
    TransactionStateError,
    build_non2xx_ack,
    client_key,
    response_key,
    server_key,
)

FIXTURES = Path("/work/shared/fixtures/gb28181-captures")
BRANCH = "z9hG4bK776asdhds"


def request(method: str = "MESSAGE", *, branch: str | None = BRANCH, host: str = "192.0.2.10",
            port: int = 5060, cseq: int = 20, call_id: str = "a84b4c76e66710", to_tag: str | None = None,
            extra: str = "") -> SipRequest:
    branch_param = f";branch={branch}" if branch is not None else ""
    to = "<sip:34020000001320000001@3402000000>" + (f";tag={to_tag}" if to_tag else "")
    raw = (
        f"{method} sip:34020000001320000001@192.0.2.20:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};rport{branch_param}\r\n"
        f"From: <sip:34020000002000000001@3402000000>;tag=1928301774\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Max-Forwards: 70\r\n{extra}"
        f"Content-Length: 0\r\n\r\n"
    )
    parsed = parse_message(raw.encode())
    assert isinstance(parsed, SipRequest)
    return parsed


def reply(req: SipRequest, status: int, tag: str | None = "dev-tag") -> SipResponse:
    return make_response(req, status, to_tag=tag)


def sent(actions: list[TransactionAction]) -> list[object]:
    return [a.message for a in actions if isinstance(a, SendMessage)]


def delivered(actions: list[TransactionAction]) -> list[int]:
    return [a.response.status for a in actions if isinstance(a, DeliverResponse)]


def run_timers(
    tx: ClientTransaction | ServerTransaction, until: float,
) -> list[tuple[float, TransactionAction]]:
    """Fire every deadline up to `until`, exactly on time; returns (time, action) in order."""
    log: list[tuple[float, TransactionAction]] = []
    while (deadline := tx.next_deadline) is not None and deadline <= until:
        log.extend((deadline, action) for action in tx.on_timer(deadline))
    return log


def state(tx: ClientTransaction | ServerTransaction) -> TransactionState:
    return tx.state  # a call, so that mypy does not narrow tx.state across asserts


def send_times(log: list[tuple[float, TransactionAction]]) -> list[float]:
    return [round(t, 6) for t, a in log if isinstance(a, SendMessage)]


# --- non-INVITE client (§17.1.2) ---------------------------------------------------------------

def test_non_invite_client_retransmits_with_e_doubling_to_t2_then_f_times_out() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False)
    assert sent(tx.start(0.0)) == [req]
    assert state(tx) is TransactionState.TRYING
    assert tx.pending_timers() == {"E": T1, "F": 64 * T1}
    log = run_timers(tx, 100.0)
    # E: 0.5, +1, +2, +4, then every T2=4 s until F at 32 s: 11 transmissions in all
    assert send_times(log) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [a for _, a in log if not isinstance(a, SendMessage)] == [Timeout("F"), Terminated()]
    assert log[-1][0] == 32.0
    assert state(tx) is TransactionState.TERMINATED
    assert tx.next_deadline is None


def test_non_invite_client_proceeding_retransmits_every_t2() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    run_timers(tx, 0.5)  # one retransmission at 0.5, next E at 1.5
    assert delivered(tx.receive_response(reply(req, 100, tag=None), 0.7)) == [100]
    assert state(tx) is TransactionState.PROCEEDING
    log = run_timers(tx, 12.0)
    assert send_times(log) == [1.5, 5.5, 9.5]


def test_non_invite_client_final_then_timer_k_absorbs_retransmissions() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    actions = tx.receive_response(reply(req, 200), 0.2)
    assert delivered(actions) == [200]
    assert state(tx) is TransactionState.COMPLETED
    assert tx.pending_timers() == {"K": 0.2 + T4}
    assert tx.receive_response(reply(req, 200), 0.3) == []  # retransmitted final: absorbed
    assert tx.receive_response(reply(req, 180), 0.3) == []
    assert run_timers(tx, 10.0) == [(0.2 + T4, Terminated())]


def test_non_invite_client_reliable_no_retransmission_and_immediate_termination() -> None:
    req = request()
    tx = ClientTransaction(req, reliable=True)
    tx.start(0.0)
    assert tx.pending_timers() == {"F": 32.0}
    ok = reply(req, 200)
    assert tx.receive_response(ok, 1.0) == [DeliverResponse(ok), Terminated()]


def test_non_invite_client_reliable_timer_f() -> None:
    tx = ClientTransaction(request(), reliable=True)
    tx.start(0.0)
    assert run_timers(tx, 40.0) == [(32.0, Timeout("F")), (32.0, Terminated())]


def test_custom_timer_config_scales_everything() -> None:
    timers = TimerConfig(t1=0.01, t2=0.04, t4=0.05)
    tx = ClientTransaction(request(), reliable=False, timers=timers)
    tx.start(0.0)
    log = run_timers(tx, 1.0)
    assert send_times(log) == [0.01, 0.03, 0.07, 0.11, 0.15, 0.19, 0.23, 0.27, 0.31, 0.35, 0.39, 0.43, 0.47,
                               0.51, 0.55, 0.59, 0.63]
    assert log[-1][0] == pytest.approx(0.64)
    assert log[-1][1] == Terminated()


# --- INVITE client (§17.1.1, RFC 6026) -----------------------------------------------------------

def test_invite_client_timer_a_doubles_without_cap_until_b() -> None:
    req = request("INVITE")
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    assert state(tx) is TransactionState.CALLING
    assert tx.pending_timers() == {"A": 0.5, "B": 32.0}
    log = run_timers(tx, 100.0)
    assert send_times(log) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # 7 transmissions in all
    assert [a for _, a in log][-2:] == [Timeout("B"), Terminated()]


def test_invite_client_provisional_stops_a_and_b() -> None:
    req = request("INVITE")
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    assert delivered(tx.receive_response(reply(req, 100, tag=None), 0.1)) == [100]
    assert state(tx) is TransactionState.PROCEEDING
    assert tx.next_deadline is None  # waits for the final response as long as it takes
    assert delivered(tx.receive_response(reply(req, 180), 5.0)) == [180]


def test_invite_client_2xx_enters_accepted_and_passes_retransmissions_up() -> None:
    req = request("INVITE")
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    ok = reply(req, 200)
    assert tx.receive_response(ok, 1.0) == [DeliverResponse(ok)]
    assert state(tx) is TransactionState.ACCEPTED
    assert sent(tx.receive_response(ok, 1.5)) == []  # no ACK: the 2xx ACK is the dialog's
    assert delivered(tx.receive_response(ok, 1.5)) == [200]
    assert delivered(tx.receive_response(reply(req, 486), 1.6)) == []
    assert run_timers(tx, 100.0) == [(33.0, Terminated())]  # Timer M


@pytest.mark.parametrize("status", [302, 404, 486, 603])
def test_invite_client_non2xx_generates_ack_and_timer_d(status: int) -> None:
    req = request("INVITE", extra="Route: <sip:proxy.example.com;lr>\r\n")
    tx = ClientTransaction(req, reliable=False)
    tx.start(0.0)
    tx.receive_response(reply(req, 180), 0.2)
    final = reply(req, status)
    actions = tx.receive_response(final, 1.0)
    (ack,) = sent(actions)
    assert delivered(actions) == [status]
    assert isinstance(ack, SipRequest)
    assert ack.method == "ACK" and ack.uri == req.uri
    assert ack.headers.get_all("Via") == req.headers.get_all("Via")[:1]
    assert ack.headers.get("To") == final.headers.get("To") and ack.to_addr.tag == "dev-tag"
    assert ack.headers.get("From") == req.headers.get("From")
    assert ack.call_id == req.call_id
    assert str(ack.cseq) == "20 ACK"
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    assert state(tx) is TransactionState.COMPLETED
    assert tx.pending_timers() == {"D": 1.0 + TIMER_D}
    # the final response is retransmitted: ACK again, TU not told
    again = tx.receive_response(final, 2.0)
    assert sent(again) == [ack] and delivered(again) == []
    assert run_timers(tx, 100.0) == [(1.0 + TIMER_D, Terminated())]


def test_invite_client_non2xx_over_tcp_terminates_at_once() -> None:
    req = request("INVITE")
    tx = ClientTransaction(req, reliable=True)
    tx.start(0.0)
    assert tx.pending_timers() == {"B": 32.0}
    actions = tx.receive_response(reply(req, 404), 0.1)
    assert [type(a) for a in actions] == [SendMessage, DeliverResponse, Terminated]


def test_build_non2xx_ack_uses_only_top_via() -> None:
    req = request("INVITE", extra="Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKproxy\r\n")
    ack = build_non2xx_ack(req, reply(req, 487))
    assert len(ack.headers.get_all("Via")) == 1
    assert ack.top_via.branch == BRANCH


def test_client_transaction_preconditions() -> None:
    with pytest.raises(ValueError):
        ClientTransaction(request("ACK"), reliable=False)
    with pytest.raises(ValueError):
        ClientTransaction(request(branch=None), reliable=False)


def test_terminate_is_idempotent() -> None:
    tx = ClientTransaction(request(), reliable=False)
    tx.start(0.0)
    assert tx.terminate() == [Terminated()]
    assert tx.terminate() == []
    assert tx.on_timer(100.0) == []
    assert tx.next_deadline is None


# --- non-INVITE server (§17.2.2) ----------------------------------------------------------------

def test_non_invite_server_trying_absorbs_then_resends_provisional_and_final() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False)
    assert tx.start(0.0) == []
    assert state(tx) is TransactionState.TRYING
    assert tx.receive_request(req, 0.1) == []  # nothing to resend yet, TU not bothered
    trying = reply(req, 100, tag=None)
    assert sent(tx.send_response(trying, 0.2)) == [trying]
    assert state(tx) is TransactionState.PROCEEDING
    assert sent(tx.receive_request(req, 0.3)) == [trying]
    ok = reply(req, 200)
    assert sent(tx.send_response(ok, 0.4)) == [ok]
    assert state(tx) is TransactionState.COMPLETED and tx.final_sent
    assert tx.pending_timers() == {"J": 0.4 + 64 * T1}
    assert sent(tx.receive_request(req, 1.0)) == [ok]
    with pytest.raises(TransactionStateError):
        tx.send_response(reply(req, 500), 1.1)
    assert run_timers(tx, 100.0) == [(0.4 + 32.0, Terminated())]
    assert tx.receive_request(req, 40.0) == []


def test_non_invite_server_reliable_terminates_on_final() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=True)
    tx.start(0.0)
    actions = tx.send_response(reply(req, 200), 0.1)
    assert [type(a) for a in actions] == [SendMessage, Terminated]
    with pytest.raises(TransactionStateError):
        tx.send_response(reply(req, 200), 0.2)


# --- INVITE server (§17.2.1, RFC 6026) -----------------------------------------------------------

def test_invite_server_sends_100_trying_and_resends_last_provisional() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False)
    (trying,) = sent(tx.start(0.0))
    assert isinstance(trying, SipResponse)
    assert trying.status == 100 and trying.to_addr.tag is None
    assert state(tx) is TransactionState.PROCEEDING
    assert sent(tx.receive_request(req, 0.5)) == [trying]
    ringing = reply(req, 180)
    tx.send_response(ringing, 0.6)
    assert sent(tx.receive_request(req, 1.0)) == [ringing]
    assert tx.next_deadline is None


def test_invite_server_without_auto_trying() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False, auto_trying=False)
    assert tx.start(0.0) == []
    assert tx.receive_request(req, 0.5) == []


def test_invite_server_non2xx_timer_g_doubles_to_t2_then_h() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False)
    tx.start(0.0)
    busy = reply(req, 486)
    assert sent(tx.send_response(busy, 0.0)) == [busy]
    assert state(tx) is TransactionState.COMPLETED
    assert tx.pending_timers() == {"G": T1, "H": 64 * T1}
    log = run_timers(tx, 100.0)
    assert send_times(log) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [a for _, a in log][-2:] == [Timeout("H"), Terminated()]


def test_invite_server_ack_confirms_then_timer_i() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False)
    tx.start(0.0)
    busy = reply(req, 486)
    tx.send_response(busy, 0.0)
    assert sent(tx.receive_request(req, 0.2)) == [busy]  # INVITE retransmitted: resend the final
    ack = build_non2xx_ack(req, busy)
    assert server_key(ack) == tx.key
    assert tx.receive_request(ack, 0.3) == []
    assert state(tx) is TransactionState.CONFIRMED
    assert tx.pending_timers() == {"I": 0.3 + T4}
    assert tx.receive_request(ack, 0.4) == [] and tx.receive_request(req, 0.4) == []  # absorbed
    assert run_timers(tx, 100.0) == [(0.3 + T4, Terminated())]


def test_invite_server_reliable_keeps_h_but_no_g_and_i_is_zero() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=True)
    tx.start(0.0)
    busy = reply(req, 486)
    tx.send_response(busy, 0.0)
    assert tx.pending_timers() == {"H": 32.0}
    assert tx.receive_request(build_non2xx_ack(req, busy), 1.0) == [Terminated()]


def test_invite_server_reliable_timer_h() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=True)
    tx.start(0.0)
    tx.send_response(reply(req, 486), 0.0)
    assert run_timers(tx, 100.0) == [(32.0, Timeout("H")), (32.0, Terminated())]


def test_invite_server_2xx_retransmitted_until_ack_then_l() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False)
    tx.start(0.0)
    ok = reply(req, 200)
    assert sent(tx.send_response(ok, 0.0)) == [ok]
    assert state(tx) is TransactionState.ACCEPTED
    assert tx.pending_timers() == {"G": 0.5, "L": 32.0}
    log = run_timers(tx, 4.0)
    assert send_times(log) == [0.5, 1.5, 3.5]
    assert sent(tx.receive_request(req, 4.1)) == [ok]  # INVITE retransmitted before the ACK
    assert tx.receive_ack(4.2) == []
    assert tx.acked
    assert tx.receive_request(req, 4.3) == []  # after the ACK: absorbed
    with pytest.raises(TransactionStateError):
        tx.send_response(reply(req, 200), 5.0)
    assert run_timers(tx, 100.0) == [(32.0, Terminated())]  # no Timeout: it was ACKed


def test_invite_server_2xx_never_acked_times_out_with_l() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=False)
    tx.start(0.0)
    tx.send_response(reply(req, 200), 0.0)
    log = run_timers(tx, 100.0)
    assert send_times(log) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [a for _, a in log][-2:] == [Timeout("L"), Terminated()]


def test_invite_server_2xx_reliable_no_retransmission() -> None:
    req = request("INVITE")
    tx = ServerTransaction(req, reliable=True)
    tx.start(0.0)
    tx.send_response(reply(req, 200), 0.0)
    assert tx.pending_timers() == {"L": 32.0}
    # an RFC 2543 peer's ACK for the 2xx can match the transaction itself
    assert tx.receive_request(request("ACK", to_tag="dev-tag"), 0.1) == []
    assert tx.acked


def test_server_transaction_refuses_ack() -> None:
    with pytest.raises(ValueError):
        ServerTransaction(request("ACK"), reliable=False)


def test_send_response_before_start_is_refused() -> None:
    req = request()
    tx = ServerTransaction(req, reliable=False)
    with pytest.raises(TransactionStateError):
        tx.send_response(reply(req, 200), 0.0)


# --- matching (§17.1.3, §17.2.3) ------------------------------------------------------------------

def test_server_key_matches_retransmission_and_ack_but_not_cancel() -> None:
    invite = request("INVITE")
    assert server_key(invite) == server_key(request("INVITE"))
    ack = build_non2xx_ack(invite, reply(invite, 486))
    assert server_key(ack) == server_key(invite)
    cancel = request("CANCEL")
    assert server_key(cancel) != server_key(invite)
    assert server_key(cancel, method="INVITE") == server_key(invite)


def test_server_key_distinguishes_branch_sent_by_and_method() -> None:
    base = server_key(request())
    assert server_key(request(branch="z9hG4bKother")) != base
    assert server_key(request(host="192.0.2.11")) != base
    assert server_key(request(port=5070)) != base
    assert server_key(request("INFO")) != base
    assert server_key(request(cseq=21)) == base  # branch decides, not CSeq


def test_server_key_ignores_received_and_rport_stamps() -> None:
    req = request()
    stamped = request()
    stamped.headers.set(
        "Via", f"SIP/2.0/UDP 192.0.2.10:5060;rport=40000;branch={BRANCH};received=198.51.100.7")
    assert server_key(stamped) == server_key(req)


def test_default_port_normalised() -> None:
    raw = request().to_bytes().replace(b"192.0.2.10:5060", b"192.0.2.10")
    parsed = parse_message(raw)
    assert isinstance(parsed, SipRequest)
    assert server_key(parsed) == server_key(request())


def test_rfc2543_fallback_for_branches_without_magic_cookie() -> None:
    (path,) = FIXTURES.glob("43-*.sip")
    subscribe = parse_message(path.read_bytes().decode("utf-8").encode("gb18030"))
    assert isinstance(subscribe, SipRequest)
    key = server_key(subscribe)
    assert key[0] == "2543"
    assert "715f605e3307409d8fb3a8617e04a0e5" in key and "34" in key and "1033" in key
    old = request(branch="z3hG9bK1234")
    assert server_key(old) == server_key(request(branch="z3hG9bK1234"))
    assert server_key(old) != server_key(request(branch="z3hG9bK1234", cseq=21))
    assert server_key(old) != server_key(request(branch="z3hG9bK1234", call_id="other"))
    no_branch = request(branch=None)
    assert server_key(no_branch)[0] == "2543"
    # an RFC 2543 ACK (same Via, same CSeq number) matches its INVITE
    invite = request("INVITE", branch=None)
    assert server_key(build_non2xx_ack(invite, reply(invite, 486))) == server_key(invite)


def test_response_key_matches_client_transaction() -> None:
    invite = request("INVITE")
    tx = ClientTransaction(invite, reliable=False)
    assert response_key(reply(invite, 180)) == tx.key == client_key(BRANCH, "INVITE")
    cancel = request("CANCEL")  # same branch as the INVITE (§9.1) but its own transaction
    assert response_key(reply(cancel, 200)) == client_key(BRANCH, "CANCEL") != tx.key
    no_branch = reply(request(branch=None), 200)
    assert response_key(no_branch) is None
    no_via = reply(invite, 200)
    no_via.headers.remove("Via")
    assert response_key(no_via) is None


def test_fixture_invite_and_its_answers_share_a_client_key() -> None:
    def load(number: str) -> SipRequest | SipResponse:
        (path,) = FIXTURES.glob(f"{number}-*.sip")
        return parse_message(path.read_bytes())

    invite, dialog_101, ok = load("48"), load("49"), load("50")
    assert isinstance(invite, SipRequest)
    assert isinstance(dialog_101, SipResponse) and isinstance(ok, SipResponse)
    tx = ClientTransaction(invite, reliable=False)
    tx.start(0.0)
    assert response_key(dialog_101) == tx.key == response_key(ok)
    assert delivered(tx.receive_response(dialog_101, 0.1)) == [101]
    assert delivered(tx.receive_response(ok, 0.2)) == [200]
    assert state(tx) is TransactionState.ACCEPTED


def test_constants_follow_rfc3261() -> None:
    assert (T1, T2, T4) == (0.5, 4.0, 5.0)
    assert TimerConfig().timeout == 32.0
