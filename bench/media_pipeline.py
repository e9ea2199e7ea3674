"""The receive path's pieces in isolation, without sockets: CPU time per packet (or per frame) of each stage.

The media benchmark's clip (bench/media_sender.py: 720p, ~2 Mbit/s, 25 fps, one-second GOP) is encoded once,
muxed into GB/T 28181 PS and cut into RTP packets as the sender does (`PsRtpStream`), then run through, each
stage timed on its own with `time.process_time` (CPU time, not wall time: the machine is shared), the best of
`--repeat` rounds:

- `parse_rtp` per packet;
- `StreamStats.accept` per packet;
- `RtpStreamPipeline.feed` per packet (parse → stats → reorder → PS demux; frames discarded);
- `RtpReceiver.packet_received` per packet on uvloop (the pipeline plus the receiver's per-packet bookkeeping),
  frames discarded, then with frames into an `Fmp4Fragmenter`: the whole receive path of one stream except
  the socket, uvloop's callback and the hub;
- `Fmp4Fragmenter.push` per frame, in the steady state (the init segment made before).

The receiver rows start a stream each round, so they include one init segment per `--seconds` of stream.

    .venv/bin/python bench/media_pipeline.py [--seconds 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.media_host import machine_lines  # noqa: E402
from bench.media_sender import FPS, encode_clip  # noqa: E402
from clearsight.cli import run_async  # noqa: E402
from clearsight.media.es import EsFrame  # noqa: E402
from clearsight.media.fmp4 import Fmp4Fragmenter  # noqa: E402
from clearsight.media.rtp import parse_rtp  # noqa: E402
from clearsight.media.rtp_receiver import RtpReceiver, RtpStreamPipeline  # noqa: E402
from clearsight.media.rtp_stats import StreamStats  # noqa: E402
from clearsight.sim.rtp_stream import PsRtpStream, ReplaySource  # noqa: E402
from clearsight.sim.video import EncodedFrame  # noqa: E402

SSRC = 0x0100_0000
CACHE = Path("/tmp/clearsight-bench-clip.pickle")  # the encoded clip, reused between runs (encoding takes ~20 s)


def clip_frames() -> list[EncodedFrame]:
    if CACHE.exists():
        frames: list[EncodedFrame] = pickle.loads(CACHE.read_bytes())
        return frames
    frames, _ = encode_clip()
    CACHE.write_bytes(pickle.dumps(frames))
    return frames


def packets_of(clip: list[EncodedFrame], seconds: float) -> list[bytes]:
    stream = PsRtpStream(SSRC, initial_sequence=0)
    replay = ReplaySource(clip, FPS)
    packets: list[bytes] = []
    for _ in range(int(seconds * FPS)):
        frame, pts = next(replay)
        packets.extend(stream.packets_for(frame, pts))
    return packets


def best(repeat: int, run: Callable[[], None]) -> float:
    """The least CPU seconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of the stream per round (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept (default 5)")
    args = parser.parse_args()
    for line in machine_lines("/usr/bin/ffmpeg"):
        print(line)
    clip = clip_frames()
    packets = packets_of(clip, args.seconds)
    frames: list[EsFrame] = []
    pipeline = RtpStreamPipeline(expected_ssrc=SSRC, on_frame=frames.append)
    for index, packet in enumerate(packets):
        pipeline.feed(packet, index / 200)
    n, f = len(packets), len(frames)
    print(f"{n} packets, {f} frames ({n / f:.1f} packets per frame), {args.seconds:g} s of stream per round")

    def parse() -> None:
        for packet in packets:
            parse_rtp(packet)

    parsed = [parse_rtp(packet) for packet in packets]

    def stats() -> None:
        accept = StreamStats(SSRC).accept
        for index, packet in enumerate(parsed):
            accept(packet, index * 0.005)

    def feed() -> None:
        pipe = RtpStreamPipeline(expected_ssrc=SSRC)
        for index, packet in enumerate(packets):
            pipe.feed(packet, index * 0.005)

    def receive(fragment: bool) -> Callable[[], None]:
        async def run() -> None:
            fragmenter = Fmp4Fragmenter()

            def on_frame(frame: EsFrame) -> None:
                if fragment:
                    fragmenter.push(frame)

            receiver = RtpReceiver(expected_ssrc=SSRC, on_frame=on_frame)
            receiver._bind_loop()  # what start() does, without a socket
            received = receiver.packet_received
            for packet in packets:
                received(packet, None)
            receiver.close()
            fragmenter.close()

        return lambda: run_async(run())

    steady = Fmp4Fragmenter()
    steady.push(frames[0])  # the init segment (FFmpeg, a few ms once per stream) outside the timing

    def fragment() -> None:
        push = steady.push
        for frame in frames[1:]:
            push(frame)

    rows = [("parse_rtp", parse, n, "packet"), ("StreamStats.accept", stats, n, "packet"),
            ("RtpStreamPipeline.feed (PS)", feed, n, "packet"),
            ("Fmp4Fragmenter.push (steady state)", fragment, f - 1, "frame"),
            ("RtpReceiver.packet_received (frames discarded)", receive(False), n, "packet"),
            ("RtpReceiver.packet_received + Fmp4Fragmenter", receive(True), n, "packet")]
    for name, run, count, unit in rows:
        seconds = best(args.repeat, run)
        print(f"{name:48s} {1e6 * seconds / count:7.2f} µs per {unit}")


if __name__ == "__main__":
    main()
