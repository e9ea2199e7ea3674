"""A lightweight keepalive prober: a few devices on plain blocking sockets, timing each round trip.

The simulator processes of `bench/signalling.py` create the load; their own event loops (thousands of
devices each) add their queueing to what they measure. This prober runs in its own thread with one
socket and no event loop, so its round trips show the platform's latency under that load.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

from clearsight.gb28181.manscdp import build_keepalive
from clearsight.sip.digest import authorization_for, parse_challenge
from clearsight.sip.message import SipRequest, SipResponse, make_response, parse_message

PROBE_BASE_DEVICE = 34020000001329000000


class KeepaliveProbe:
    def __init__(self, host: str, port: int, platform_id: str, password: str, devices: int = 5,
                 interval: float = 0.05) -> None:
        self._target = (host, port)
        self._platform_id = platform_id
        self._domain = platform_id[:10]
        self._password = password
        self._device_ids = [str(PROBE_BASE_DEVICE + i) for i in range(devices)]
        self._interval = interval
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(2.0)
        self._local_port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latencies: list[float] = []
        self.lost = 0

    def _request(self, method: str, device_id: str, call_id: str, cseq: int, extra: str = "",
                 body: bytes = b"") -> bytes:
        head = (f"{method} sip:{self._platform_id}@{self._domain} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self._local_port};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                f"From: <sip:{device_id}@{self._domain}>;tag={uuid.uuid4().hex[:8]}\r\n"
                f"To: <sip:{device_id if method == 'REGISTER' else self._platform_id}@{self._domain}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
                f"Contact: <sip:{device_id}@127.0.0.1:{self._local_port}>\r\n{extra}"
                + ("Content-Type: Application/MANSCDP+xml\r\n" if body else "")
                + f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def _exchange(self, data: bytes, call_id: str) -> SipResponse:
        self._sock.sendto(data, self._target)
        while True:
            message = parse_message(self._sock.recv(65536))
            if isinstance(message, SipRequest):
                # The platform's queries (DeviceInfo, Catalog, SUBSCRIBE): refuse them at once, so the
                # probe's devices do not hold the platform's device synchronisation open.
                if message.method != "ACK":
                    self._sock.sendto(make_response(message, 501).to_bytes(), self._target)
                continue
            if message.call_id == call_id and message.status >= 200:
                return message

    def register(self) -> None:
        for device_id in self._device_ids:
            call_id = uuid.uuid4().hex
            first = self._exchange(self._request("REGISTER", device_id, call_id, 1, "Expires: 3600\r\n"), call_id)
            challenge = parse_challenge(first.header("WWW-Authenticate") or "")
            auth = authorization_for(challenge, "REGISTER", f"sip:{self._platform_id}@{self._domain}",
                                     device_id, self._password)
            ok = self._exchange(self._request("REGISTER", device_id, call_id, 2,
                                              f"Expires: 3600\r\nAuthorization: {auth}\r\n"), call_id)
            if ok.status != 200:
                raise RuntimeError(f"probe device {device_id} not registered: {ok.status}")

    def _run(self) -> None:
        sn = 0
        while not self._stop.is_set():
            for device_id in self._device_ids:
                sn += 1
                call_id = uuid.uuid4().hex
                data = self._request("MESSAGE", device_id, call_id, 1, body=build_keepalive(sn, device_id))
                started = time.perf_counter()
                try:
                    self._exchange(data, call_id)
                except TimeoutError:
                    self.lost += 1
                    continue
                self.latencies.append(time.perf_counter() - started)
                time.sleep(self._interval)

    def start(self) -> None:
        self.latencies.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sock.close()
