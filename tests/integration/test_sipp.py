"""SIPp, an independent SIP stack, against the platform: digest registration and malformed input."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import DEVICE_PASSWORD, PLATFORM_ID, PlatformProcess, free_port, wait_until

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).parent / "sipp"
SIPP = shutil.which("sipp")


def run_sipp(platform: PlatformProcess, scenario: str, tmp_path: Path, *, device_id: str,
             password: str = DEVICE_PASSWORD, transport: str = "u1", local_ip: str = "127.0.0.1",
             options: tuple[str, ...] = ("-m", "1")) -> subprocess.CompletedProcess[str]:
    if SIPP is None:
        pytest.fail("sipp is not installed (Debian package sip-tester; scripts/test installs it)")
    template = (SCENARIOS / scenario).read_text()
    filled = (template.replace("%DEVICE_ID%", device_id).replace("%PLATFORM_ID%", PLATFORM_ID)
              .replace("%DOMAIN%", PLATFORM_ID[:10]).replace("%PASSWORD%", password))
    if transport.startswith("t"):
        filled = re.sub(r"<!-- udp-only.*?<!-- /udp-only -->", "", filled, flags=re.S)
    scenario_file = tmp_path / scenario
    scenario_file.write_text(filled)
    command = [SIPP, f"127.0.0.1:{platform.sip_port}", "-sf", str(scenario_file),
               *options, "-i", local_ip, "-p", str(free_port()), "-t", transport, "-timeout", "15s",
               "-timeout_error", "-trace_err", "-error_file", str(tmp_path / "sipp-errors.log"),
               "-recv_timeout", "5s", "-nostdin"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, check=False)


def _explain(result: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    errors = tmp_path / "sipp-errors.log"
    return f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}\n{errors.read_text() if errors.exists() else ''}"


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_registers_with_digest(platform: PlatformProcess, tmp_path: Path, transport: str) -> None:
    device_id = "34020000001320000101"
    result = run_sipp(platform, "register.xml", tmp_path, device_id=device_id, transport=transport)
    assert result.returncode == 0, _explain(result, tmp_path)
    with platform.client() as client:
        # The row is written by the presence flusher within a second of the 200 OK.
        wait_until(lambda: client.get(f"/api/v1/devices/{device_id}").status_code == 200, timeout=5)
        assert client.get(f"/api/v1/devices/{device_id}").json()["online"] is True


def test_sipp_wrong_password_gets_403(platform: PlatformProcess, tmp_path: Path) -> None:
    result = run_sipp(platform, "register.xml", tmp_path, device_id="34020000001320000102",
                      password="wrong-password")
    # SIPp expected 200 and got 403: the scenario fails, and SIPp says which response it got.
    assert result.returncode != 0
    assert "403" in _explain(result, tmp_path)


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_platform_survives_malformed_messages(platform: PlatformProcess, tmp_path: Path, transport: str) -> None:
    result = run_sipp(platform, "malformed.xml", tmp_path, device_id="34020000001320000103",
                      transport=transport)
    assert result.returncode == 0, _explain(result, tmp_path)
    assert platform.proc is not None and platform.proc.poll() is None
    with platform.client() as client:
        assert client.get("/healthz").status_code == 200
