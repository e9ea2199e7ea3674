"""The media benchmark's camera side: one process that replays one encoded clip as N GB/T 28181 PS/RTP streams.

`encode_clip` encodes the simulator's test picture (`clearsight.sim.video.render_frame`) once, at 720p and
about 2 Mbit/s (x264 with a bitrate and a VBV buffer: `ClipLibrary` encodes at constant quality, whatever the
bitrate). `run_sender` then waits for `SendJob`s: for each, every stream replays the clip with fresh
timestamps (`ReplaySource`) through its own `PsRtpStream` to its UDP port, in real time. The loop wakes every
`TICK` seconds and sends each frame that is due whole, as one burst; stream i starts i/N of a GOP after
stream 0, so frame times and keyframes are spread over the GOP. For every frame it records the monotonic
time its last packet left (CLOCK_MONOTONIC is system-wide on Linux, so the receiver can subtract it from
its own readings) keyed by RTP timestamp, and how many packets it had.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import resource
import socket
import time
from array import array
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Any

import av

from clearsight.sim.rtp_stream import PsRtpStream, ReplaySource
from clearsight.sim.video import CLIP_START, PTS_CLOCK_HZ, EncodedFrame, render_frame

WIDTH, HEIGHT = 1280, 720  # 720p
FPS = 25
CLIP_SECONDS = 10  # a whole number of one-second GOPs, so the replay loops on a keyframe
TARGET_KBPS = 1900  # x264's target; with PS and RTP overhead the streams come out near 2 Mbit/s
TICK = 0.010  # seconds between the sender's wake-ups: each wake-up sends the frames that are due
GOP_SECONDS = 1.0  # the clip's keyframe interval (keyint = FPS)
SEND_BUFFER = 4 * 1024 * 1024  # bytes asked of the kernel for the sending socket


@dataclass(frozen=True, slots=True)
class ClipInfo:
    frames: int
    keyframe_bytes: int  # mean size of a keyframe
    frame_bytes: int  # mean size of the other frames
    kbps: float  # elementary-stream bitrate
    encode_seconds: float


@dataclass(frozen=True, slots=True)
class SendJob:
    ports: list[int]
    ssrcs: list[int]
    start_at: float  # time.monotonic() of stream 0's first frame
    until: float  # time.monotonic() after which no frame is sent


@dataclass(slots=True)
class StreamLog:
    """What one stream sent: per frame, RTP timestamp, when its last packet left, and its packet count."""

    timestamps: array[int] = field(default_factory=lambda: array("Q"))
    sent_at: array[float] = field(default_factory=lambda: array("d"))
    packets: array[int] = field(default_factory=lambda: array("H"))

    def packets_between(self, start: float, end: float) -> int:
        return sum(n for t, n in zip(self.sent_at, self.packets, strict=True) if start <= t < end)


@dataclass(slots=True)
class SendResult:
    streams: list[StreamLog]
    packets: int = 0
    payload_bytes: int = 0
    send_errors: int = 0
    late_frames: int = 0  # frames sent more than two ticks after they were due
    max_lateness: float = 0.0  # seconds
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


def _encoder() -> Any:
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    context.time_base = Fraction(1, FPS)
    context.framerate = Fraction(FPS)
    context.gop_size = FPS
    context.max_b_frames = 0
    # As the simulator's LiveEncoder (baseline profile, no B-frames, one-second GOP, SPS/PPS before every IDR),
    # plus a bitrate with a one-second VBV buffer, as a camera set to 2 Mbit/s CBR-like output would use.
    params = (f"keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes=0:repeat-headers=1:annexb=1:"
              f"bitrate={TARGET_KBPS}:vbv-maxrate={TARGET_KBPS * 6 // 5}:vbv-bufsize={TARGET_KBPS}")
    context.options = {"preset": "veryfast", "tune": "zerolatency", "profile": "baseline", "forced-idr": "1",
                       "x264-params": params}
    return context


def encode_clip() -> tuple[list[EncodedFrame], ClipInfo]:
    """The clip, encoded once: CLIP_SECONDS of the test picture at WIDTH x HEIGHT, FPS, ~TARGET_KBPS."""
    started = time.perf_counter()
    context = _encoder()
    count = CLIP_SECONDS * FPS
    frames: list[EncodedFrame] = []

    def collect(packets: list[Any]) -> None:
        for packet in packets:
            frames.append(EncodedFrame(bytes(packet), packet.is_keyframe, packet.pts * PTS_CLOCK_HZ // FPS))

    for index in range(count):
        turn = 2 * math.pi * index / count
        picture = render_frame(WIDTH, HEIGHT, channel_name="CLEARSIGHT MEDIA BENCH",
                               now=CLIP_START + timedelta(seconds=index / FPS),
                               marker=(180.0 + 90.0 * math.cos(turn), 45.0 * math.sin(turn)), index=index)
        picture.pts = index
        collect(context.encode(picture))
    collect(context.encode(None))
    keys = [len(f.data) for f in frames if f.keyframe]
    others = [len(f.data) for f in frames if not f.keyframe]
    info = ClipInfo(frames=len(frames), keyframe_bytes=sum(keys) // max(1, len(keys)),
                    frame_bytes=sum(others) // max(1, len(others)),
                    kbps=sum(len(f.data) for f in frames) * 8 / CLIP_SECONDS / 1000,
                    encode_seconds=time.perf_counter() - started)
    return frames, info


def send(clip: list[EncodedFrame], job: SendJob) -> SendResult:
    """Replay `clip` to every port of `job` in real time; see the module docstring."""
    count = len(job.ports)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    sendto = sock.sendto
    rtp = [PsRtpStream(ssrc) for ssrc in job.ssrcs]
    replay = [ReplaySource(clip, FPS) for _ in range(count)]
    due = [job.start_at + GOP_SECONDS * i / count for i in range(count)]
    targets = [("127.0.0.1", port) for port in job.ports]
    result = SendResult(streams=[StreamLog() for _ in range(count)])
    frame_interval = 1.0 / FPS
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.monotonic()
    next_tick = job.start_at
    while True:
        now = time.monotonic()
        if now >= job.until:
            break
        for i in range(count):
            if due[i] > now:
                continue
            stream, target, log = rtp[i], targets[i], result.streams[i]
            while due[i] <= now:
                lateness = now - due[i]
                if lateness > 2 * TICK:
                    result.late_frames += 1
                result.max_lateness = max(result.max_lateness, lateness)
                frame, pts = next(replay[i])
                packets = stream.packets_for(frame, pts)
                for packet in packets:
                    try:
                        sendto(packet, target)
                    except OSError:  # ENOBUFS and the like: the packet is lost, as on a real network
                        result.send_errors += 1
                log.timestamps.append(stream.rtp_timestamp(pts))
                log.sent_at.append(time.monotonic())
                log.packets.append(len(packets))
                result.packets += len(packets)
                result.payload_bytes += sum(len(p) for p in packets) - 12 * len(packets)
                due[i] += frame_interval
        next_tick += TICK
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_tick = time.monotonic()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    result.wall_seconds = time.monotonic() - wall_before
    sock.close()
    return result


def run_sender(jobs: mp.Queue[SendJob | None], results: mp.Queue[Any]) -> None:
    """The sender process: encode the clip once, report it, then serve jobs until None."""
    clip, info = encode_clip()
    results.put(info)
    while (job := jobs.get()) is not None:
        results.put(send(clip, job))
