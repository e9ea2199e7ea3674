"""Multiplex H.264/H.265 access units (and optional G.711/AAC audio) into a GB/T 28181 Program Stream.

FFmpeg's own PS muxer leaves some PES packets without timestamps; this one puts a PTS (and a DTS when given)
on the first PES of every frame. A keyframe is preceded by pack header, system header and program stream map
(13818-1 §2.5.3); other frames by a pack header only. Pure functions and a small stateful class, no I/O.
"""

from __future__ import annotations

from clearsight.media.ps_demux import (
    CODEC_STREAM_TYPES,
    PACK_START_CODE,
    PROGRAM_STREAM_MAP_ID,
    START_CODE_PREFIX,
    SYSTEM_HEADER_START_CODE,
    TIMESTAMP_MASK,
    Codec,
    crc32_mpeg,
)

VIDEO_STREAM_ID = 0xE0  # first video stream, as GB/T 28181 devices use it
AUDIO_STREAM_ID = 0xC0  # first audio stream
MAX_PES_PACKET_LENGTH = 0xFFFF  # PES_packet_length is 16 bits
PES_FLAGS_HEADER_BYTES = 3  # the two flag bytes and PES_header_data_length
TIMESTAMP_BYTES = 5  # one PTS or DTS field
MAX_PES_PAYLOAD = MAX_PES_PACKET_LENGTH - PES_FLAGS_HEADER_BYTES - 2 * TIMESTAMP_BYTES  # room for PTS and DTS
DEFAULT_MUX_RATE = 10_000  # program_mux_rate in units of 50 bytes/s: 4 Mbit/s
MAX_MUX_RATE = (1 << 22) - 1  # program_mux_rate and rate_bound are 22 bits
PTS_ONLY_PREFIX = 0b0010  # '0010' before a PTS that has no DTS
PTS_WITH_DTS_PREFIX = 0b0011  # '0011' before a PTS followed by a DTS
DTS_PREFIX = 0b0001  # '0001' before a DTS
VIDEO_BUFFER_BOUND_KIB = 400  # P-STD_buffer_size_bound for video, scale 1 (units of 1024 bytes)
AUDIO_BUFFER_BOUND_128 = 32  # P-STD_buffer_size_bound for audio, scale 0 (units of 128 bytes)
VIDEO_CODECS = (Codec.H264, Codec.H265)
AUDIO_CODECS = (Codec.AAC, Codec.G711A, Codec.G711U)


class UnsupportedCodec(ValueError):
    def __init__(self, codec: Codec) -> None:
        super().__init__(f"cannot put {codec.value} in a GB/T 28181 program stream here")
        self.codec = codec


def encode_timestamp(prefix: int, value: int) -> bytes:
    """A 33-bit PTS/DTS (or MPEG-1 SCR) as 5 bytes: `pppp vvv1 | v*15 1 | v*15 1` (13818-1 §2.4.3.7)."""
    value &= TIMESTAMP_MASK
    return bytes((
        prefix << 4 | (value >> 30) << 1 | 0x01,
        (value >> 22) & 0xFF,
        ((value >> 15) & 0x7F) << 1 | 0x01,
        (value >> 7) & 0xFF,
        (value & 0x7F) << 1 | 0x01,
    ))


def pack_header(scr: int, mux_rate: int = DEFAULT_MUX_RATE) -> bytes:
    """An MPEG-2 pack header (13818-1 §2.5.3.3) with SCR base `scr`, SCR extension 0 and no stuffing."""
    if not 0 < mux_rate <= MAX_MUX_RATE:
        raise ValueError(f"mux_rate {mux_rate} outside 1..{MAX_MUX_RATE}")
    scr &= TIMESTAMP_MASK
    return START_CODE_PREFIX + bytes((
        PACK_START_CODE,
        0x40 | (scr >> 30) << 3 | 0x04 | (scr >> 28) & 0x03,  # '01' SCR[32..30] marker SCR[29..28]
        (scr >> 20) & 0xFF,
        ((scr >> 15) & 0x1F) << 3 | 0x04 | (scr >> 13) & 0x03,
        (scr >> 5) & 0xFF,
        (scr & 0x1F) << 3 | 0x04,  # SCR[4..0] marker, SCR_extension[8..7] = 0
        0x01,  # SCR_extension[6..0] = 0, marker
        (mux_rate >> 14) & 0xFF,
        (mux_rate >> 6) & 0xFF,
        (mux_rate & 0x3F) << 2 | 0x03,  # program_mux_rate[5..0], two markers
        0xF8,  # reserved '11111', pack_stuffing_length 0
    ))


def system_header(stream_ids: list[int], rate_bound: int = DEFAULT_MUX_RATE) -> bytes:
    """A system header (13818-1 §2.5.3.5) declaring one video and up to one audio stream."""
    audio = [sid for sid in stream_ids if 0xC0 <= sid <= 0xDF]
    video = [sid for sid in stream_ids if 0xE0 <= sid <= 0xEF]
    body = bytearray((
        0x80 | (rate_bound >> 15) & 0x7F,  # marker, rate_bound[21..15]
        (rate_bound >> 7) & 0xFF,
        (rate_bound & 0x7F) << 1 | 0x01,  # rate_bound[6..0], marker
        len(audio) << 2,  # audio_bound, fixed_flag 0, CSPS_flag 0
        0xE0 | len(video),  # system_audio_lock_flag, system_video_lock_flag, marker, video_bound
        0x7F,  # packet_rate_restriction_flag 0, reserved
    ))
    for sid in stream_ids:
        if 0xE0 <= sid <= 0xEF:  # '11', P-STD_buffer_bound_scale 1, 13-bit size bound
            body += bytes((sid, 0xE0 | VIDEO_BUFFER_BOUND_KIB >> 8, VIDEO_BUFFER_BOUND_KIB & 0xFF))
        else:
            body += bytes((sid, 0xC0 | AUDIO_BUFFER_BOUND_128 >> 8, AUDIO_BUFFER_BOUND_128 & 0xFF))
    return START_CODE_PREFIX + bytes((SYSTEM_HEADER_START_CODE,)) + len(body).to_bytes(2, "big") + body


def program_stream_map(streams: list[tuple[int, int]], version: int = 0) -> bytes:
    """A program stream map (13818-1 §2.5.4) for (stream_type, stream_id) pairs, no descriptors, with CRC_32."""
    entries = b"".join(bytes((stream_type, sid, 0, 0)) for stream_type, sid in streams)
    body = bytes((0x80 | 0x60 | version & 0x1F, 0xFF)) + b"\x00\x00" + len(entries).to_bytes(2, "big") + entries
    head = START_CODE_PREFIX + bytes((PROGRAM_STREAM_MAP_ID,)) + (len(body) + 4).to_bytes(2, "big")
    return head + body + crc32_mpeg(head + body).to_bytes(4, "big")


def pes_packet(stream_id: int, payload: bytes, pts: int | None = None, dts: int | None = None, *,
               aligned: bool = False) -> bytes:
    """One PES packet with an MPEG-2 header (13818-1 §2.4.3.6); a DTS equal to the PTS is left out."""
    if dts is not None and pts is None:
        raise ValueError("a DTS needs a PTS")
    if dts is not None and dts != pts:
        flags, stamps = 0xC0, encode_timestamp(PTS_WITH_DTS_PREFIX, pts or 0) + encode_timestamp(DTS_PREFIX, dts)
    elif pts is not None:
        flags, stamps = 0x80, encode_timestamp(PTS_ONLY_PREFIX, pts)
    else:
        flags, stamps = 0x00, b""
    length = PES_FLAGS_HEADER_BYTES + len(stamps) + len(payload)
    if length > MAX_PES_PACKET_LENGTH:
        raise ValueError(f"PES payload of {len(payload)} bytes does not fit one packet")
    first = 0x80 | (0x04 if aligned else 0x00)  # '10', not scrambled, priority 0, data_alignment_indicator, 0, 0
    return START_CODE_PREFIX + bytes((stream_id,)) + length.to_bytes(2, "big") \
        + bytes((first, flags, len(stamps))) + stamps + payload


def packetize_ps_for_rtp(ps_bytes: bytes, max_payload: int = 1400) -> list[bytes]:
    """Cut one frame's PS bytes into RTP payloads of at most `max_payload` bytes.

    The last element ends the frame: the caller sets the RTP marker bit on the packet carrying it.
    """
    if max_payload <= 0:
        raise ValueError("max_payload must be positive")
    return [ps_bytes[i : i + max_payload] for i in range(0, len(ps_bytes), max_payload)]


class PsMuxer:
    """Turns access units into PS bytes, one call per frame: `mux()` for video, `mux_audio()` for audio."""

    def __init__(self, video_codec: Codec = Codec.H264, *, audio_codec: Codec | None = None,
                 mux_rate: int = DEFAULT_MUX_RATE, max_pes_payload: int = MAX_PES_PAYLOAD) -> None:
        if video_codec not in VIDEO_CODECS:
            raise UnsupportedCodec(video_codec)
        if audio_codec is not None and audio_codec not in AUDIO_CODECS:
            raise UnsupportedCodec(audio_codec)
        if not 0 < max_pes_payload <= MAX_PES_PAYLOAD:
            raise ValueError(f"max_pes_payload {max_pes_payload} outside 1..{MAX_PES_PAYLOAD}")
        self.video_codec = video_codec
        self.audio_codec = audio_codec
        self._mux_rate = mux_rate
        self._max_pes_payload = max_pes_payload
        streams = [(CODEC_STREAM_TYPES[video_codec], VIDEO_STREAM_ID)]
        if audio_codec is not None:
            streams.append((CODEC_STREAM_TYPES[audio_codec], AUDIO_STREAM_ID))
        self._system_header = system_header([sid for _, sid in streams], mux_rate)
        self._psm = program_stream_map(streams)
        pack_header(0, mux_rate)  # validates mux_rate now rather than on the first frame

    def mux(self, frame_data: bytes, pts: int, keyframe: bool, dts: int | None = None) -> bytes:
        """One video access unit (Annex-B) with its 90 kHz PTS (and DTS when it differs) as PS bytes."""
        out = bytearray(pack_header(pts if dts is None else dts, self._mux_rate))
        if keyframe:
            out += self._system_header
            out += self._psm
        self._append_pes(out, VIDEO_STREAM_ID, frame_data, pts, dts)
        return bytes(out)

    def mux_audio(self, data: bytes, pts: int) -> bytes:
        """One audio frame (G.711 samples or an ADTS frame) in its own pack."""
        if self.audio_codec is None:
            raise ValueError("this muxer was created without an audio codec")
        out = bytearray(pack_header(pts, self._mux_rate))
        self._append_pes(out, AUDIO_STREAM_ID, data, pts, None)
        return bytes(out)

    def _append_pes(self, out: bytearray, stream_id: int, data: bytes, pts: int, dts: int | None) -> None:
        step = self._max_pes_payload
        for offset in range(0, max(len(data), 1), step):
            first = offset == 0
            out += pes_packet(stream_id, data[offset : offset + step], pts if first else None,
                              dts if first else None, aligned=first)
