"""Small JPEG thumbnails of recorded channels, for a timeline's hover: from keyframes only, never a full decode.

While a channel is recorded its recorder takes the hub stream's latest keyframe every few seconds and turns
it into a JPEG `THUMBNAIL_WIDTH` pixels wide (one decoded picture, scaled, encoded; CPU-bound, so in a worker
thread). Thumbnails lie next to the segments (`layout.thumbnail_path`), named by their UTC moment: the file
name is the index, `nearest_thumbnail` finds the one closest to a moment. Retention deletes them with the
segments whose time they fall in.

Thumbnails are stored as recorded, without privacy masks, like the segments they come from; the API burns
the channel's current masks in when it hands one to someone who may not lift them (`masked_thumbnail`), so
a mask added today hides the area in yesterday's thumbnails too (docs/privacy.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av

from clearsight.media.es import Codec, EsFrame
from clearsight.recording.layout import THUMBNAIL_DIR, day_dir, parse_thumbnail_name, thumbnail_path

if TYPE_CHECKING:  # the painter (and numpy) load only when a picture is painted
    from clearsight.privacy.painter import MaskPainter

logger = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 320  # pixels; the height keeps the picture's aspect ratio
JPEG_QUALITY_SCALE = 6  # FFmpeg's mjpeg qscale (2 best … 31); small files, fine for a hover preview
DEFAULT_SEARCH_WINDOW = timedelta(minutes=5)  # a thumbnail further than this from the moment asked is no answer
_DECODERS = {Codec.H264: "h264", Codec.H265: "hevc"}


class ThumbnailError(Exception):
    """The keyframe could not be turned into a thumbnail."""


def keyframe_to_thumbnail(frame: EsFrame, width: int = THUMBNAIL_WIDTH) -> bytes:
    """One keyframe → a JPEG `width` pixels wide (never wider than the picture)."""
    decoder_name = _DECODERS.get(frame.codec)
    if decoder_name is None:
        raise ThumbnailError(f"no decoder for {frame.codec.value}")
    decoder = cast(av.VideoCodecContext, av.CodecContext.create(decoder_name, "r"))
    try:
        pictures = decoder.decode(av.Packet(frame.data)) + decoder.decode(None)
    except av.FFmpegError as exc:
        raise ThumbnailError(f"keyframe does not decode: {exc}") from exc
    if not pictures:
        raise ThumbnailError("keyframe decoded to no picture")
    picture = pictures[0]
    out_width = min(width, picture.width) & ~1
    out_height = max(2, round(picture.height * out_width / picture.width)) & ~1
    return _encode_jpeg(picture.reformat(width=out_width, height=out_height, format="yuvj420p"))


def masked_thumbnail(jpeg: bytes, masks: MaskPainter) -> bytes:
    """A stored thumbnail with privacy masks burnt in (done when it is read: masks change, files stay)."""
    decoder = av.CodecContext.create("mjpeg", "r")
    try:
        pictures = decoder.decode(av.Packet(jpeg)) + decoder.decode(None)
    except av.FFmpegError as exc:
        raise ThumbnailError(f"thumbnail does not decode: {exc}") from exc
    if not pictures:
        raise ThumbnailError("thumbnail decoded to no picture")
    return _encode_jpeg(masks.paint_frame(pictures[0]).reformat(format="yuvj420p"))


def _encode_jpeg(picture: av.VideoFrame) -> bytes:
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = picture.width, picture.height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)  # required by the encoder; meaningless for one picture
    encoder.qscale = True
    encoder.options = {"qmin": str(JPEG_QUALITY_SCALE), "qmax": str(JPEG_QUALITY_SCALE)}
    packets = encoder.encode(picture) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def save_thumbnail(root: Path, channel_id: int, at: datetime, jpeg: bytes) -> Path:
    """Write a thumbnail (to a temporary name, then renamed: a reader never sees half a file)."""
    path = root / thumbnail_path(channel_id, at)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(jpeg)
    os.replace(temporary, path)
    return path


def make_thumbnail(root: Path, channel_id: int, at: datetime, frame: EsFrame) -> Path:
    """Decode, scale, encode and save: the whole job, for a worker thread."""
    return save_thumbnail(root, channel_id, at, keyframe_to_thumbnail(frame))


def _thumbnails_of_day(root: Path, channel_id: int, day: datetime) -> list[tuple[datetime, Path]]:
    directory = root / day_dir(channel_id, day) / THUMBNAIL_DIR
    day_name = directory.parent.name
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in names:
        moment = parse_thumbnail_name(day_name, name)
        if moment is not None:
            found.append((moment, directory / name))
    return found


def nearest_thumbnail(roots: Iterable[Path], channel_id: int, at: datetime,
                      within: timedelta = DEFAULT_SEARCH_WINDOW) -> tuple[datetime, Path] | None:
    """The thumbnail closest to `at` (within `within`), on any storage root; blocking (directory listings)."""
    best: tuple[timedelta, datetime, Path] | None = None
    at = at.astimezone(UTC)
    days = {(at - within).date(), at.date(), (at + within).date()}
    for root in roots:
        for day in sorted(days):
            moment_of_day = datetime(day.year, day.month, day.day, tzinfo=at.tzinfo)
            for moment, path in _thumbnails_of_day(root, channel_id, moment_of_day):
                distance = abs(moment - at)
                if distance <= within and (best is None or distance < best[0]):
                    best = (distance, moment, path)
    return (best[1], best[2]) if best is not None else None


def delete_thumbnails(root: Path, channel_id: int, start: datetime, end: datetime) -> int:
    """Remove the channel's thumbnails taken in [start, end); blocking. Returns how many."""
    removed = 0
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    day = start
    while day.date() <= end.date():
        for moment, path in _thumbnails_of_day(root, channel_id, day):
            if start <= moment < end:
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed += 1
        day += timedelta(days=1)
    return removed
