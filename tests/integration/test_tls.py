"""HTTPS: `clearsight demo --https` makes a self-signed certificate in its data directory, `serve` speaks TLS
with it and sends HSTS, and a client that trusts that certificate signs in and reads over TLS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from clearsight.self_signed import CERT_FILE, KEY_FILE
from tests.integration.processes import ADMIN_PASSWORD, free_port

pytestmark = pytest.mark.integration

READY_LINE = "Clearsight demo is running"


def _wait_for_ready(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY_LINE in text:
            return text
        if proc.poll() is not None:
            raise RuntimeError(f"demo exited with {proc.returncode}:\n{text[-4000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"demo not ready:\n{log.read_text(errors='replace')[-4000:]}")


def test_the_https_demo_serves_tls_with_its_own_certificate(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "demo", tmp_path / "demo.log"
    http_port, sip_port = free_port(), free_port()
    env = dict(os.environ) | {"CLEARSIGHT_DATA_DIR": str(data_dir), "CLEARSIGHT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("CLEARSIGHT_DATABASE_URL", None)
    with log.open("ab") as output:
        proc = subprocess.Popen([sys.executable, "-m", "clearsight.cli", "--log-level", "WARNING", "demo", "--https",
                                 "--devices", "1", "--channels", "1", "--http-port", str(http_port),
                                 "--sip-port", str(sip_port)],
                                env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        printed = _wait_for_ready(proc, log)
        url = f"https://127.0.0.1:{http_port}"
        assert f"Web UI:        {url}/" in printed
        cert_path = data_dir / "tls" / CERT_FILE
        assert (data_dir / "tls" / KEY_FILE).stat().st_mode & 0o077 == 0
        names = x509.load_pem_x509_certificate(cert_path.read_bytes()).extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        assert "localhost" in names.get_values_for_type(x509.DNSName)

        trusted = ssl.create_default_context(cafile=str(cert_path))
        with httpx.Client(base_url=url, verify=trusted, timeout=10) as client:
            health = client.get("/healthz")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"] == "max-age=31536000"
            token = client.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
            assert token.status_code == 200
            devices = client.get("/api/v1/devices",
                                 headers={"Authorization": f"Bearer {token.json()['access_token']}"})
            assert devices.status_code == 200
        with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused by a verifying client
            httpx.get(f"{url}/healthz", timeout=5)
        with pytest.raises(httpx.HTTPError):  # and the port speaks no plain HTTP
            httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=5)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
