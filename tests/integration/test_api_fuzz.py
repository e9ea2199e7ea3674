"""Schemathesis against the running platform's `/openapi.json`: no generated request may cause a server error.

The platform runs as a real process with a simulated device, and some rows of every kind exist (departments, a
grant, a legal hold, a share request), so the generated requests reach the handlers' logic and not only their
404s: the path identifiers are drawn from those rows most of the time and generated the rest of the time.
`CLEARSIGHT_FUZZ_EXAMPLES` sets the examples per operation (default 25; raise it for a deeper local run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import sim_args, start_sim
from tests.integration.processes import PlatformProcess, SimProcess

EXAMPLES = int(os.environ.get("CLEARSIGHT_FUZZ_EXAMPLES", "25"))
RUN_TIMEOUT = 900.0


def _wait_for_channels(client: httpx.Client, count: int, within: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = client.get("/api/v1/channels").json()["items"]
        if len(items) >= count:
            return items
        time.sleep(0.2)
    raise AssertionError(f"the simulated channels did not appear within {within} s")


def _seed(client: httpx.Client) -> dict[str, int | str]:
    """Rows of each kind the API's paths name, so fuzzing gets past `404`."""
    channels = _wait_for_channels(client, 2)
    devices = client.get("/api/v1/devices").json()["items"]
    owner = client.post("/api/v1/departments", json={"name": "Traffic", "home_region_code": "340200"})
    asker = client.post("/api/v1/departments", json={"name": "Emergency", "home_region_code": "350100"})
    assert owner.status_code == 201, owner.text
    assert asker.status_code == 201, asker.text
    asker_id = asker.json()["id"]
    channel_ids = [int(channel["id"]) for channel in channels]
    grant = client.post("/api/v1/grants", json={
        "department_id": asker_id, "actions": ["live"], "scope_kind": "channels",
        "scope_values": [str(channel_ids[0])], "max_class": "public"})
    assert grant.status_code == 201, grant.text
    now = datetime.now(UTC)
    hold = client.post("/api/v1/legal-holds", json={
        "channel_id": channel_ids[0], "start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat(),
        "reason": "fuzzing"})
    assert hold.status_code == 201, hold.text
    share = client.post("/api/v1/share-requests", json={
        "channel_ids": channel_ids[:1], "actions": ["live"], "purpose": "fuzzing", "department_id": asker_id})
    assert share.status_code == 201, share.text
    return {"channel_id": channel_ids[0], "device_id": str(devices[0]["id"]), "user_id": 1,
            "grant_id": str(grant.json()["id"]), "hold_id": int(hold.json()["id"]),
            "request_id": int(share.json()["id"])}


def _config(path: Path, token: str, ids: dict[str, int | str] | None) -> Path:
    """A schemathesis config: the admin's token, and (when `ids` is given) path identifiers fixed to real rows."""
    lines = ['headers = { Authorization = "Bearer ' + token + '" }', "request-timeout = 30.0",
             f"generation.max-examples = {EXAMPLES}", ""]
    if ids:
        lines.append("[parameters]")
        lines += [f'"path.{name}" = {value!r}'.replace("'", '"') for name, value in ids.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _schemathesis(platform: PlatformProcess, config: Path, seed: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{platform.base_url}/openapi.json", "--checks", "not_a_server_error", "--workers", "1",
         # Logging out would end the session of the token every later request carries (tests/access covers it).
         "--exclude-path", "/api/v1/auth/logout",
         "--seed", seed, "--no-color"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=config.parent, check=False)


def _server_errors(log_path: Path | None) -> str:
    """The platform log's unhandled-error reports with their tracebacks (the log's tail is mostly noise)."""
    if log_path is None:
        return ""
    lines = log_path.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if "unhandled error" in line]
    return "\n".join("\n".join(lines[i:i + 60]) for i in starts[:5])


def test_generated_requests_cause_no_server_error(platform: PlatformProcess, sims: list[SimProcess],
                                                   tmp_path: Path) -> None:
    start_sim(sims, sim_args(platform, devices=1, channels=2))
    token = platform.token()
    with httpx.Client(base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=15) as client:
        known = _seed(client)
    seed = os.environ.get("CLEARSIGHT_FUZZ_SEED", "20261201")
    # Generated identifiers exercise validation and lookups of rows that do not exist; the real ones reach
    # the handlers' own logic.
    for name, ids in (("generated-ids", None), ("real-ids", known)):
        (tmp_path / name).mkdir()
        config = _config(tmp_path / name / "schemathesis.toml", token, ids)
        run = _schemathesis(platform, config, seed)
        report = run.stdout[-12000:] + run.stderr[-4000:]
        errors = _server_errors(platform.log_path)
        assert run.returncode == 0, f"{name}: server errors:\n{report}\n--- platform log ---\n{errors}"
        assert "Tested: 0" not in run.stdout, report
    assert not _server_errors(platform.log_path)
