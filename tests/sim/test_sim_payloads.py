"""What a simulated device that deviates from GB/T 28181 sends: MPEG-TS over RTP (TsMuxer + TsRtpStream) and raw
H.264 RTP (H264RtpStream), checked with FFmpeg and with the RFCs' rules written out here, not with the platform's
demuxers. (They belong in tests/sim/ once that tree takes them.)"""

from __future__ import annotations

import io
import itertools

import av
import pytest

from clearsight.media.es import Codec
from clearsight.media.payload import PayloadKind, detect_payload
from clearsight.media.rtp import parse_rtp, seq_add
from clearsight.sim.live_stream import LIVE_FPS, LIVE_HEIGHT, LIVE_WIDTH, live_parameter_sets
from clearsight.sim.rtp_stream import (
    H264RtpStream,
    PsRtpStream,
    StreamPayload,
    TsRtpStream,
    nal_units,
    rtp_stream_for,
)
from clearsight.sim.ts_mux import TsMuxer
from clearsight.sim.video import ClipLibrary, EncodedFrame

SSRC = 100_000_123


@pytest.fixture(scope="module")
def clip() -> list[EncodedFrame]:
    return ClipLibrary().encode_clip(160, 96, 25, 1.0, "h264")


def test_ts_stream_is_what_ffmpeg_reads_back(clip: list[EncodedFrame]) -> None:
    stream = TsRtpStream(SSRC, initial_sequence=65_530)
    packets = [parse_rtp(p) for frame in clip for p in stream.packets_for(frame, frame.pts_90k + 90_000)]
    assert [p.sequence for p in packets] == [seq_add(65_530, i) for i in range(len(packets))]
    assert {p.payload_type for p in packets} == {33} and not any(p.marker for p in packets)
    assert all(len(p.payload) % 188 == 0 and 0 < len(p.payload) <= 7 * 188 for p in packets)
    assert detect_payload([p.payload for p in packets[:16]]) is PayloadKind.MPEG_TS
    ts = b"".join(bytes(p.payload) for p in packets)
    with av.open(io.BytesIO(ts), format="mpegts") as container:
        assert container.streams.video[0].codec_context.name == "h264"
        read = [(bytes(p), p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size]
    assert read == [(f.data, f.pts_90k + 90_000, f.keyframe) for f in clip]
    # Each frame's packets carry its PTS as the RTP timestamp.
    first_of_frame = [p.timestamp for p in packets]
    assert sorted(set(first_of_frame)) == [f.pts_90k + 90_000 for f in clip]


def test_ts_counters_run_per_pid_and_tables_precede_keyframes(clip: list[EncodedFrame]) -> None:
    muxer = TsMuxer(Codec.H264)
    counters: dict[int, list[int]] = {}
    for frame in clip:
        ts = muxer.mux(frame.data, frame.pts_90k, frame.keyframe)
        pids = [(ts[i + 1] & 0x1F) << 8 | ts[i + 2] for i in range(0, len(ts), 188)]
        assert (pids[:2] == [0x0000, 0x1000]) == frame.keyframe or frame is clip[0]
        for i in range(0, len(ts), 188):
            assert ts[i] == 0x47
            counters.setdefault(pids[i // 188], []).append(ts[i + 3] & 0x0F)
    for values in counters.values():
        assert all(b == (a + 1) % 16 for a, b in itertools.pairwise(values))


def _reassemble_rfc6184(payloads: list[bytes]) -> bytes:
    """Annex B from single NAL unit packets and FU-A (RFC 6184 §5.6, §5.8), written out for the test."""
    out = bytearray()
    fragment = bytearray()
    for payload in payloads:
        kind = payload[0] & 0x1F
        if kind == 28:
            start, end = payload[1] & 0x80, payload[1] & 0x40
            if start:
                fragment = bytearray([(payload[0] & 0xE0) | (payload[1] & 0x1F)])
            fragment += payload[2:]
            if end:
                out += b"\x00\x00\x00\x01" + fragment
        else:
            assert 1 <= kind <= 23
            out += b"\x00\x00\x00\x01" + payload
    return bytes(out)


def test_h264_stream_follows_rfc_6184_and_decodes(clip: list[EncodedFrame]) -> None:
    stream = H264RtpStream(SSRC, max_payload=500, initial_sequence=7)
    context = av.CodecContext.create("h264", "r")
    decoded = 0
    first_payloads: list[bytes] = []
    for frame in clip:
        packets = [parse_rtp(p) for p in stream.packets_for(frame, frame.pts_90k)]
        assert [p.marker for p in packets] == [False] * (len(packets) - 1) + [True]
        assert {p.timestamp for p in packets} == {frame.pts_90k} and {p.payload_type for p in packets} == {98}
        payloads = [bytes(p.payload) for p in packets]
        assert all(len(p) <= 500 for p in payloads)
        first_payloads += payloads
        fus = [p for p in payloads if p[0] & 0x1F == 28]
        assert all(not (p[1] & 0x80 and p[1] & 0x40) for p in fus)  # never start and end in one FU
        access_unit = _reassemble_rfc6184(payloads)
        assert access_unit.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01") == frame.data.replace(
            b"\x00\x00\x00\x01", b"\x00\x00\x01")
        decoded += len(context.decode(av.Packet(access_unit)))
    decoded += len(context.decode(None))
    assert decoded == len(clip)
    assert any(p[0] & 0x1F == 28 for p in first_payloads)  # keyframes were fragmented
    assert detect_payload(first_payloads[:16]) is PayloadKind.H264_ES


def test_h264_sprop_stream_leaves_out_the_parameter_sets(clip: list[EncodedFrame]) -> None:
    stream = rtp_stream_for(StreamPayload.H264_SPROP, SSRC)
    assert isinstance(stream, H264RtpStream) and not stream.in_band_parameter_sets
    for frame in clip:
        nals = [nal for nal in nal_units(frame.data) if nal[0] & 0x1F not in (7, 8)]
        payloads = [bytes(parse_rtp(p).payload) for p in stream.packets_for(frame, frame.pts_90k)]
        assert _reassemble_rfc6184(payloads) == b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)
    assert any(nal[0] & 0x1F == 7 for nal in nal_units(clip[0].data))  # the clip had them in band


def test_live_parameter_sets_are_those_of_the_live_encoder() -> None:
    sps, pps = live_parameter_sets()
    assert (sps[0] & 0x1F, pps[0] & 0x1F) == (7, 8)
    keyframe = ClipLibrary().encode_clip(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS, 1.0)[0]
    assert nal_units(keyframe.data)[:2] == [sps, pps]


def test_stream_kinds() -> None:
    assert isinstance(rtp_stream_for(StreamPayload.PS, SSRC), PsRtpStream)
    assert isinstance(rtp_stream_for(StreamPayload.TS, SSRC), TsRtpStream)
    assert isinstance(rtp_stream_for(StreamPayload.H264, SSRC), H264RtpStream)
    assert rtp_stream_for(StreamPayload.TS, SSRC, codec=Codec.H265).codec is Codec.H265
    with pytest.raises(ValueError, match=r"H\.264 only"):
        rtp_stream_for(StreamPayload.H264, SSRC, codec=Codec.H265)
    with pytest.raises(ValueError):
        StreamPayload("rtp")
