"""Real processes for integration tests: `clearsight serve` and `clearsight sim`, over loopback."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PLATFORM_ID = "34020000002000000001"
DEVICE_PASSWORD = "device-secret-1"
ADMIN_PASSWORD = "admin-secret-123"


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def _clearsight() -> list[str]:
    return [sys.executable, "-m", "clearsight.cli"]


@dataclass
class PlatformProcess:
    data_dir: Path
    sip_port: int
    http_port: int
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "CLEARSIGHT_PLATFORM_ID": PLATFORM_ID,
            "CLEARSIGHT_SIP_HOST": "127.0.0.1",
            "CLEARSIGHT_SIP_PORT": str(self.sip_port),
            "CLEARSIGHT_HTTP_HOST": "127.0.0.1",
            "CLEARSIGHT_HTTP_PORT": str(self.http_port),
            "CLEARSIGHT_DATA_DIR": str(self.data_dir),
            "CLEARSIGHT_DEVICE_PASSWORD": DEVICE_PASSWORD,
            "CLEARSIGHT_ADMIN_USER": "admin",
            "CLEARSIGHT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        })
        if self.database_url:
            env["CLEARSIGHT_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90.0) -> None:
        self.log_path = self.data_dir / "platform.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([*_clearsight(), "serve"], env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"platform exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"platform did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def token(self) -> str:
        response = httpx.post(f"{self.base_url}/api/v1/auth/token",
                              data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.token()}"},
                            timeout=15)


@dataclass
class SimProcess:
    """`clearsight sim` with its JSON-line events collected on a thread."""

    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen([*_clearsight(), "--log-level", "WARNING", "sim", *self.args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.events.put(json.loads(raw))
            except json.JSONDecodeError:
                self.events.put({"event": "unparsed", "line": raw.decode(errors="replace")})

    def send(self, command: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0, *,
                 new_only: bool = False) -> dict[str, Any]:
        """The first event matching `predicate`, among those seen already unless `new_only`."""
        for event in [] if new_only else self.seen:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching simulator event within {timeout}s; seen: {self.seen[-10:]}")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_for_channels(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    """Wait until the platform lists `count` channels (a simulator's catalog has arrived); returns them."""
    wait_until(lambda: client.get("/api/v1/channels").json()["total"] == count)
    items: list[dict[str, Any]] = client.get("/api/v1/channels").json()["items"]
    return items
