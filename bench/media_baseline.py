"""The media benchmark's baseline: one `ffmpeg -c copy` process per camera, fed by a small relay.

The usual design without a media server of one's own: per camera a UDP socket whose RTP headers are stripped
(on loopback nothing is reordered, so the PS bytes come out in order) and the PS piped into
`ffmpeg -f mpeg -i pipe:0 -c copy -f mp4 -movflags empty_moov+default_base_moof+frag_keyframe pipe:1`,
whose fragmented MP4 is read and thrown away. The relay is one epoll loop in this process (non-blocking
pipes, a bounded backlog per ffmpeg); its own CPU is measured apart from the ffmpeg processes'.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import psutil

from bench.media_host import process_cpu_seconds

RECEIVE_BUFFER = 2 * 1024 * 1024  # as the product's RtpReceiver asks (SOCKET_RECEIVE_BUFFER)
MAX_BACKLOG = 8 * 1024 * 1024  # PS bytes held for one ffmpeg that does not read; past it they are dropped
RTP_HEADER_SIZE = 12  # RFC 3550 §5.1
DATAGRAMS_PER_WAKEUP = 64  # reads from one socket before the loop looks at the others
READ_CHUNK = 1 << 20
SEQ_MOD = 1 << 16  # RFC 3550: 16-bit sequence numbers
MOVFLAGS = "empty_moov+default_base_moof+frag_keyframe"


def ffmpeg_command(ffmpeg: str) -> list[str]:
    return [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "mpeg", "-i", "pipe:0", "-c", "copy",
            "-f", "mp4", "-movflags", MOVFLAGS, "pipe:1"]


def rtp_payload(datagram: bytes) -> tuple[int, memoryview] | None:
    """(sequence number, payload) of an RTP packet, or None when it is too short to be one."""
    if len(datagram) < RTP_HEADER_SIZE:
        return None
    first = datagram[0]
    start = RTP_HEADER_SIZE + 4 * (first & 0x0F)
    if first & 0x10 and len(datagram) >= start + 4:
        start += 4 + 4 * int.from_bytes(datagram[start + 2 : start + 4], "big")
    end = len(datagram) - (datagram[-1] if first & 0x20 else 0)
    if start > end:
        return None
    return int.from_bytes(datagram[2:4], "big"), memoryview(datagram)[start:end]


@dataclass(slots=True)
class RelayStream:
    sock: socket.socket
    process: subprocess.Popen[bytes]
    stdin: int
    stdout: int
    monitor: psutil.Process
    backlog: bytearray = field(default_factory=bytearray)
    next_seq: int | None = None
    packets: int = 0
    gaps: int = 0  # sequence numbers never seen (loss before the relay)
    dropped_bytes: int = 0  # PS bytes dropped because ffmpeg did not keep up
    out_bytes: int = 0
    ended: bool = False

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])


class BaselineRelay:
    def __init__(self, count: int, ffmpeg: str, stderr: IO[bytes]) -> None:
        self.selector = selectors.EpollSelector()
        self.streams: list[RelayStream] = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            process = subprocess.Popen(ffmpeg_command(ffmpeg), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=stderr)
            assert process.stdin is not None and process.stdout is not None
            stdin, stdout = process.stdin.fileno(), process.stdout.fileno()
            os.set_blocking(stdin, False)
            os.set_blocking(stdout, False)
            stream = RelayStream(sock, process, stdin, stdout, psutil.Process(process.pid))
            self.selector.register(sock, selectors.EVENT_READ, (self._on_datagrams, stream))
            self.selector.register(stdout, selectors.EVENT_READ, (self._on_output, stream))
            self.streams.append(stream)

    @property
    def ports(self) -> list[int]:
        return [stream.port for stream in self.streams]

    def ffmpeg_cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(stream.monitor) for stream in self.streams)

    def ffmpeg_memory(self) -> tuple[int, int]:
        """(RSS, USS) summed over the ffmpeg processes: USS leaves out the pages they share (libraries)."""
        rss = uss = 0
        for stream in self.streams:
            try:
                info = stream.monitor.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            rss += info.rss
            uss += info.uss
        return rss, uss

    def run(self, until: float, checkpoints: list[tuple[float, Callable[[], None]]]) -> None:
        """Relay until `until` (time.monotonic()), calling each checkpoint's function once its time has come."""
        pending = sorted(checkpoints, key=lambda checkpoint: checkpoint[0])
        while (now := time.monotonic()) < until:
            while pending and pending[0][0] <= now:
                pending.pop(0)[1]()
            wake = min(until, pending[0][0]) if pending else until
            for key, _events in self.selector.select(max(0.0, min(0.05, wake - now))):
                handler, stream = key.data
                handler(stream)
        for _, call in pending:
            call()

    def _on_datagrams(self, stream: RelayStream) -> None:
        payloads: list[memoryview] = []
        for _ in range(DATAGRAMS_PER_WAKEUP):
            try:
                datagram = stream.sock.recv(65536)
            except BlockingIOError:
                break
            parsed = rtp_payload(datagram)
            if parsed is None:
                continue
            seq, payload = parsed
            stream.packets += 1
            if stream.next_seq is not None and seq != stream.next_seq:
                gap = (seq - stream.next_seq) % SEQ_MOD
                if gap < SEQ_MOD // 2:
                    stream.gaps += gap
            stream.next_seq = (seq + 1) % SEQ_MOD
            payloads.append(payload)
        if payloads:
            self._write(stream, b"".join(payloads))

    def _write(self, stream: RelayStream, data: bytes) -> None:
        if stream.ended:
            return
        if stream.backlog:
            if len(stream.backlog) + len(data) > MAX_BACKLOG:
                stream.dropped_bytes += len(data)
            else:
                stream.backlog += data
            return
        try:
            written = os.write(stream.stdin, data)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:
            stream.ended = True
            return
        if written < len(data):
            stream.backlog += data[written:]
            self.selector.register(stream.stdin, selectors.EVENT_WRITE, (self._on_writable, stream))

    def _on_writable(self, stream: RelayStream) -> None:
        try:
            written = os.write(stream.stdin, stream.backlog)
        except BlockingIOError:
            return
        except BrokenPipeError:
            stream.ended = True
            written = len(stream.backlog)
        del stream.backlog[:written]
        if not stream.backlog:
            self.selector.unregister(stream.stdin)

    def _on_output(self, stream: RelayStream) -> None:
        try:
            data = os.read(stream.stdout, READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(stream.stdout)
            stream.ended = True
            return
        stream.out_bytes += len(data)

    def close(self, timeout: float = 10.0) -> None:
        """Close every ffmpeg's input, read what it still writes, and end it; kill what does not exit."""
        for stream in self.streams:
            self.selector.unregister(stream.sock)
            stream.sock.close()
            if stream.backlog:
                self.selector.unregister(stream.stdin)
            assert stream.process.stdin is not None
            stream.process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(s.process.poll() is None for s in self.streams):
            for key, _events in self.selector.select(0.05):
                handler, stream = key.data
                handler(stream)
        for stream in self.streams:
            if stream.process.poll() is None:
                stream.process.kill()
            stream.process.wait()
            assert stream.process.stdout is not None
            stream.process.stdout.close()
        self.selector.close()
