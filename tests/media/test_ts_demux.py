"""TsDemuxer against FFmpeg: real transport streams (H.264 with B-frames, H.265, AAC) cut anywhere, with garbage,
lost, repeated and corrupt packets, and without PAT/PMT; plus hand-made streams for G.711 and odd layouts."""

from __future__ import annotations

import random

import pytest

from clearsight.media.es import Codec, EsFrame
from clearsight.media.ts_demux import TsDemuxer
from tests.media.ts_samples import (
    PACKET,
    ReferencePacket,
    TsWriter,
    counter_of,
    encode_ts_with,
    packets,
    pat,
    pes,
    pid_of,
    pmt,
    reference_packets,
    starts_unit,
    with_counter,
)

VIDEO_PID = 0x100  # FFmpeg's first elementary PID
PMT_PID = 0x1000  # FFmpeg's PMT PID


def demux(data: bytes, chunk: int | None = None, **options: int) -> tuple[list[EsFrame], TsDemuxer]:
    demuxer = TsDemuxer(label="test", **options)
    step = chunk or max(1, len(data))
    for offset in range(0, len(data), step):
        demuxer.feed(data[offset : offset + step])
    demuxer.flush()
    return list(demuxer.frames()), demuxer


def assert_same(frames: list[EsFrame], reference: list[ReferencePacket]) -> None:
    assert len(frames) == len(reference)
    for frame, ref in zip(frames, reference, strict=True):
        assert frame.data == ref.data
        assert frame.pts == ref.pts
        assert (frame.dts if frame.dts is not None else frame.pts) == ref.dts  # FFmpeg fills a missing DTS
        assert frame.keyframe == ref.keyframe


def video_units(ts: bytes) -> list[list[int]]:
    """Indexes of the video PID's packets, grouped by the PES (frame) they belong to."""
    units: list[list[int]] = []
    for index, packet in enumerate(packets(ts)):
        if pid_of(packet) == VIDEO_PID:
            if starts_unit(packet):
                units.append([])
            units[-1].append(index)
    return units


def without(ts: bytes, drop: set[int]) -> bytes:
    return b"".join(p for i, p in enumerate(packets(ts)) if i not in drop)


@pytest.fixture(scope="module")
def h265_ts() -> bytes:
    return encode_ts_with("libx265")


@pytest.fixture(scope="module")
def av_ts() -> bytes:
    return encode_ts_with("libx264", audio=True)


# --- whole streams, any chunking ---


def test_ffmpeg_h264_with_b_frames_matches_ffmpeg_demuxing(ts_bytes: bytes) -> None:
    frames, demuxer = demux(ts_bytes)
    reference = reference_packets(ts_bytes)
    assert_same(frames, reference)
    assert any(f.dts is not None and f.dts != f.pts for f in frames)  # B-frames: DTS read and kept
    assert demuxer.stream_types == {VIDEO_PID: 0x1B}
    assert demuxer.codecs == {VIDEO_PID: Codec.H264}
    assert {f.stream_id for f in frames} == {0xE0} and all(f.is_video and f.codec is Codec.H264 for f in frames)
    stats = demuxer.stats
    assert stats.frames == len(frames) and stats.packets == len(ts_bytes) // PACKET
    assert (stats.cc_errors, stats.frames_dropped, stats.bytes_skipped, stats.resyncs) == (0, 0, 0, 0)


def test_h265_stream_type_0x24(h265_ts: bytes) -> None:
    frames, demuxer = demux(h265_ts)
    assert_same(frames, reference_packets(h265_ts))
    assert demuxer.stream_types == {VIDEO_PID: 0x24}
    assert all(f.codec is Codec.H265 for f in frames)
    assert [f.keyframe for f in frames].count(True) == 3


def test_aac_audio_alongside_video(av_ts: bytes) -> None:
    frames, demuxer = demux(av_ts)
    video = [f for f in frames if f.is_video]
    audio = [f for f in frames if not f.is_video]
    assert_same(video, reference_packets(av_ts, "video"))
    assert_same(audio, reference_packets(av_ts, "audio"))
    assert {f.stream_id for f in audio} == {0xC0} and all(f.codec is Codec.AAC and f.keyframe for f in audio)
    assert sorted(demuxer.stream_types.values(), key=str) == [0x0F, 0x1B]


@pytest.mark.parametrize("chunk", [1, 7, 187, 189, 1000, 7 * PACKET])
def test_cut_at_any_boundary(ts_bytes: bytes, chunk: int) -> None:
    frames, demuxer = demux(ts_bytes, chunk)
    assert_same(frames, reference_packets(ts_bytes))
    assert demuxer.stats.bytes_skipped == 0


def test_random_cuts(ts_bytes: bytes) -> None:
    rng = random.Random(13818)
    demuxer = TsDemuxer()
    pos = 0
    while pos < len(ts_bytes):
        step = rng.randrange(1, 700)
        demuxer.feed(ts_bytes[pos : pos + step])
        pos += step
    demuxer.flush()
    assert_same(list(demuxer.frames()), reference_packets(ts_bytes))


def test_frames_leave_as_soon_as_the_next_frame_starts(ts_bytes: bytes) -> None:
    """A frame is out once the next PES header (another PTS) is in, not one more frame later."""
    units = video_units(ts_bytes)
    all_packets = packets(ts_bytes)
    demuxer = TsDemuxer()
    demuxer.feed(b"".join(all_packets[: units[3][0] + 1]))  # up to the first packet of the 4th frame
    assert len(list(demuxer.frames())) == 3


# --- damage ---


def test_garbage_before_and_between_packets(ts_bytes: bytes) -> None:
    rng = random.Random(7)
    original = packets(ts_bytes)
    junk = [bytes(rng.randrange(256) for _ in range(n)) + b"\x47\x47" for n in (50, 3, 400)]
    stream = junk[0] + b"".join(original[:40]) + junk[1] + b"".join(original[40:90]) + junk[2] + b"".join(original[90:])
    frames, demuxer = demux(stream, 100)
    assert_same(frames, reference_packets(ts_bytes))  # no packet was damaged, only surrounded
    assert demuxer.stats.bytes_skipped == sum(len(j) for j in junk)
    assert demuxer.stats.resyncs == 2  # the garbage at the start is not a loss of alignment
    assert demuxer.stats.cc_errors == 0


def test_a_lost_packet_drops_its_frame_only(ts_bytes: bytes) -> None:
    units = video_units(ts_bytes)
    victim = 3
    assert len(units[victim]) > 2
    frames, demuxer = demux(without(ts_bytes, {units[victim][1]}))
    reference = reference_packets(ts_bytes)
    assert_same(frames, reference[:victim] + reference[victim + 1 :])
    assert demuxer.stats.cc_errors == 1
    assert demuxer.stats.frames_dropped == 1


def test_a_lost_first_packet_also_drops_the_frame_before(ts_bytes: bytes) -> None:
    """An unbounded PES ends at the next start: a lost start might as well have been the previous frame's tail."""
    units = video_units(ts_bytes)
    victim = 4
    frames, demuxer = demux(without(ts_bytes, {units[victim][0]}))
    reference = reference_packets(ts_bytes)
    assert_same(frames, reference[: victim - 1] + reference[victim + 1 :])
    assert demuxer.stats.cc_errors == 1
    assert demuxer.stats.bytes_skipped > 0  # the rest of the headless frame


def test_sixteen_lost_packets_fool_the_counter_but_not_discontinuity(ts_bytes: bytes) -> None:
    units = video_units(ts_bytes)
    big = next(i for i, unit in enumerate(units) if len(unit) > 18)
    lost = set(units[big][1:17])
    damaged = without(ts_bytes, lost)
    frames, demuxer = demux(damaged)
    assert len(frames) == len(units) and demuxer.stats.cc_errors == 0  # 4-bit counter wrapped: undetectable

    # What an RTP sequence gap tells the demuxer (the RTP pipeline calls discontinuity()).
    cut = sum(1 for i in range(units[big][0] + 1) if i not in lost)
    damaged_packets = packets(damaged)
    demuxer = TsDemuxer()
    demuxer.feed(b"".join(damaged_packets[:cut]))
    demuxer.discontinuity()
    demuxer.feed(b"".join(damaged_packets[cut:]))
    demuxer.flush()
    reference = reference_packets(ts_bytes)
    assert_same(list(demuxer.frames()), reference[:big] + reference[big + 1 :])
    assert demuxer.stats.discontinuities == 1 and demuxer.stats.frames_dropped == 1


def test_discontinuity_drops_a_partial_packet(ts_bytes: bytes) -> None:
    """RTP payloads cut mid-packet: after a lost payload, the half packet must not be glued to the next bytes."""
    units = video_units(ts_bytes)
    start = units[5][0] * PACKET
    demuxer = TsDemuxer()
    demuxer.feed(ts_bytes[: start + 100])  # 100 bytes into the 6th frame's first packet
    demuxer.discontinuity()
    demuxer.feed(ts_bytes[units[6][0] * PACKET - 50 :])  # resumes 50 bytes before the 7th frame
    demuxer.flush()
    reference = reference_packets(ts_bytes)
    frames = list(demuxer.frames())
    assert_same(frames, reference[:4] + reference[6:])  # the 5th frame was in progress, the 6th is lost
    assert demuxer.stats.bytes_skipped >= 150


def test_duplicate_packet_is_skipped(ts_bytes: bytes) -> None:
    original = packets(ts_bytes)
    index = video_units(ts_bytes)[2][1]
    stream = b"".join([*original[: index + 1], original[index], *original[index + 1 :]])
    frames, demuxer = demux(stream)
    assert_same(frames, reference_packets(ts_bytes))
    assert demuxer.stats.duplicates == 1 and demuxer.stats.cc_errors == 0


def test_transport_error_indicator_drops_the_packet_and_its_frame(ts_bytes: bytes) -> None:
    original = packets(ts_bytes)
    units = video_units(ts_bytes)
    index = units[1][2]
    corrupt = original[index][:1] + bytes([original[index][1] | 0x80]) + original[index][2:]
    frames, demuxer = demux(b"".join([*original[:index], corrupt, *original[index + 1 :]]))
    reference = reference_packets(ts_bytes)
    assert_same(frames, reference[:1] + reference[2:])
    assert demuxer.stats.transport_errors == 1 and demuxer.stats.cc_errors == 1


def test_scrambled_payload_is_not_used_and_its_frame_dropped(ts_bytes: bytes) -> None:
    original = packets(ts_bytes)
    index = video_units(ts_bytes)[1][1]
    scrambled = original[index][:3] + bytes([original[index][3] | 0x80]) + original[index][4:]
    frames, demuxer = demux(b"".join([*original[:index], scrambled, *original[index + 1 :]]))
    reference = reference_packets(ts_bytes)
    assert_same(frames, reference[:1] + reference[2:])
    assert demuxer.stats.scrambled == 1 and demuxer.stats.frames_dropped == 1


def test_announced_discontinuity_is_not_a_gap() -> None:
    writer = TsWriter()
    stream = writer.psi(0, pat()) + writer.psi(PMT_PID, pmt([(0x1B, VIDEO_PID)]))
    stream += writer.pes(VIDEO_PID, pes(0xE0, b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x65\x88" + bytes(300), 900))
    writer.counters[VIDEO_PID] = 9  # the source restarted its counters…
    stream += writer.pes(VIDEO_PID, pes(0xE0, b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x41\x9a" + bytes(10), 4500),
                         discontinuity=True)  # …and said so
    frames, demuxer = demux(stream)
    assert [f.pts for f in frames] == [900, 4500] and [f.keyframe for f in frames] == [True, False]
    assert demuxer.stats.cc_errors == 0


# --- tables ---


def test_missing_pat_and_pmt_guesses_the_codec(ts_bytes: bytes, h265_ts: bytes) -> None:
    for ts, codec in ((ts_bytes, Codec.H264), (h265_ts, Codec.H265)):
        stripped = b"".join(p for p in packets(ts) if pid_of(p) not in (0, PMT_PID))
        frames, demuxer = demux(stripped)
        assert_same(frames, reference_packets(ts))
        assert demuxer.stream_types == {VIDEO_PID: None}
        assert {f.codec for f in frames} == {codec}


def test_joining_mid_stream_starts_at_the_next_frame(ts_bytes: bytes) -> None:
    units = video_units(ts_bytes)
    join = units[2][1] * PACKET + 77  # inside the third frame, not on a packet boundary
    frames, demuxer = demux(ts_bytes[join:], 1316)
    assert_same(frames, reference_packets(ts_bytes)[3:])
    assert demuxer.stats.frames_dropped == 0


def test_pmt_with_bad_crc_is_ignored(ts_bytes: bytes) -> None:
    original = packets(ts_bytes)
    broken = [p[:20] + bytes([p[20] ^ 0x01]) + p[21:] if pid_of(p) == PMT_PID else p for p in original]
    frames, demuxer = demux(b"".join(broken))
    assert demuxer.stats.crc_errors == sum(1 for p in original if pid_of(p) == PMT_PID)
    assert demuxer.stream_types == {VIDEO_PID: None}  # found by its PES packets instead
    assert len(frames) == len(reference_packets(ts_bytes))


def test_gb28181_g711_and_a_pmt_spanning_packets() -> None:
    writer = TsWriter()
    many = [(0x90, 0x101)] + [(0x06, 0x200 + i) for i in range(40)] + [(0x1B, VIDEO_PID)]  # 215-byte section
    table = pmt(many, pcr_pid=VIDEO_PID)
    assert len(table) + 1 > PACKET - 4
    stream = writer.psi(0, pat())
    first, rest = (b"\x00" + table)[: PACKET - 4], (b"\x00" + table)[PACKET - 4 :]
    stream += writer._packet(PMT_PID, first, start=True) + writer._packet(PMT_PID, rest, start=False)
    samples = bytes(range(160))  # 20 ms of A-law at 8 kHz
    stream += writer.pes(0x101, pes(0xC0, samples, 1800, bounded=True))
    stream += writer.pes(VIDEO_PID, pes(0xE0, b"\x00\x00\x00\x01\x67\x42\x00\x0a\x00\x00\x01\x68\xce"
                                        b"\x00\x00\x01\x65\x88\x84" + bytes(500), 3600))
    stream += writer.pes(0x101, pes(0xC0, samples[::-1], 3240, bounded=True))
    demuxer = TsDemuxer()
    demuxer.feed(stream)
    audio_first = list(demuxer.frames())  # bounded audio PES leave at once; the video waits for its end
    assert [(f.stream_id, f.codec, f.pts, f.data) for f in audio_first] == [
        (0xC0, Codec.G711A, 1800, samples), (0xC0, Codec.G711A, 3240, samples[::-1])]
    demuxer.flush()
    video = list(demuxer.frames())
    assert [(f.stream_id, f.codec, f.pts, f.keyframe) for f in video] == [(0xE0, Codec.H264, 3600, True)]
    assert demuxer.stream_types[0x101] == 0x90 and demuxer.stream_types[VIDEO_PID] == 0x1B


def test_frame_split_over_pes_packets_without_pts() -> None:
    writer = TsWriter()
    stream = writer.psi(0, pat()) + writer.psi(PMT_PID, pmt([(0x1B, VIDEO_PID)]))
    head = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x67\x42\x00\x0a\x00\x00\x01\x68\xce\x00\x00\x01\x65\x88\x84"
    body = bytes(range(1, 200)) * 3
    stream += writer.pes(VIDEO_PID, pes(0xE0, head + body[:300], 9000, bounded=True))
    stream += writer.pes(VIDEO_PID, pes(0xE0, body[300:], None, bounded=True))  # continues the picture
    stream += writer.pes(VIDEO_PID, pes(0xE0, b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x41\x9a\x11", None))
    frames, _ = demux(stream)
    assert [(f.pts, f.keyframe) for f in frames] == [(9000, True), (None, False)]
    assert frames[0].data == head + body


# --- bounds ---


def test_garbage_without_sync_is_dropped_as_it_comes(ts_bytes: bytes) -> None:
    demuxer = TsDemuxer()
    junk = bytes(b for b in random.Random(1).randbytes(200_000) if b != 0x47)
    for offset in range(0, len(junk), 1400):
        demuxer.feed(junk[offset : offset + 1400])
    assert demuxer.stats.bytes_skipped == len(junk)
    demuxer.feed(ts_bytes)
    demuxer.flush()
    assert_same(list(demuxer.frames()), reference_packets(ts_bytes))


def test_oversized_frames_are_dropped(ts_bytes: bytes) -> None:
    reference = reference_packets(ts_bytes)
    cap = 3000
    frames, demuxer = demux(ts_bytes, max_frame=cap)
    assert_same(frames, [r for r in reference if len(r.data) + 19 <= cap])
    assert demuxer.stats.overflows == sum(1 for r in reference if len(r.data) + 19 > cap) > 0


def test_counter_helpers_agree_with_ffmpeg(ts_bytes: bytes) -> None:
    """The test helpers read FFmpeg's packets the way the standard says (a check of the checks)."""
    video = [p for p in packets(ts_bytes) if pid_of(p) == VIDEO_PID]
    assert [counter_of(p) for p in video] == [i % 16 for i in range(len(video))]
    assert with_counter(video[0], 5)[3] & 0x0F == 5
