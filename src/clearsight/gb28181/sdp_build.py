"""Building GB/T 28181 SDP: the platform's INVITE offer, the Subject header, a device's answer."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from clearsight.gb28181.sdp import (
    _CODEC_BY_ENCODING,
    CRLF,
    DEFAULT_CLOCK_RATE,
    OFFER_FORMATS,
    PORT_MAX,
    PS_PAYLOAD_TYPE,
    RTPMAP_OFFER,
    TCP_PROTO,
    UDP_PROTO,
    Codec,
    MediaTransport,
    SdpError,
    SessionDescription,
    TcpSetup,
    _uint,
)
from clearsight.gb28181.ssrc import Ssrc, StreamKind


def _check_token(name: str, value: str) -> None:
    if not value or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{name} must be non-empty, without spaces or control characters: {value[:40]!r}")


def _address(host: str) -> str:
    return f"IN {'IP6' if ':' in host else 'IP4'} {host}"


def _encode(lines: list[str]) -> bytes:
    return (CRLF.join(lines) + CRLF).encode("utf-8")


def build_offer(
    *,
    session: StreamKind,
    channel_id: str,
    media_host: str,
    media_port: int,
    ssrc: Ssrc,
    transport: MediaTransport,
    start: int | None = None,
    end: int | None = None,
    download_speed: int | None = None,
    origin_user: str | None = None,
) -> bytes:
    """The platform's INVITE body (GB/T 28181-2016 appendix F); ``origin_user`` defaults to the channel.

    ``transport`` is the platform's side: TCP_PASSIVE = the platform listens on ``media_port``. Playback
    and download need ``start`` <= ``end`` (Unix seconds); live view takes neither. Bad arguments are a
    programming error: ValueError.
    """
    for name, value in (("channel_id", channel_id), ("media_host", media_host), ("origin_user", origin_user)):
        if value is not None:
            _check_token(name, value)
    if not 0 < media_port <= PORT_MAX:
        raise ValueError(f"media_port {media_port} outside 1-{PORT_MAX}")
    if session is StreamKind.PLAY:
        if start is not None or end is not None:
            raise ValueError("live view (Play) has no time range")
        times = "0 0"
    elif start is None or end is None or not 0 <= start <= end:
        raise ValueError(f"{session.value} needs 0 <= start <= end, got {start}..{end}")
    else:
        times = f"{start} {end}"
    if download_speed is not None and download_speed < 0:
        raise ValueError(f"download_speed must not be negative: {download_speed}")
    address = _address(media_host)
    lines = ["v=0", f"o={origin_user or channel_id} 0 0 {address}", f"s={session.value}"]
    if session is not StreamKind.PLAY:
        lines.append(f"u={channel_id}:0")
    proto = UDP_PROTO if transport is MediaTransport.UDP else TCP_PROTO
    lines += [f"c={address}", f"t={times}", f"m=video {media_port} {proto} {' '.join(OFFER_FORMATS)}"]
    if transport is not MediaTransport.UDP:
        role = TcpSetup.PASSIVE if transport is MediaTransport.TCP_PASSIVE else TcpSetup.ACTIVE
        lines += [f"a=setup:{role.value}", "a=connection:new"]
    lines.append("a=recvonly")
    lines += [f"a=rtpmap:{pt} {encoding}" for pt, encoding in RTPMAP_OFFER]
    if download_speed is not None:
        lines.append(f"a=downloadspeed:{download_speed}")
    lines.append(f"y={ssrc.text}")
    return _encode(lines)


def subject_header(channel_id: str, ssrc: Ssrc, platform_id: str) -> str:
    """The INVITE ``Subject`` header value: ``<channelId>:<ssrc>,<platformId>:0`` (sender's stream serial 0)."""
    _check_token("channel_id", channel_id)
    _check_token("platform_id", platform_id)
    return f"{channel_id}:{ssrc.text},{platform_id}:0"


H264_PAYLOAD_TYPE = 98  # GB/T 28181-2016 appendix F: a=rtpmap:98 H264/90000
# RFC 6184 §5.4: mode 1 (non-interleaved: single NAL units, STAP-A, FU-A), what the simulator sends.
H264_PACKETIZATION_MODE = 1


def _offered_payload_type(offer: SessionDescription, codec: Codec, usual: int) -> int:
    """The offer's payload type for `codec` by its rtpmap, else `usual` when offered without one."""
    rtpmap = offer.rtpmap
    for fmt in offer.stream.formats:
        pt = _uint(fmt)
        if pt is not None and pt in rtpmap and _CODEC_BY_ENCODING.get(rtpmap[pt].encoding.upper()) is codec:
            return pt
    if str(usual) in offer.stream.formats:
        return usual
    raise SdpError(f"offer has no {codec.value} payload type")


def build_answer(
    *,
    offer: SessionDescription,
    device_id: str,
    media_host: str,
    media_port: int,
    ssrc: Ssrc | None = None,
    filesize: int | None = None,
    h264_parameter_sets: Sequence[bytes] = (),
) -> bytes:
    """A device's 200 OK body to ``offer`` (for the simulator): send-only PS on the offered transport.

    With ``h264_parameter_sets`` (SPS and PPS NAL units, no start codes) the answer is raw H.264 instead, with
    them in ``sprop-parameter-sets`` (RFC 6184 §8.1), as a device that sends them only there answers.

    Over TCP the device takes the complementary role (offer passive or actpass → active, offer active or
    silent → passive, as RFC 4145 defaults an offer to active). ``ssrc`` defaults to the offered ``y=``;
    a different value simulates a device that changes it. Raises SdpError when the offer has no PS payload
    or holds the connection.
    """
    _check_token("device_id", device_id)
    _check_token("media_host", media_host)
    if not 0 < media_port <= PORT_MAX:
        raise ValueError(f"media_port {media_port} outside 1-{PORT_MAX}")
    if h264_parameter_sets:
        pt = _offered_payload_type(offer, Codec.H264, H264_PAYLOAD_TYPE)
        sprop = ",".join(base64.b64encode(nal).decode("ascii") for nal in h264_parameter_sets)
        formats = [f"a=rtpmap:{pt} H264/{DEFAULT_CLOCK_RATE}",
                   f"a=fmtp:{pt} packetization-mode={H264_PACKETIZATION_MODE};sprop-parameter-sets={sprop}"]
    else:
        pt = _offered_payload_type(offer, Codec.PS, PS_PAYLOAD_TYPE)
        formats = [f"a=rtpmap:{pt} PS/{DEFAULT_CLOCK_RATE}"]
    address = _address(media_host)
    stream = offer.stream
    lines = [
        "v=0",
        f"o={device_id} 0 0 {address}",
        f"s={offer.session_name or StreamKind.PLAY.value}",
        f"c={address}",
        f"t={offer.start} {offer.end}",
        f"m={stream.kind} {media_port} {stream.proto} {pt}",
        "a=sendonly",
        *formats,
    ]
    if stream.is_tcp:
        offered = offer.setup
        if offered is TcpSetup.HOLDCONN:
            raise SdpError("offer holds the connection (a=setup:holdconn)")
        role = TcpSetup.ACTIVE if offered in (TcpSetup.PASSIVE, TcpSetup.ACTPASS) else TcpSetup.PASSIVE
        lines += [f"a=setup:{role.value}", "a=connection:new"]
    if filesize is not None:
        lines.append(f"a=filesize:{filesize}")
    answered = ssrc or offer.ssrc
    if answered is not None:
        lines.append(f"y={answered.text}")
    return _encode(lines)
