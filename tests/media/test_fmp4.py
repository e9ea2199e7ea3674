"""The fMP4 fragmenter: init segment, one fragment per frame, timestamps repaired, decodable by FFmpeg."""

from __future__ import annotations

import io
import itertools

import av
import pytest

from clearsight.media.es import Codec, EsFrame, is_keyframe
from clearsight.media.fmp4 import DEFAULT_FRAME_TICKS, TIMESTAMP_WRAP, Fmp4Fragmenter, InitSegment, MediaFragment
from clearsight.media.parameter_sets import split_annexb
from tests.media.media_samples import encode

FRAME_TICKS = 3600  # 25 fps at 90 kHz


def _frames(name: str, codec: Codec, pts: list[int | None] | None = None) -> list[EsFrame]:
    units = encode(name, 15).access_units
    stamps = pts if pts is not None else [i * FRAME_TICKS for i in range(len(units))]
    return [EsFrame(0xE0, codec, stamp, None, unit, is_keyframe(codec, [n[:3] for n in split_annexb(unit)]))
            for unit, stamp in zip(units, stamps, strict=False)]


def _run(frames: list[EsFrame]) -> list[InitSegment | MediaFragment]:
    fragmenter = Fmp4Fragmenter(label="test")
    out: list[InitSegment | MediaFragment] = []
    for frame in frames:
        out += fragmenter.push(frame)
    return out + fragmenter.close()


def _decode(data: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(data), format="mp4") as container:
        return list(container.decode(video=0))


@pytest.mark.parametrize(("name", "codec"), [("h264", Codec.H264), ("hevc", Codec.H265)])
def test_init_then_one_fragment_per_frame_that_ffmpeg_decodes(name: str, codec: Codec) -> None:
    frames = _frames(name, codec)
    out = _run(frames)
    assert isinstance(out[0], InitSegment) and out[0].data[4:8] == b"ftyp"
    fragments = [o for o in out[1:] if isinstance(o, MediaFragment)]
    assert len(fragments) == len(out) - 1 >= len(frames) - 1  # the last may stay in the muxer at close
    assert all(f.data[4:8] == b"moof" for f in fragments)
    assert [f.keyframe for f in fragments] == [f.keyframe for f in frames[:len(fragments)]]
    assert [f.dts for f in fragments] == [i * FRAME_TICKS for i in range(len(fragments))]
    assert all(f.duration == FRAME_TICKS for f in fragments)
    assert len(_decode(b"".join(o.data for o in out))) == len(fragments)


def test_frames_before_the_first_keyframe_are_skipped() -> None:
    frames = _frames("h264", Codec.H264)
    fragmenter = Fmp4Fragmenter()
    assert fragmenter.push(frames[1]) == [] and fragmenter.push(frames[2]) == []
    assert fragmenter.frames_skipped == 2
    assert isinstance(fragmenter.push(frames[0])[0], InitSegment)


def test_missing_backwards_and_wrapping_timestamps_stay_monotonic() -> None:
    near_wrap = TIMESTAMP_WRAP - 2 * FRAME_TICKS
    # Two frames before the 33-bit wrap; a missing PTS (taken as the wrap itself); one frame past the wrap; a
    # repeated PTS and one going backwards (each placed one frame interval on); a jump of minutes (a clock
    # reset, likewise); then a steady clock again.
    pts: list[int | None] = [near_wrap, near_wrap + FRAME_TICKS, None, FRAME_TICKS, FRAME_TICKS, 0,
                             11_000_000, 11_003_600, 11_007_200, 11_010_800]
    out = _run(_frames("h264", Codec.H264, pts))
    dts = [o.dts for o in out if isinstance(o, MediaFragment)]
    assert dts == [i * FRAME_TICKS for i in range(len(dts))]
    assert len(dts) >= 9
    assert len(_decode(b"".join(o.data for o in out))) == len(dts)


def test_default_frame_interval_until_the_stream_shows_its_own() -> None:
    out = _run(_frames("h264", Codec.H264, [None] * 6))
    assert [o.dts for o in out if isinstance(o, MediaFragment)][:3] == [0, DEFAULT_FRAME_TICKS, 2 * DEFAULT_FRAME_TICKS]


def test_a_resolution_change_starts_a_new_init_segment() -> None:
    first = _frames("h264", Codec.H264)[:5]
    import tests.media.media_samples as samples

    original = samples.WIDTH, samples.HEIGHT
    samples.WIDTH, samples.HEIGHT = 320, 240
    try:
        second = _frames("h264", Codec.H264)[:5]
    finally:
        samples.WIDTH, samples.HEIGHT = original
    out = _run(first + second)
    inits = [o for o in out if isinstance(o, InitSegment)]
    assert [(i.parameters.width, i.parameters.height) for i in inits] == [(160, 120), (320, 240)]
    fragments = [o for o in out if isinstance(o, MediaFragment)]
    assert len(fragments) >= 9
    assert all(b.dts > a.dts for a, b in itertools.pairwise(fragments))


def test_audio_frames_are_ignored() -> None:
    fragmenter = Fmp4Fragmenter()
    assert fragmenter.push(EsFrame(0xC0, Codec.G711A, 0, None, b"\x55" * 160, True)) == []
    assert fragmenter.frames_in == 0


# --- the fragments written directly, against FFmpeg's mov muxer -----------------------------------------


def _ffmpeg_output(frames: list[EsFrame]) -> tuple[bytes, list[bytes]]:
    """(init segment, fragments) as FFmpeg's mp4 muxer writes them for these frames (what fmp4.py used)."""
    from fractions import Fraction

    from clearsight.media.fmp4 import MOVFLAGS
    from clearsight.media.parameter_sets import video_parameters

    out = io.BytesIO()
    fmt = "h264" if frames[0].codec is Codec.H264 else "hevc"
    with av.open(io.BytesIO(frames[0].data), format=fmt, options={"probesize": "32", "analyzeduration": "0"}) as probe:
        container = av.open(out, mode="w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"})
        stream = container.add_stream_from_template(probe.streams.video[0])
    stream.time_base = Fraction(1, 90_000)
    stream.codec_context.extradata = video_parameters(frames[0].codec, frames[0].data).parameter_sets
    container.start_encoding()
    for frame in frames:
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = frame.pts
        packet.time_base = stream.time_base
        packet.stream = stream
        packet.is_keyframe = frame.keyframe
        container.mux(packet)
    container.close()
    data = out.getvalue()
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        boxes.append((kind, data[pos:pos + size]))
        pos += size
    init = b"".join(box for kind, box in boxes if kind in (b"ftyp", b"moov"))
    moofs = [box for kind, box in boxes if kind == b"moof"]
    mdats = [box for kind, box in boxes if kind == b"mdat"]
    return init, [moof + mdat for moof, mdat in zip(moofs, mdats, strict=True)]


def _planes(data: bytes) -> list[tuple[int, bytes]]:
    return [(frame.pts, b"".join(bytes(plane) for plane in frame.planes)) for frame in _decode(data)]


def _sample_flags(fragment: bytes) -> int:
    """The one sample's flags: trun's first-sample-flags if present, else tfhd's default."""
    trun = fragment.index(b"trun")
    if int.from_bytes(fragment[trun + 5:trun + 8], "big") & 0x04:
        return int.from_bytes(fragment[trun + 16:trun + 20], "big")
    tfhd = fragment.index(b"tfhd")
    return int.from_bytes(fragment[tfhd + 20:tfhd + 24], "big")


@pytest.mark.parametrize(("name", "codec"), [("h264", Codec.H264), ("hevc", Codec.H265)])
def test_fragments_are_byte_for_byte_what_ffmpeg_writes_and_decode_the_same(name: str, codec: Codec) -> None:
    frames = _frames(name, codec)
    out = _run(frames)
    init, fragments = out[0], [o for o in out[1:] if isinstance(o, MediaFragment)]
    assert isinstance(init, InitSegment) and len(fragments) == len(frames)  # none held back
    reference_init, reference = _ffmpeg_output(frames)
    assert init.data == reference_init
    # FFmpeg wrote each fragment when the next frame came (the last one at close, its duration the one before).
    assert [f.data for f in fragments] == reference
    ours = _planes(init.data + b"".join(f.data for f in fragments))
    assert ours == _planes(reference_init + b"".join(reference))
    assert len(ours) == len(fragments)
    assert all(b.dts == a.dts + a.duration for a, b in itertools.pairwise(fragments))
    assert [_sample_flags(f.data) == 0x02000000 for f in fragments] == [f.keyframe for f in frames]
    assert all(_sample_flags(f.data) == 0x01010000 for f in fragments if not f.keyframe)


def test_annex_b_is_converted_as_ffmpeg_converts_it() -> None:
    """Access unit delimiters, 3- and 4-byte start codes and trailing zero bytes, as cameras send them."""
    frames = _frames("h264", Codec.H264)
    aud = b"\x00\x00\x00\x01\x09\xf0"  # H.264 access unit delimiter, primary_pic_type 7

    def odd(unit: bytes) -> bytes:
        nals = [n for n in unit.split(b"\x00\x00\x01") if n]
        return aud + b"".join(b"\x00\x00\x01" + n.rstrip(b"\x00") + b"\x00\x00" for n in nals)

    variants = [EsFrame(f.stream_id, f.codec, f.pts, None, odd(f.data), f.keyframe) for f in frames]
    ours = [o.data for o in _run(variants)[1:] if isinstance(o, MediaFragment)]
    _, reference = _ffmpeg_output(variants)
    assert ours == reference
    assert len(_decode(_run(variants)[0].data + b"".join(ours))) == len(variants)


def test_keyframes_repeating_the_parameter_sets_in_use_are_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import clearsight.media.fmp4 as fmp4

    reads: list[bytes] = []
    read = fmp4.video_parameters

    def counting(codec: Codec, access_unit: bytes) -> object:
        reads.append(access_unit)
        return read(codec, access_unit)

    monkeypatch.setattr(fmp4, "video_parameters", counting)
    frames = _frames("h264", Codec.H264)
    keyframes = [f for f in frames if f.keyframe]
    assert len(keyframes) >= 3
    out = _run(frames)
    assert len(reads) == 1 and len([o for o in out if isinstance(o, InitSegment)]) == 1
    assert [o.keyframe for o in out if isinstance(o, MediaFragment)] == [f.keyframe for f in frames]
