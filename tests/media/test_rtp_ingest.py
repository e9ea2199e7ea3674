"""The ingest pieces together: RFC 4571 bytes -> RTP -> SSRC/stats -> reorder -> payload detection."""

from __future__ import annotations

import random

from clearsight.media.payload import PayloadKind, detect_payload
from clearsight.media.reorder import ReorderBuffer
from clearsight.media.rtp import RtpPacket, parse_rtp, seq_add
from clearsight.media.rtp_framing import Rfc4571Buffer, frame_rtp
from clearsight.media.rtp_stats import StreamStats
from tests.media.media_samples import EncodedVideo, mux_ps, split

SSRC = 340200001


def test_ps_over_tcp_with_misorder_loss_and_a_stray_ssrc(h264_video: EncodedVideo) -> None:
    rng = random.Random(28181)
    payloads = [p for frame in mux_ps(h264_video) for p in split(frame, 1400)]
    sent = [
        RtpPacket(payload_type=96, sequence=seq_add(65530, i), timestamp=i * 3600, ssrc=SSRC, payload=p)
        for i, p in enumerate(payloads)
    ]
    lost_index = 7
    wire = [p for i, p in enumerate(sent) if i != lost_index]
    for i in range(1, len(wire) - 1, 4):
        wire[i], wire[i + 1] = wire[i + 1], wire[i]
    wire.insert(3, RtpPacket(payload_type=96, sequence=1, timestamp=0, ssrc=999, payload=b"x"))
    stream = b"".join(frame_rtp(p.to_bytes()) for p in wire)

    framing = Rfc4571Buffer()
    stats = StreamStats(SSRC, stream_id="34020000001320000001")
    reorder = ReorderBuffer(capacity=64, max_wait=0.05)
    released: list[RtpPacket] = []
    now = 0.0
    pos = 0
    while pos < len(stream):
        step = rng.randrange(1, 3000)
        framing.feed(stream[pos : pos + step])
        pos += step
        while (frame := framing.next_packet()) is not None:
            now += 0.005
            packet = parse_rtp(frame)
            if stats.accept(packet, now):
                released += reorder.push(packet, now)
    released += reorder.flush()

    expected = [p for i, p in enumerate(sent) if i != lost_index]
    assert [p.sequence for p in released] == [p.sequence for p in expected]
    assert [bytes(p.payload) for p in released] == [bytes(p.payload) for p in expected]
    assert stats.lost == 1 and stats.wrong_ssrc == 1 and stats.ssrc_mismatch is None
    assert stats.reordered > 0 and reorder.counters.lost == 1
    assert detect_payload([p.payload for p in released[:24]]) is PayloadKind.MPEG_PS
