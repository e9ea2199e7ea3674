"""SIPp against the real platform: a REGISTER flood gets 503 then silence while another source registers; a
source that keeps failing digest authentication is blocked; hold → pending → approve → registers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerDatabase
from tests.integration.processes import PlatformProcess, free_port, wait_until
from tests.integration.test_sipp import _explain, run_sipp

pytestmark = pytest.mark.integration

RATE, BURST, MAX_FAILURES = 5, 20, 3
FLOOD = 300


def _platform(tmp_path: Path, database_url: str | None, env: dict[str, str]) -> Iterator[PlatformProcess]:
    process = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                              database_url=database_url, extra_env=env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, server_database: ServerDatabase) -> Iterator[PlatformProcess]:
    yield from _platform(tmp_path_factory.mktemp("guarded"), server_database(), {
        "CLEARSIGHT_SIP_REGISTER_RATE": str(RATE), "CLEARSIGHT_SIP_REGISTER_BURST": str(BURST),
        "CLEARSIGHT_SIP_AUTH_MAX_FAILURES": str(MAX_FAILURES)})


@pytest.fixture
def holding(tmp_path: Path, server_database: ServerDatabase) -> Iterator[PlatformProcess]:
    yield from _platform(tmp_path, server_database(), {"CLEARSIGHT_UNKNOWN_DEVICES": "hold"})


def _metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_register_flood_gets_503_then_silence_while_another_source_registers(guarded: PlatformProcess,
                                                                            tmp_path: Path) -> None:
    messages = tmp_path / "flood-messages.log"
    run_sipp(guarded, "register_flood.xml", tmp_path, device_id="34020000001320000201",
             options=("-m", str(FLOOD), "-r", str(FLOOD), "-nr", "-trace_msg", "-message_file", str(messages)))
    trace = messages.read_text(errors="replace")
    challenged = len(re.findall(r"^SIP/2\.0 401", trace, re.M))
    refused = len(re.findall(r"^SIP/2\.0 503", trace, re.M))
    # The burst, plus what the rate refills while the flood lasts (about a second).
    assert BURST <= challenged <= BURST + 4 * RATE, trace[-2000:]
    assert refused >= 5 and re.search(r"^Retry-After: \d+", trace, re.M | re.I)
    assert challenged + refused < FLOOD // 2  # the rest was dropped unanswered
    # A device behind another address is not held back by the flood.
    result = run_sipp(guarded, "register.xml", tmp_path, device_id="34020000001320000202", local_ip="127.0.0.2")
    assert result.returncode == 0, _explain(result, tmp_path)
    with guarded.client() as client:
        metrics = client.get("/metrics").text
    assert _metric(metrics, "clearsight_sip_register_refused_total", '{outcome="answered",reason="rate"}') == refused
    dropped = _metric(metrics, "clearsight_sip_register_refused_total", '{outcome="dropped",reason="rate"}')
    assert dropped == FLOOD - challenged - refused
    # Logged once for the whole flood, not per packet.
    assert guarded.log().count("exceeds 5 REGISTER/s") == 1


def test_source_failing_authentication_is_blocked(guarded: PlatformProcess, tmp_path: Path) -> None:
    device_id = "34020000001320000203"
    for _ in range(MAX_FAILURES):
        failed = run_sipp(guarded, "register.xml", tmp_path, device_id=device_id, password="wrong-password",
                          local_ip="127.0.0.3")
        assert failed.returncode != 0 and "403" in _explain(failed, tmp_path)
    blocked = run_sipp(guarded, "register.xml", tmp_path, device_id=device_id, local_ip="127.0.0.3")
    assert blocked.returncode != 0 and "503" in _explain(blocked, tmp_path)  # even the right password now
    allowed = run_sipp(guarded, "register.xml", tmp_path, device_id=device_id, local_ip="127.0.0.4")
    assert allowed.returncode == 0, _explain(allowed, tmp_path)
    with guarded.client() as client:
        metrics = client.get("/metrics").text
    assert _metric(metrics, "clearsight_sip_auth_failures_total") == MAX_FAILURES
    assert _metric(metrics, "clearsight_sip_source_blocks_total") == 1
    assert "SIP source 127.0.0.3 blocked" in guarded.log()


def test_held_device_registers_after_approval(holding: PlatformProcess, tmp_path: Path) -> None:
    device_id = "34020000001320000204"
    refused = run_sipp(holding, "register.xml", tmp_path, device_id=device_id)
    assert refused.returncode != 0 and "403" in _explain(refused, tmp_path)
    with holding.client() as client:
        [pending] = client.get("/api/v1/devices/pending").json()
        assert pending["device_id"] == device_id and pending["state"] == "pending"
        assert pending["user_agent"] == "SIPp" and pending["remote_host"] == "127.0.0.1"
        assert client.get(f"/api/v1/devices/{device_id}").status_code == 404
        approved = client.post(f"/api/v1/devices/pending/{device_id}/approve", json={"password": "its-own-pw"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        assert client.get("/api/v1/devices/pending").json() == []
        registered = run_sipp(holding, "register.xml", tmp_path, device_id=device_id, password="its-own-pw")
        assert registered.returncode == 0, _explain(registered, tmp_path)
        wait_until(lambda: client.get(f"/api/v1/devices/{device_id}").json().get("online") is True, timeout=5)
        audit = client.get("/api/v1/audit", params={"action": "device.change"}).json()
        entries = audit["items"] if isinstance(audit, dict) else audit
        assert [(e["target"], e["details"]["admission"]) for e in entries] == [(device_id, "approved")]
