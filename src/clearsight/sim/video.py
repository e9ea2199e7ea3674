"""The simulated camera's picture: a test pattern with a burnt-in clock, the channel name and a PTZ marker, encoded.

`render_frame` draws a YUV 4:2:0 picture with plain byte slicing (no imaging library): a diagonal luma ramp and
colour bars that scroll so motion is visible, the clock (HH:MM:SS.mmm) and the channel name in a 5x7 bitmap font
scaled to the picture, and a yellow square placed by pan/tilt so PTZ moves show. `LiveEncoder` turns those pictures
into H.264 (libx264) or H.265 (libx265) access units ready for a GB/T 28181 program stream; `ClipLibrary` encodes a
short clip once per format for the load mode, which replays it with fresh timestamps.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

import av

from clearsight.media.es import Codec
from clearsight.media.ps_mux import VIDEO_CODECS, UnsupportedCodec

logger = logging.getLogger(__name__)

PTS_CLOCK_HZ = 90_000  # 13818-1 §2.4.3.7: PTS counts a 90 kHz clock
GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7  # the font's glyph cell, before scaling
LUMA_BLACK, LUMA_WHITE = 16, 235  # BT.601 video range
CHROMA_NEUTRAL = 128  # no colour
MARKER_YUV = (210, 16, 146)  # BT.601 yellow: stands out on the ramp and the bars
LUMA_RAMP_PERIOD = 440  # pixels of one rise and fall of the background ramp (16..236..16)
# 75% colour bars (white, yellow, cyan, green, magenta, red, blue, black) as BT.601 (Cb, Cr).
COLOUR_BARS_CBCR = ((128, 128), (44, 142), (156, 44), (72, 58), (184, 198), (100, 212), (212, 114), (128, 128))

# Rows of each glyph, top to bottom; '1' is ink. Lower-case letters are drawn as capitals, anything else as '?'.
_FONT_ROWS = {
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000", ":": "00000 01100 01100 00000 01100 01100 00000",
    "-": "00000 00000 00000 11111 00000 00000 00000", ".": "00000 00000 00000 00000 00000 01100 01100",
    "_": "00000 00000 00000 00000 00000 00000 11111", "?": "01110 10001 00001 00010 00100 00000 00100",
}
FONT: dict[str, tuple[str, ...]] = {char: tuple(rows.split()) for char, rows in _FONT_ROWS.items()}


def glyph(char: str) -> tuple[str, ...]:
    """The 7 rows of 5 '0'/'1' cells drawn for `char`."""
    return FONT.get(char.upper(), FONT["?"])


@dataclass(frozen=True, slots=True)
class OverlayLayout:
    """Where `render_frame` puts the clock, the channel name and the marker in a picture of one size.

    Text is drawn in cells of 6x9 font pixels (a blank column before each glyph and one at the end, a blank row
    above and below) on a black box; one font pixel is `scale` picture pixels square.
    """

    width: int
    height: int
    scale: int
    clock_origin: tuple[int, int]
    name_origin: tuple[int, int]
    name_chars: int  # longest channel name that fits; longer ones are cut
    marker_size: int

    def text_box(self, origin: tuple[int, int], chars: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the box holding `chars` characters drawn at `origin`."""
        return origin[0], origin[1], ((GLYPH_WIDTH + 1) * chars + 1) * self.scale, (GLYPH_HEIGHT + 2) * self.scale

    def marker_origin(self, marker: tuple[float, float]) -> tuple[int, int]:
        """Top-left corner of the marker for (pan degrees, tilt degrees): pan 0–360 left to right, tilt +90 top."""
        pan, tilt = marker
        x = (pan % 360.0) / 360.0 * (self.width - self.marker_size)
        y = (90.0 - max(-90.0, min(90.0, tilt))) / 180.0 * (self.height - self.marker_size)
        return int(x) & ~1, int(y) & ~1


@lru_cache(maxsize=32)
def overlay_layout(width: int, height: int) -> OverlayLayout:
    _check_size(width, height)
    scale = max(1, min(height // 90, width // 160))  # 2 at 320x180, 8 at 1280x720
    margin = 2 * scale
    name_y = height - margin - (GLYPH_HEIGHT + 2) * scale
    name_chars = max(0, (width - 2 * margin - scale) // ((GLYPH_WIDTH + 1) * scale))
    return OverlayLayout(width, height, scale, (margin, margin), (margin, max(0, name_y)), name_chars,
                         max(8, (height // 10) & ~1))


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"picture size {width}x{height}: YUV 4:2:0 needs positive even dimensions")


class _Canvas:
    """The three planes of one YUV 4:2:0 picture as bytearrays with the frame's line sizes; drawing clips."""

    __slots__ = ("cb", "chroma_stride", "cr", "height", "luma", "luma_stride", "width")

    def __init__(self, frame: av.VideoFrame) -> None:
        luma, cb, cr = frame.planes
        self.width, self.height = frame.width, frame.height
        self.luma_stride, self.chroma_stride = luma.line_size, cb.line_size
        self.luma = bytearray(luma.buffer_size)
        self.cb = bytearray(cb.buffer_size)
        self.cr = bytearray(cr.buffer_size)

    def store(self, frame: av.VideoFrame) -> None:
        for plane, data in zip(frame.planes, (self.luma, self.cb, self.cr), strict=True):
            plane.update(bytes(data))

    def fill(self, x: int, y: int, width: int, height: int, yuv: tuple[int, int, int]) -> None:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + width), min(self.height, y + height)
        if x0 >= x1 or y0 >= y1:
            return
        luma_row = bytes((yuv[0],)) * (x1 - x0)
        for row in range(y0, y1):
            start = row * self.luma_stride + x0
            self.luma[start : start + len(luma_row)] = luma_row
        cx0, cx1, cy0, cy1 = x0 // 2, (x1 + 1) // 2, y0 // 2, (y1 + 1) // 2
        cb_row, cr_row = bytes((yuv[1],)) * (cx1 - cx0), bytes((yuv[2],)) * (cx1 - cx0)
        for row in range(cy0, cy1):
            start = row * self.chroma_stride + cx0
            self.cb[start : start + len(cb_row)] = cb_row
            self.cr[start : start + len(cr_row)] = cr_row

    def put_luma_rows(self, x: int, y: int, rows: list[bytes]) -> None:
        if x >= self.width:
            return
        for offset, row in enumerate(rows):
            if not 0 <= y + offset < self.height:
                continue
            visible = row[: self.width - x]
            start = (y + offset) * self.luma_stride + x
            self.luma[start : start + len(visible)] = visible


@lru_cache(maxsize=32)
def _luma_ramp(width: int) -> bytes:
    half = LUMA_RAMP_PERIOD // 2
    return bytes(LUMA_BLACK + min(220, abs(i % LUMA_RAMP_PERIOD - half)) for i in range(width + LUMA_RAMP_PERIOD))


@lru_cache(maxsize=32)
def _colour_bars(chroma_width: int) -> tuple[bytes, bytes]:
    bars = [COLOUR_BARS_CBCR[i * len(COLOUR_BARS_CBCR) // chroma_width] for i in range(chroma_width)]
    cb, cr = bytes(b for b, _ in bars), bytes(r for _, r in bars)
    return cb + cb, cr + cr


def _draw_background(canvas: _Canvas, index: int) -> None:
    width, height = canvas.width, canvas.height
    ramp, step = _luma_ramp(width), max(2, width // 80)
    for row in range(height):
        shift = (index * step + row) % LUMA_RAMP_PERIOD
        start = row * canvas.luma_stride
        canvas.luma[start : start + width] = ramp[shift : shift + width]
    chroma_width = width // 2
    cb_bars, cr_bars = _colour_bars(chroma_width)
    shift = index % chroma_width
    padding = bytes(canvas.chroma_stride - chroma_width)
    canvas.cb[:] = (cb_bars[shift : shift + chroma_width] + padding) * (height // 2)
    canvas.cr[:] = (cr_bars[shift : shift + chroma_width] + padding) * (height // 2)


def _text_rows(text: str, scale: int) -> list[bytes]:
    """Luma rows of `text` in white on black, one font pixel as `scale` x `scale` picture pixels."""
    ink, paper = bytes((LUMA_WHITE,)) * scale, bytes((LUMA_BLACK,)) * scale
    blank = paper * ((GLYPH_WIDTH + 1) * len(text) + 1)
    glyphs = [glyph(char) for char in text]
    rows = [blank] * scale
    for line in range(GLYPH_HEIGHT):
        cells = "0" + "".join(g[line] + "0" for g in glyphs)
        row = b"".join(ink if cell == "1" else paper for cell in cells)
        rows += [row] * scale
    return rows + [blank] * scale


def _draw_text(canvas: _Canvas, layout: OverlayLayout, origin: tuple[int, int], text: str) -> None:
    x, y, width, height = layout.text_box(origin, len(text))
    canvas.fill(x, y, width, height, (LUMA_BLACK, CHROMA_NEUTRAL, CHROMA_NEUTRAL))
    canvas.put_luma_rows(x, y, _text_rows(text, layout.scale))


def clock_text(now: datetime) -> str:
    """The burnt-in clock: HH:MM:SS.mmm of `now` as given (pass the device's local time)."""
    return f"{now:%H:%M:%S}.{now.microsecond // 1000:03d}"


def render_frame(width: int, height: int, *, channel_name: str, now: datetime, marker: tuple[float, float],
                 index: int) -> av.VideoFrame:
    """One yuv420p test picture; `marker` is (pan, tilt) in degrees, `index` the frame number that drives motion."""
    layout = overlay_layout(width, height)
    frame = av.VideoFrame(width, height, "yuv420p")
    canvas = _Canvas(frame)
    _draw_background(canvas, index)
    _draw_text(canvas, layout, layout.clock_origin, clock_text(now))
    if channel_name and layout.name_chars:
        _draw_text(canvas, layout, layout.name_origin, channel_name[: layout.name_chars])
    x, y = layout.marker_origin(marker)
    size, border = layout.marker_size, max(1, layout.marker_size // 8)
    canvas.fill(x, y, size, size, (LUMA_BLACK, CHROMA_NEUTRAL, CHROMA_NEUTRAL))
    canvas.fill(x + border, y + border, size - 2 * border, size - 2 * border, MARKER_YUV)
    canvas.store(frame)
    return frame


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One coded picture: an Annex-B access unit (SPS/PPS, or VPS/SPS/PPS, before every keyframe) and its PTS."""

    data: bytes
    keyframe: bool
    pts_90k: int


def _encoder_options(codec: Codec, fps: int, threads: int) -> tuple[str, dict[str, str]]:
    gop = f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0:repeat-headers=1:annexb=1"
    common = {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1"}
    if codec is Codec.H264:
        return "libx264", common | {"profile": "baseline", "x264-params": f"{gop}:threads={threads}"}
    return "libx265", common | {"x265-params": f"{gop}:log-level=error:pools={threads}:frame-threads=1"}


def _video_codec(codec: Codec | str) -> Codec:
    resolved = Codec(codec)
    if resolved not in VIDEO_CODECS:
        raise UnsupportedCodec(resolved)
    return resolved


class LiveEncoder:
    """Encodes pictures one by one with no delay: GOP of one second, no B-frames, headers before every IDR."""

    def __init__(self, width: int, height: int, fps: int, codec: Codec | str = "h264", *, threads: int = 1) -> None:
        _check_size(width, height)
        if fps <= 0:
            raise ValueError(f"fps {fps} must be positive")
        self.width, self.height, self.fps = width, height, fps
        self.codec = _video_codec(codec)
        encoder, options = _encoder_options(self.codec, fps, threads)
        context = av.CodecContext.create(encoder, "w")
        if not isinstance(context, av.VideoCodecContext):
            raise TypeError(f"{encoder} is not a video encoder")
        context.width, context.height, context.pix_fmt = width, height, "yuv420p"
        context.time_base = Fraction(1, fps)
        context.framerate = Fraction(fps)
        context.gop_size = fps
        context.max_b_frames = 0
        context.thread_count = threads
        context.options = options
        self._context = context
        self._next_index = 0
        self._keyframe_requested = False

    @property
    def frame_count(self) -> int:
        """Pictures given to the encoder so far: the index of the next one."""
        return self._next_index

    def request_keyframe(self) -> None:
        """Make the next picture an IDR (what an IFameCmd asks for)."""
        self._keyframe_requested = True

    def encode(self, frame: av.VideoFrame) -> list[EncodedFrame]:
        """Encode the next picture; its PTS is its index at `fps` frames a second, in 90 kHz ticks."""
        frame.pts = self._next_index
        self._next_index += 1
        if self._keyframe_requested:
            frame.pict_type = av.video.frame.PictureType.I
            self._keyframe_requested = False
        return self._collect(self._context.encode(frame))

    def encode_test_picture(self, *, channel_name: str, now: datetime,
                            marker: tuple[float, float]) -> list[EncodedFrame]:
        """Render the next test picture (see `render_frame`) and encode it."""
        picture = render_frame(self.width, self.height, channel_name=channel_name, now=now, marker=marker,
                               index=self._next_index)
        return self.encode(picture)

    def flush(self) -> list[EncodedFrame]:
        """Whatever the encoder still holds; the encoder takes no more pictures afterwards."""
        return self._collect(self._context.encode(None))

    def _collect(self, packets: list[av.Packet[Any]]) -> list[EncodedFrame]:
        frames = []
        for packet in packets:
            index = packet.pts if packet.pts is not None else self._next_index - 1
            frames.append(EncodedFrame(bytes(packet), packet.is_keyframe, index * PTS_CLOCK_HZ // self.fps))
        return frames


ClipKey = tuple[int, int, int, float, Codec]

CLIP_START = datetime(2026, 1, 1, tzinfo=UTC)  # the clock a replayed clip shows: fixed, so every clip looks alike


class ClipLibrary:
    """Short clips of the test picture, encoded once per (size, fps, length, codec) and kept for replay."""

    def __init__(self, *, channel_name: str = "CLEARSIGHT LOAD") -> None:
        self.channel_name = channel_name
        self._clips: dict[ClipKey, list[EncodedFrame]] = {}

    def __len__(self) -> int:
        return len(self._clips)

    def encode_clip(self, width: int, height: int, fps: int, seconds: float,
                    codec: Codec | str = "h264") -> list[EncodedFrame]:
        """The clip's frames in order, starting on a keyframe; a whole number of GOPs when `seconds` is whole.

        The marker circles once over the clip so a loop joins up smoothly. The returned list is a copy; the
        frames are shared.
        """
        key: ClipKey = (width, height, fps, seconds, _video_codec(codec))
        clip = self._clips.get(key)
        if clip is None:
            clip = self._encode(*key)
            self._clips[key] = clip
        return list(clip)

    def _encode(self, width: int, height: int, fps: int, seconds: float, codec: Codec) -> list[EncodedFrame]:
        count = round(seconds * fps)
        if count <= 0:
            raise ValueError(f"a clip of {seconds} s at {fps} fps has no frames")
        started = time.perf_counter()
        encoder = LiveEncoder(width, height, fps, codec)
        frames: list[EncodedFrame] = []
        for index in range(count):
            turn = 2 * math.pi * index / count
            marker = (180.0 + 90.0 * math.cos(turn), 45.0 * math.sin(turn))
            now = CLIP_START + timedelta(seconds=index / fps)
            frames += encoder.encode_test_picture(channel_name=self.channel_name, now=now, marker=marker)
        frames += encoder.flush()
        logger.info("encoded %s clip %dx%d at %d fps: %d frames, %d bytes in %.2f s", codec.value, width, height,
                    fps, len(frames), sum(len(f.data) for f in frames), time.perf_counter() - started)
        return frames
