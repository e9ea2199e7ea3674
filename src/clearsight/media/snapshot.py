"""A JPEG of a stream's picture, decoded from its latest keyframe (never a full decode of the stream).

Given a `MaskPainter`, the decoded picture has the privacy masks burnt in before it is encoded.
CPU-bound: call `keyframe_to_jpeg` in a worker thread (`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, cast

import av

from clearsight.media.es import Codec, EsFrame

if TYPE_CHECKING:  # the painter (and numpy) load only when a picture is painted
    from clearsight.privacy.painter import MaskPainter

_DECODERS = {Codec.H264: "h264", Codec.H265: "hevc"}
JPEG_QUALITY_SCALE = 3  # FFmpeg's mjpeg qscale: 2 (best) … 31; 3 is visually lossless for a snapshot


class SnapshotError(Exception):
    """The keyframe could not be turned into a picture."""


def keyframe_to_jpeg(frame: EsFrame, masks: MaskPainter | None = None) -> bytes:
    decoder_name = _DECODERS.get(frame.codec)
    if decoder_name is None:
        raise SnapshotError(f"no decoder for {frame.codec.value}")
    decoder = cast(av.VideoCodecContext, av.CodecContext.create(decoder_name, "r"))
    try:
        pictures = decoder.decode(av.Packet(frame.data)) + decoder.decode(None)
    except av.FFmpegError as exc:
        raise SnapshotError(f"keyframe does not decode: {exc}") from exc
    if not pictures:
        raise SnapshotError("keyframe decoded to no picture")
    picture = pictures[0] if masks is None else masks.paint_frame(pictures[0])
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width = picture.width
    encoder.height = picture.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)  # required by the encoder; meaningless for one picture
    encoder.qscale = True  # a fixed quantiser instead of a bit rate, bounded by qmin/qmax
    encoder.options = {"qmin": str(JPEG_QUALITY_SCALE), "qmax": str(JPEG_QUALITY_SCALE)}
    converted = picture.reformat(format="yuvj420p")
    packets = encoder.encode(converted) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
