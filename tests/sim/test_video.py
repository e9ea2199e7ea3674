"""The simulated camera picture: what is drawn where, and the encoders' output shape."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import av
import pytest

from clearsight.media.es import Codec
from clearsight.media.ps_mux import UnsupportedCodec
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import (
    FONT,
    LUMA_WHITE,
    MARKER_YUV,
    ClipLibrary,
    EncodedFrame,
    LiveEncoder,
    clock_text,
    glyph,
    overlay_layout,
    render_frame,
)
from tests.media.media_samples import split_annex_b

WIDTH, HEIGHT, FPS, SECONDS = 320, 180, 25, 2
NOW = datetime(2026, 3, 4, 12, 34, 56, 789_000, tzinfo=UTC)
NAME = "Gate 3 North-Cam_01"
Box = tuple[int, int, int, int]


def luma_rows(frame: av.VideoFrame) -> list[bytes]:
    plane = frame.planes[0]
    data = bytes(plane)
    return [data[row * plane.line_size : row * plane.line_size + frame.width] for row in range(frame.height)]


def changed_box(a: av.VideoFrame, b: av.VideoFrame) -> Box | None:
    """Bounding box (x, y, width, height) of the luma pixels that differ between two pictures."""
    xs: list[int] = []
    ys: list[int] = []
    for y, (row_a, row_b) in enumerate(zip(luma_rows(a), luma_rows(b), strict=True)):
        diff = [x for x, (pa, pb) in enumerate(zip(row_a, row_b, strict=True)) if pa != pb]
        if diff:
            xs += (diff[0], diff[-1])
            ys.append(y)
    if not ys:
        return None
    return min(xs), ys[0], max(xs) - min(xs) + 1, ys[-1] - ys[0] + 1


def inside(inner: Box, outer: Box) -> bool:
    return (outer[0] <= inner[0] and inner[0] + inner[2] <= outer[0] + outer[2]
            and outer[1] <= inner[1] and inner[1] + inner[3] <= outer[1] + outer[3])


def render(*, channel_name: str = NAME, now: datetime = NOW, marker: tuple[float, float] = (0.0, 0.0),
           index: int = 3) -> av.VideoFrame:
    return render_frame(WIDTH, HEIGHT, channel_name=channel_name, now=now, marker=marker, index=index)


def test_picture_is_yuv420p_of_the_requested_size() -> None:
    frame = render()
    assert (frame.width, frame.height, frame.format.name) == (WIDTH, HEIGHT, "yuv420p")


@pytest.mark.parametrize(("width", "height"), [(0, 180), (320, -2), (321, 180), (320, 181)])
def test_odd_or_empty_sizes_are_refused(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even"):
        render_frame(width, height, channel_name="x", now=NOW, marker=(0, 0), index=0)


def test_font_covers_digits_letters_and_punctuation() -> None:
    for char in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ :-._":
        rows = FONT[char]
        assert len(rows) == 7 and all(len(row) == 5 and set(row) <= {"0", "1"} for row in rows), char
    assert len({FONT[c] for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}) == 36  # no two glyphs alike
    assert glyph("g") == glyph("G")
    assert glyph("摄") == glyph("?")


def test_clock_text_has_milliseconds() -> None:
    assert clock_text(NOW) == "12:34:56.789"
    assert clock_text(datetime(2026, 1, 1, 0, 0, 0, 999, tzinfo=UTC)) == "00:00:00.000"


def test_only_the_clock_changes_when_only_the_time_does() -> None:
    layout = overlay_layout(WIDTH, HEIGHT)
    clock_box = layout.text_box(layout.clock_origin, len("HH:MM:SS.mmm"))
    changed = changed_box(render(), render(now=NOW + timedelta(seconds=1, milliseconds=234)))
    assert changed is not None
    assert inside(changed, clock_box), (changed, clock_box)
    # The clock's white ink is in the box: some pixel of the glyph rows is full white.
    rows = luma_rows(render())[clock_box[1] : clock_box[1] + clock_box[3]]
    assert any(LUMA_WHITE in row[clock_box[0] : clock_box[0] + clock_box[2]] for row in rows)


def test_channel_name_is_drawn_at_the_bottom_and_cut_to_fit() -> None:
    layout = overlay_layout(WIDTH, HEIGHT)
    changed = changed_box(render(channel_name="AAAA"), render(channel_name="BBBB"))
    assert changed is not None
    assert inside(changed, layout.text_box(layout.name_origin, 4))
    long_name = "X" * (layout.name_chars + 5)
    assert luma_rows(render(channel_name=long_name)) == luma_rows(render(channel_name=long_name[: layout.name_chars]))


def test_marker_moves_with_pan_and_tilt() -> None:
    layout = overlay_layout(WIDTH, HEIGHT)
    size = layout.marker_size
    home, moved = (0.0, 0.0), (180.0, 45.0)
    (hx, hy), (mx, my) = layout.marker_origin(home), layout.marker_origin(moved)
    assert mx > hx and my < hy  # pan right moves it right, tilt up moves it up
    changed = changed_box(render(marker=home), render(marker=moved))
    assert changed is not None
    union = (min(hx, mx), min(hy, my), max(hx, mx) + size - min(hx, mx), max(hy, my) + size - min(hy, my))
    assert inside(changed, union)
    centre_x, centre_y = mx + size // 2, my + size // 2
    assert luma_rows(render(marker=moved))[centre_y][centre_x] == MARKER_YUV[0]
    assert luma_rows(render(marker=home))[centre_y][centre_x] != MARKER_YUV[0]


def test_pattern_moves_from_frame_to_frame() -> None:
    changed = changed_box(render(index=0), render(index=1))
    assert changed is not None and changed[2] > WIDTH // 2 and changed[3] > HEIGHT // 2


@pytest.fixture(scope="module")
def h264_live() -> list[EncodedFrame]:
    encoder = LiveEncoder(WIDTH, HEIGHT, FPS)
    frames: list[EncodedFrame] = []
    for index in range(FPS * SECONDS):
        now = NOW + timedelta(seconds=index / FPS)
        frames += encoder.encode_test_picture(channel_name=NAME, now=now, marker=(index * 7.0, 0.0))
    return frames + encoder.flush()


def nal_types(frame: EncodedFrame) -> list[int]:
    assert frame.data.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01"))  # Annex-B
    return [nal[0] & 0x1F for nal in split_annex_b(frame.data)]


def test_live_h264_one_frame_out_per_picture_gop_of_one_second(h264_live: list[EncodedFrame]) -> None:
    assert len(h264_live) == FPS * SECONDS
    assert [f.pts_90k for f in h264_live] == [i * 3600 for i in range(FPS * SECONDS)]  # no reordering
    assert [i for i, f in enumerate(h264_live) if f.keyframe] == list(range(0, FPS * SECONDS, FPS))
    for frame in h264_live:
        types = nal_types(frame)
        if frame.keyframe:  # SPS and PPS repeated before every IDR
            assert types.index(7) < types.index(8) < types.index(5), types
        else:
            assert 5 not in types and 7 not in types and 1 in types, types


def test_live_h264_is_baseline(h264_live: list[EncodedFrame]) -> None:
    sps = next(nal for nal in split_annex_b(h264_live[0].data) if nal[0] & 0x1F == 7)
    assert sps[1] in (66, 77)  # profile_idc: baseline or main


def test_keyframe_on_request() -> None:
    encoder = LiveEncoder(160, 90, FPS)
    frames: list[EncodedFrame] = []
    for index in range(8):
        if index == 5:
            encoder.request_keyframe()
        frames += encoder.encode_test_picture(channel_name="K", now=NOW, marker=(0.0, 0.0))
    assert [i for i, f in enumerate(frames) if f.keyframe] == [0, 5]
    assert 7 in nal_types(frames[5])


def test_ps_of_live_stream_decodes_with_ffmpeg(h264_live: list[EncodedFrame]) -> None:
    stream = PsRtpStream(1, initial_sequence=0)
    ps = b"".join(packet[12:] for f in h264_live for packet in stream.packets_for(f, f.pts_90k))
    decoded = []
    with av.open(io.BytesIO(ps), mode="r", format="mpeg") as container:
        for picture in container.decode(video=0):
            decoded.append((picture.width, picture.height, picture.pts))
    assert len(decoded) == len(h264_live)
    assert {size[:2] for size in decoded} == {(WIDTH, HEIGHT)}
    assert [pts for *_, pts in decoded] == [f.pts_90k for f in h264_live]


def test_h265_option() -> None:
    encoder = LiveEncoder(WIDTH, HEIGHT, FPS, "h265")
    frames: list[EncodedFrame] = []
    for _ in range(FPS + 2):
        frames += encoder.encode_test_picture(channel_name=NAME, now=NOW, marker=(0.0, 0.0))
    frames += encoder.flush()
    assert encoder.codec is Codec.H265
    assert len(frames) == FPS + 2
    assert [i for i, f in enumerate(frames) if f.keyframe] == [0, FPS]
    for index in (0, FPS):  # VPS, SPS, PPS before each IRAP picture
        types = [(nal[0] >> 1) & 0x3F for nal in split_annex_b(frames[index].data)]
        first_slice = next(i for i, t in enumerate(types) if 16 <= t <= 21)
        assert types.index(32) < types.index(33) < types.index(34) < first_slice, types


def test_unsupported_codec_is_refused() -> None:
    with pytest.raises(UnsupportedCodec):
        LiveEncoder(WIDTH, HEIGHT, FPS, Codec.AAC)
    with pytest.raises(ValueError):
        LiveEncoder(WIDTH, HEIGHT, FPS, "vp8")


def test_clip_library_encodes_once_per_format() -> None:
    library = ClipLibrary()
    first = library.encode_clip(160, 90, FPS, 1, "h264")
    again = library.encode_clip(160, 90, FPS, 1, Codec.H264)
    assert len(library) == 1
    assert len(first) == FPS and first[0].keyframe
    assert all(a is b for a, b in zip(first, again, strict=True))
    library.encode_clip(160, 90, 10, 1, "h264")
    assert len(library) == 2
    with pytest.raises(ValueError, match="no frames"):
        library.encode_clip(160, 90, FPS, 0, "h264")
