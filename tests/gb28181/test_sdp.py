"""SDP as GB/T 28181 uses it: offers, answers, the tolerant parser and negotiation, on real captures."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from clearsight.gb28181.sdp import (
    Attribute,
    Codec,
    Direction,
    MediaTransport,
    RtpMap,
    SdpError,
    SessionDescription,
    TcpSetup,
    parse_sdp,
)
from clearsight.gb28181.sdp_build import build_answer, build_offer, subject_header
from clearsight.gb28181.sdp_negotiate import negotiate
from clearsight.gb28181.ssrc import Ssrc, StreamKind, parse_y

Body = Callable[[str], bytes]

CHANNEL = "34020000001310000001"
PLATFORM = "34020000002000000001"
OFFERED_RTPMAP = {96: RtpMap("PS", 90000), 97: RtpMap("MPEG4", 90000), 98: RtpMap("H264", 90000)}
PS_ONLY = {96: RtpMap("PS", 90000)}
NVR_TIME_SHIFT = 28800  # capture 56: the NVR answers t= eight hours (UTC+8) after the offer

# file → what its SDP body carries, read from the files
EXPECTED: dict[str, dict[str, Any]] = {
    "48-exosip-invite-play-udp.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("34020000002000000010", "192.168.6.106"),
        host="192.168.6.106", port=45056, proto="RTP/AVP", formats=("96", "98", "97"), rtpmap=OFFERED_RTPMAP,
        direction=Direction.RECVONLY, setup=None, connection=None, ssrc="0000001002", start=0, end=0, uri=None,
        download_speed=None, filesize=None, format_line="", info=None),
    "50-dahua-sd-200ok-sdp-play-udp.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("34020000001310000001", "192.168.6.71"),
        host="192.168.6.71", port=9712, proto="RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=None, connection=None, ssrc="0000001002", start=0, end=0, uri=None,
        download_speed=None, filesize=None, format_line="v/0/0/0/0/0a/0/0/0", info="VCam Live Video"),
    "51-platform-invite-play-tcp-setup-active.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("34020000001310000001", "192.168.0.110"),
        host="192.168.0.110", port=8888, proto="TCP/RTP/AVP", formats=("96", "97", "98"), rtpmap=OFFERED_RTPMAP,
        direction=Direction.RECVONLY, setup=TcpSetup.ACTIVE, connection="new", ssrc="0000010000", start=0, end=0,
        uri="34020000001310000001:0", download_speed=0, filesize=None, format_line=None, info=None),
    "52-hikvision-ipc-200ok-sdp-tcp-setup-passive.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("34020000001320000002", "192.168.0.64"),
        host="192.168.0.64", port=15060, proto="TCP/RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=TcpSetup.PASSIVE, connection=None, ssrc="0000010000", start=0, end=0,
        uri=None, download_speed=None, filesize=0, format_line=None, info=None),
    "53-hikvision-ipc-200ok-sdp-udp-setup-active-credentials.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("34020000001320000003", "192.168.137.11"),
        host="192.168.137.11", port=15060, proto="RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=TcpSetup.ACTIVE, connection=None, ssrc="0000630886", start=0, end=0,
        uri=None, download_speed=None, filesize=0, format_line="", info=None),
    "54-dahua-200ok-sdp-tcp-alphabetical-headers.sip": dict(
        session_name="Play", kind=StreamKind.PLAY, origin=("xxx", "192.168.0.111"),
        host="192.168.0.111", port=9724, proto="TCP/RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=TcpSetup.ACTIVE, connection="new", ssrc="0100000001", start=0, end=0,
        uri=None, download_speed=None, filesize=None, format_line="v/0/0/0/0/0a/0/0/0", info="VCam Live Video"),
    "55-exosip-invite-playback.sip": dict(
        session_name="Playback", kind=StreamKind.PLAYBACK, origin=("34020000002000000010", "192.168.6.106"),
        host="192.168.6.106", port=45056, proto="RTP/AVP", formats=("96", "98", "97"), rtpmap=OFFERED_RTPMAP,
        direction=Direction.RECVONLY, setup=None, connection=None, ssrc="0000002000", start=1714804996,
        end=1714806986, uri="34020000001310000001:3", download_speed=None, filesize=None, format_line="",
        info=None),
    "56-hikvision-nvr-200ok-sdp-playback.sip": dict(
        session_name="Network Video Recorder", kind=None, origin=("34020000001110000001", "192.168.6.60"),
        host="192.168.6.60", port=62000, proto="RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=None, connection=None, ssrc="0000002000",
        start=1714804996 + NVR_TIME_SHIFT, end=1714806986 + NVR_TIME_SHIFT, uri=None, download_speed=None,
        filesize=2124794308, format_line="", info=None),
    "57-hikvision-ipc-200ok-sdp-download-udp-setup-active.sip": dict(
        session_name="Download", kind=StreamKind.DOWNLOAD, origin=("34020000001320000002", "192.168.0.64"),
        host="192.168.0.64", port=15060, proto="RTP/AVP", formats=("96",), rtpmap=PS_ONLY,
        direction=Direction.SENDONLY, setup=TcpSetup.ACTIVE, connection=None, ssrc="1000010004", start=0, end=0,
        uri=None, download_speed=None, filesize=1367160, format_line=None, info=None),
}
# voice broadcast INVITEs from devices: audio only, so not a video stream
AUDIO_ONLY: dict[str, dict[str, Any]] = {
    "63-dahua-talk-invite-alphabetical.sip": dict(
        host="192.168.0.100", port=9776, proto="RTP/AVP", formats=("8", "96"), setup=None,
        direction=Direction.RECVONLY, ssrc="0022440333", info="VCam BroadCast Session",
        format_line="v/0/0/0/0/0a/1/8/1", rtpmap={8: RtpMap("PCMA", 8000), 96: RtpMap("PS", 90000)}),
    "64-hikvision-talk-invite-tcp-start-line-typo.sip": dict(
        host="192.168.0.65", port=15066, proto="TCP/RTP/AVP", formats=("8", "96"), setup=TcpSetup.ACTIVE,
        direction=Direction.RECVONLY, ssrc="0200000017", info=None, format_line="v/////a/1/8/1",
        rtpmap={8: RtpMap("PCMA", 8000), 96: RtpMap("PS", 90000)}),
}
SDP_FIXTURES = sorted([*EXPECTED, *AUDIO_ONLY])


def _check(sdp: SessionDescription, expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name == "origin":
            assert sdp.origin is not None
            assert (sdp.origin.username, sdp.origin.address) == value
        elif name == "ssrc":
            assert sdp.ssrc is not None
            assert sdp.ssrc.text == value
            assert sdp.ssrc == parse_y(value)
        elif name in ("proto", "formats"):
            assert getattr(sdp.stream, name) == value, name
        else:
            assert getattr(sdp, name) == value, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_parses_to_its_values(name: str, stored_capture: Body) -> None:
    sdp = parse_sdp(stored_capture(name))
    _check(sdp, EXPECTED[name])
    assert sdp.stream.kind == "video"
    assert sdp.media == (sdp.stream,)
    assert sdp.connection_address == sdp.host  # all these captures put c= at session level
    assert sdp.stream.connection_address is None
    assert sdp.other_lines == ()


@pytest.mark.parametrize("name", sorted(AUDIO_ONLY))
def test_broadcast_invite_has_no_video(name: str, stored_capture: Body) -> None:
    with pytest.raises(SdpError) as caught:
        parse_sdp(stored_capture(name))
    assert caught.value.reason == "no m=video line (media found: audio)"
    sdp = parse_sdp(stored_capture(name), media_kind="audio")
    assert sdp.stream.kind == "audio"
    assert sdp.kind is StreamKind.PLAY
    _check(sdp, AUDIO_ONLY[name])


@pytest.mark.parametrize("name", [n for n in EXPECTED if n.startswith(("53-", "56-"))])
def test_credentials_are_dropped(name: str, stored_capture: Body) -> None:
    body = stored_capture(name)
    assert b"a=password:XXXXXXXX" in body
    sdp = parse_sdp(body)
    assert all(a.name not in ("username", "password") for a in (*sdp.attributes, *sdp.stream.attributes))
    assert "XXXXXXXX" not in repr(sdp)
    assert "password" not in repr(sdp)


def test_credentials_never_reach_an_error() -> None:
    with pytest.raises(SdpError) as caught:
        parse_sdp(b"v=0\r\nc=IN IP4 10.0.0.1\r\na=password:s3cret\r\nm=video x RTP/AVP 96\r\n")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(SdpError) as no_video:
        parse_sdp(b"a=username:admin\r\na=password:s3cret\r\n")
    assert "s3cret" not in str(no_video.value)


def test_nvr_answer_keeps_unknown_attributes(stored_capture: Body) -> None:
    sdp = parse_sdp(stored_capture("50-dahua-sd-200ok-sdp-play-udp.sip"))
    assert Attribute("streamprofile", "0") in sdp.stream.attributes
    assert sdp.stream.attribute("STREAMPROFILE") == "0"
    assert sdp.stream.attribute("sendonly") == ""
    assert sdp.stream.attribute("missing") is None


# --- negotiation on captured offer/answer pairs -------------------------------------------------


def test_negotiate_live_udp_dahua(stored_capture: Body) -> None:
    offer = parse_sdp(stored_capture("48-exosip-invite-play-udp.sip"))
    answer = parse_sdp(stored_capture("50-dahua-sd-200ok-sdp-play-udp.sip"))
    plan = negotiate(answer, offer)
    assert plan.transport is MediaTransport.UDP
    assert not plan.platform_connects
    assert (plan.remote_host, plan.remote_port) == ("192.168.6.71", 9712)
    assert (plan.local_host, plan.local_port) == ("192.168.6.106", 45056)
    assert (plan.payload_type, plan.codec, plan.clock_rate) == (96, Codec.PS, 90000)
    assert plan.expected_ssrc == plan.offered_ssrc == Ssrc(1002)
    assert not plan.ssrc_changed
    assert plan.time_shift == 0
    assert plan.notes == ()


def test_negotiate_live_tcp_platform_connects(stored_capture: Body) -> None:
    offer = parse_sdp(stored_capture("51-platform-invite-play-tcp-setup-active.sip"))
    answer = parse_sdp(stored_capture("52-hikvision-ipc-200ok-sdp-tcp-setup-passive.sip"))
    plan = negotiate(answer, offer)
    assert plan.transport is MediaTransport.TCP_ACTIVE
    assert plan.platform_connects
    assert (plan.remote_host, plan.remote_port) == ("192.168.0.64", 15060)
    assert plan.expected_ssrc == Ssrc(10000)
    assert not plan.ssrc_changed
    assert plan.notes == ()


def test_negotiate_playback_reports_nvr_time_shift(stored_capture: Body) -> None:
    offer = parse_sdp(stored_capture("55-exosip-invite-playback.sip"))
    answer = parse_sdp(stored_capture("56-hikvision-nvr-200ok-sdp-playback.sip"))
    plan = negotiate(answer, offer)
    assert plan.transport is MediaTransport.UDP
    assert (plan.remote_host, plan.remote_port, plan.local_port) == ("192.168.6.60", 62000, 45056)
    assert plan.codec is Codec.PS
    assert plan.time_shift == NVR_TIME_SHIFT
    assert plan.expected_ssrc == Ssrc(2000)
    assert not plan.ssrc_changed
    assert plan.notes == ("answer t= is +28800 s from the offer (device time-zone handling)",)


def _offer(kind: StreamKind = StreamKind.PLAY, transport: MediaTransport = MediaTransport.UDP,
           ssrc: str = "0200000001", **extra: Any) -> SessionDescription:
    if kind is not StreamKind.PLAY:
        extra.setdefault("start", 1714804996)
        extra.setdefault("end", 1714806986)
    body = build_offer(session=kind, channel_id=CHANNEL, media_host="10.0.0.5", media_port=30000,
                       ssrc=parse_y(ssrc), transport=transport, **extra)
    return parse_sdp(body)


def test_setup_active_on_udp_is_ignored_and_changed_ssrc_reported(stored_capture: Body) -> None:
    """Capture 53: a Hikvision IPC answers a=setup:active on UDP and its own y=.

    Decision: a=setup means nothing without TCP (RFC 4145); the device sends RTP to our port, so the plan
    stays UDP, listening; the device's SSRC is the one to expect.
    """
    answer = parse_sdp(stored_capture("53-hikvision-ipc-200ok-sdp-udp-setup-active-credentials.sip"))
    plan = negotiate(answer, _offer())
    assert plan.transport is MediaTransport.UDP
    assert (plan.remote_host, plan.remote_port) == ("192.168.137.11", 15060)
    assert plan.expected_ssrc == Ssrc(630886)
    assert plan.offered_ssrc == Ssrc(200000001)
    assert plan.ssrc_changed
    assert plan.notes == (
        "a=setup:active on UDP ignored (the device sends RTP to the offered port)",
        "device changed the SSRC from 0200000001 to 0000630886",
    )


def test_download_answer_udp_setup_active(stored_capture: Body) -> None:
    answer = parse_sdp(stored_capture("57-hikvision-ipc-200ok-sdp-download-udp-setup-active.sip"))
    plan = negotiate(answer, _offer(StreamKind.DOWNLOAD, ssrc="1000010004", download_speed=4))
    assert plan.transport is MediaTransport.UDP
    assert plan.expected_ssrc == Ssrc(1000010004)
    assert not plan.ssrc_changed
    assert plan.time_shift == 0  # the answer says t=0 0: no shift to report
    assert plan.notes == ("a=setup:active on UDP ignored (the device sends RTP to the offered port)",)


def test_dahua_tcp_active_answer(stored_capture: Body) -> None:
    answer = parse_sdp(stored_capture("54-dahua-200ok-sdp-tcp-alphabetical-headers.sip"))
    plan = negotiate(answer, _offer(transport=MediaTransport.TCP_PASSIVE, ssrc="0100000001"))
    assert plan.transport is MediaTransport.TCP_PASSIVE
    assert (plan.local_host, plan.local_port) == ("10.0.0.5", 30000)
    assert plan.notes == ()
    contradicted = negotiate(answer, _offer(transport=MediaTransport.TCP_ACTIVE, ssrc="0100000001"))
    assert contradicted.transport is MediaTransport.TCP_PASSIVE  # the device will connect: we must listen
    assert contradicted.notes == ("device's a=setup contradicts the offer; the platform role is now tcp-passive",)


# --- negotiation edge cases ------------------------------------------------------------------------


def _answer(*media_lines: str, m: str = "m=video 9000 RTP/AVP 96", y: str | None = "0200000001") -> SessionDescription:
    lines = ["v=0", "o=dev 0 0 IN IP4 10.0.0.9", "s=Play", "c=IN IP4 10.0.0.9", "t=0 0", m, *media_lines]
    if y is not None:
        lines.append(f"y={y}")
    return parse_sdp(("\r\n".join(lines) + "\r\n").encode())


@pytest.mark.parametrize(
    ("offered", "answer_setup", "expected", "note"),
    [
        (MediaTransport.TCP_PASSIVE, "active", MediaTransport.TCP_PASSIVE, None),
        (MediaTransport.TCP_ACTIVE, "passive", MediaTransport.TCP_ACTIVE, None),
        (MediaTransport.TCP_PASSIVE, "passive", MediaTransport.TCP_ACTIVE, "contradicts"),
        (MediaTransport.TCP_PASSIVE, None, MediaTransport.TCP_PASSIVE, "no a=setup"),
        (MediaTransport.TCP_ACTIVE, "actpass", MediaTransport.TCP_ACTIVE, "a=setup:actpass"),
        (MediaTransport.TCP_ACTIVE, "bogus", MediaTransport.TCP_ACTIVE, "no a=setup"),
    ],
)
def test_tcp_roles(offered: MediaTransport, answer_setup: str | None, expected: MediaTransport,
                   note: str | None) -> None:
    extra = [f"a=setup:{answer_setup}"] if answer_setup else []
    plan = negotiate(_answer("a=sendonly", *extra, m="m=video 9000 TCP/RTP/AVP 96"), _offer(transport=offered))
    assert plan.transport is expected
    if note is None:
        assert plan.notes == ()
    else:
        assert len(plan.notes) == 1
        assert note in plan.notes[0]


def test_holdconn_answer_is_unusable() -> None:
    answer = _answer("a=setup:holdconn", m="m=video 9000 TCP/RTP/AVP 96")
    with pytest.raises(SdpError, match="holdconn"):
        negotiate(answer, _offer(transport=MediaTransport.TCP_PASSIVE))


def test_transport_mismatch_follows_the_device() -> None:
    udp_answer = negotiate(_answer(), _offer(transport=MediaTransport.TCP_PASSIVE))
    assert udp_answer.transport is MediaTransport.UDP
    assert udp_answer.notes == ("device answered RTP/AVP (UDP) to a TCP offer",)
    tcp_answer = negotiate(_answer("a=setup:passive", m="m=video 9000 TCP/RTP/AVP 96"), _offer())
    assert tcp_answer.transport is MediaTransport.TCP_ACTIVE
    assert tcp_answer.notes == ("device answered TCP/RTP/AVP (TCP) to a UDP offer",)


@pytest.mark.parametrize(
    ("m", "rtpmap", "pt", "codec", "clock"),
    [
        ("m=video 9000 RTP/AVP 98", [], 98, Codec.H264, 90000),  # codec from the offer's rtpmap
        ("m=video 9000 RTP/AVP 97", [], 97, Codec.MPEG4, 90000),
        ("m=video 9000 RTP/AVP 99", ["a=rtpmap:99 H265/90000"], 99, Codec.H265, 90000),
        ("m=video 9000 RTP/AVP 96", ["a=rtpmap:96 H264/90000"], 96, Codec.H264, 90000),  # the answer's rtpmap wins
        ("m=video 9000 RTP/AVP 33", ["a=rtpmap:33 MP2T/90000"], 33, Codec.MP2T, 90000),
        ("m=video 9000 RTP/AVP 100", ["a=rtpmap:100 VP8/90000"], 100, Codec.UNKNOWN, 90000),
        ("m=video 9000 RTP/AVP 101", [], 101, Codec.UNKNOWN, 90000),
        ("m=video 9000 RTP/AVP x 98 96", [], 98, Codec.H264, 90000),
    ],
)
def test_payload_and_codec(m: str, rtpmap: list[str], pt: int, codec: Codec, clock: int) -> None:
    plan = negotiate(_answer(*rtpmap, m=m), _offer())
    assert (plan.payload_type, plan.codec, plan.clock_rate) == (pt, codec, clock)
    assert (plan.notes != ()) == (pt not in (96, 97, 98))


@pytest.mark.parametrize(("m", "reason"), [("m=video 0 RTP/AVP 96", "port 0"),
                                           ("m=video 9000 RTP/AVP", "no payload type"),
                                           ("m=video 9000 RTP/AVP PS 300", "no payload type")])
def test_unusable_answers(m: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason):
        negotiate(_answer(m=m), _offer())


def test_ssrc_fallbacks() -> None:
    silent = negotiate(_answer(y=None), _offer())
    assert silent.expected_ssrc == Ssrc(200000001)
    assert not silent.ssrc_changed
    assert silent.notes == ()
    garbled = negotiate(_answer(y="12ab"), _offer())
    assert garbled.expected_ssrc == Ssrc(200000001)
    assert not garbled.ssrc_changed
    assert garbled.notes == ("device y='12ab' is not an SSRC; expecting the offered one",)
    short = negotiate(_answer(y="1"), _offer())
    assert short.expected_ssrc == Ssrc(1)
    assert short.ssrc_changed
    offer_without_y = parse_sdp(b"c=IN IP4 10.0.0.5\r\nm=video 30000 RTP/AVP 96\r\n")
    neither = negotiate(_answer(y=None), offer_without_y)
    assert neither.expected_ssrc is None
    assert neither.offered_ssrc is None
    assert not neither.ssrc_changed


def test_wrong_direction_is_noted() -> None:
    plan = negotiate(_answer("a=recvonly"), _offer())
    assert plan.notes == ("device answered a=recvonly for a stream it must send",)


def test_sprop_parameter_sets_of_h264_come_out_in_order() -> None:
    # RFC 6184 §8.2.1's example: an SPS and a PPS, the second with "=" padding, names in any case.
    plan = negotiate(_answer("a=rtpmap:98 H264/90000",
                             "a=fmtp:98 profile-level-id=42A01E; packetization-mode=1; "
                             "Sprop-Parameter-Sets=Z0IACpZTBYmI,aMljiA==", m="m=video 9000 RTP/AVP 98"), _offer())
    assert plan.parameter_sets == (bytes.fromhex("6742000a96530589 88"), bytes.fromhex("68c96388"))
    assert plan.parameter_sets[0][0] & 0x1F == 7 and plan.parameter_sets[1][0] & 0x1F == 8  # SPS, PPS
    assert plan.notes == ()


def test_sprop_vps_sps_pps_of_h265_without_padding_and_a_broken_value_noted() -> None:
    vps, sps, pps = b"\x40\x01\x0c\x01\xff", b"\x42\x01\x01\x01\x60\x00", b"\x44\x01\xc1\x72"
    plan = negotiate(_answer("a=rtpmap:99 H265/90000",
                             "a=fmtp:99 sprop-pps=RAHBcg;sprop-sps=QgEBAWAA;sprop-vps=QAEMAf8=",
                             "a=fmtp:100 sprop-parameter-sets=not*base64", m="m=video 9000 RTP/AVP 99"), _offer())
    assert plan.parameter_sets == (vps, sps, pps)  # VPS, SPS, PPS whatever the order written
    assert plan.notes == ("device chose payload type 99, which was not offered",
                          "sprop-parameter-sets of payload type 100 is not base64 ('not*base64'); ignored")


def test_fmtp_lines_by_payload_type() -> None:
    media = _answer("a=fmtp:96 a=1; b = 2 ;;junk", "a=fmtp:x a=1", "a=fmtp:300 a=1", "a=fmtp:97").stream
    assert media.fmtp == {96: {"a": "1", "b": "2"}, 97: {}}
    assert negotiate(_answer(), _offer()).parameter_sets == ()


# --- building offers ------------------------------------------------------------------------------


def test_live_udp_offer_exact_bytes() -> None:
    body = build_offer(session=StreamKind.PLAY, channel_id=CHANNEL, media_host="192.168.0.110", media_port=30000,
                       ssrc=parse_y("0200000001"), transport=MediaTransport.UDP)
    assert body == (
        b"v=0\r\n"
        b"o=34020000001310000001 0 0 IN IP4 192.168.0.110\r\n"
        b"s=Play\r\n"
        b"c=IN IP4 192.168.0.110\r\n"
        b"t=0 0\r\n"
        b"m=video 30000 RTP/AVP 96 97 98\r\n"
        b"a=recvonly\r\n"
        b"a=rtpmap:96 PS/90000\r\n"
        b"a=rtpmap:98 H264/90000\r\n"
        b"a=rtpmap:97 MPEG4/90000\r\n"
        b"y=0200000001\r\n"
    )


def test_download_tcp_offer_exact_bytes() -> None:
    body = build_offer(session=StreamKind.DOWNLOAD, channel_id=CHANNEL, media_host="192.168.0.110",
                       media_port=30002, ssrc=parse_y("1200000003"), transport=MediaTransport.TCP_PASSIVE,
                       start=1714804996, end=1714806986, download_speed=4, origin_user=PLATFORM)
    assert body.split(b"\r\n") == [
        b"v=0",
        b"o=34020000002000000001 0 0 IN IP4 192.168.0.110",
        b"s=Download",
        b"u=34020000001310000001:0",
        b"c=IN IP4 192.168.0.110",
        b"t=1714804996 1714806986",
        b"m=video 30002 TCP/RTP/AVP 96 97 98",
        b"a=setup:passive",
        b"a=connection:new",
        b"a=recvonly",
        b"a=rtpmap:96 PS/90000",
        b"a=rtpmap:98 H264/90000",
        b"a=rtpmap:97 MPEG4/90000",
        b"a=downloadspeed:4",
        b"y=1200000003",
        b"",
    ]


@pytest.mark.parametrize("kind", list(StreamKind))
@pytest.mark.parametrize("transport", list(MediaTransport))
def test_offer_round_trip(kind: StreamKind, transport: MediaTransport) -> None:
    live = kind is StreamKind.PLAY
    speed = 2 if kind is StreamKind.DOWNLOAD else None
    body = build_offer(session=kind, channel_id=CHANNEL, media_host="10.1.2.3", media_port=40000,
                       ssrc=Ssrc(1_200_000_042), transport=transport, start=None if live else 1000,
                       end=None if live else 2000, download_speed=speed)
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert body.endswith(b"\r\n")
    sdp = parse_sdp(body)
    assert sdp.kind is kind
    assert sdp.session_name == kind.value
    assert sdp.origin is not None
    assert (sdp.origin.username, sdp.origin.address) == (CHANNEL, "10.1.2.3")
    assert (sdp.host, sdp.port) == ("10.1.2.3", 40000)
    assert sdp.stream.formats == ("96", "97", "98")
    assert sdp.rtpmap == OFFERED_RTPMAP
    assert sdp.direction is Direction.RECVONLY
    assert sdp.ssrc == Ssrc(1_200_000_042)
    assert (sdp.start, sdp.end) == ((0, 0) if live else (1000, 2000))
    assert sdp.uri == (None if live else f"{CHANNEL}:0")
    assert sdp.download_speed == speed
    assert sdp.stream.is_tcp == (transport is not MediaTransport.UDP)
    expected_setup = {MediaTransport.UDP: None, MediaTransport.TCP_PASSIVE: TcpSetup.PASSIVE,
                      MediaTransport.TCP_ACTIVE: TcpSetup.ACTIVE}[transport]
    assert sdp.setup is expected_setup
    assert sdp.connection == (None if transport is MediaTransport.UDP else "new")
    assert sdp.other_lines == ()


def test_offer_over_ipv6() -> None:
    sdp = parse_sdp(build_offer(session=StreamKind.PLAY, channel_id=CHANNEL, media_host="fd00::5", media_port=1,
                                ssrc=Ssrc(1), transport=MediaTransport.UDP))
    assert sdp.host == "fd00::5"
    assert sdp.connection_address == "fd00::5"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"media_port": 0}, "media_port"),
        ({"media_port": 65536}, "media_port"),
        ({"start": 1, "end": 2}, "no time range"),
        ({"session": StreamKind.PLAYBACK}, "start <= end"),
        ({"session": StreamKind.PLAYBACK, "start": 5, "end": 4}, "start <= end"),
        ({"session": StreamKind.DOWNLOAD, "start": -1, "end": 4}, "start <= end"),
        ({"download_speed": -1}, "download_speed"),
        ({"channel_id": ""}, "channel_id"),
        ({"channel_id": "3402\r\nm=audio 1 RTP/AVP 0"}, "channel_id"),
        ({"media_host": "10.0.0.1 extra"}, "media_host"),
        ({"origin_user": "a b"}, "origin_user"),
    ],
)
def test_offer_argument_errors(changes: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = dict(session=StreamKind.PLAY, channel_id=CHANNEL, media_host="10.0.0.1",
                                     media_port=30000, ssrc=Ssrc(1), transport=MediaTransport.UDP)
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        build_offer(**arguments)


def test_subject_header() -> None:
    assert subject_header(CHANNEL, parse_y("0200000001"), PLATFORM) == (
        "34020000001310000001:0200000001,34020000002000000001:0"
    )
    with pytest.raises(ValueError, match="platform_id"):
        subject_header(CHANNEL, Ssrc(1), "3402 0000")


# --- building answers (device simulator) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "device_setup", "platform_plan"),
    [
        (MediaTransport.UDP, None, MediaTransport.UDP),
        (MediaTransport.TCP_PASSIVE, TcpSetup.ACTIVE, MediaTransport.TCP_PASSIVE),
        (MediaTransport.TCP_ACTIVE, TcpSetup.PASSIVE, MediaTransport.TCP_ACTIVE),
    ],
)
@pytest.mark.parametrize("kind", list(StreamKind))
def test_answer_round_trip(kind: StreamKind, transport: MediaTransport, device_setup: TcpSetup | None,
                           platform_plan: MediaTransport) -> None:
    ssrc = "0200000001" if kind is StreamKind.PLAY else "1200000001"
    offer = _offer(kind, transport, ssrc=ssrc)
    filesize = 1367160 if kind is StreamKind.DOWNLOAD else None
    body = build_answer(offer=offer, device_id="34020000001320000002", media_host="10.0.0.9", media_port=15060,
                        filesize=filesize)
    answer = parse_sdp(body)
    assert answer.session_name == kind.value
    assert (answer.host, answer.port) == ("10.0.0.9", 15060)
    assert answer.stream.proto == offer.stream.proto
    assert answer.stream.formats == ("96",)
    assert answer.rtpmap == PS_ONLY
    assert answer.direction is Direction.SENDONLY
    assert answer.setup is device_setup
    assert answer.connection == (None if device_setup is None else "new")
    assert answer.ssrc == offer.ssrc
    assert answer.filesize == filesize
    assert (answer.start, answer.end) == (offer.start, offer.end)
    plan = negotiate(answer, offer)
    assert plan.transport is platform_plan
    assert (plan.codec, plan.payload_type) == (Codec.PS, 96)
    assert plan.expected_ssrc == offer.ssrc
    assert plan.notes == ()


def test_answer_with_another_ssrc_simulates_a_stubborn_device() -> None:
    offer = _offer()
    answer = parse_sdp(build_answer(offer=offer, device_id="dev", media_host="10.0.0.9", media_port=15060,
                                    ssrc=Ssrc(630886)))
    plan = negotiate(answer, offer)
    assert plan.ssrc_changed
    assert plan.expected_ssrc == Ssrc(630886)


def test_answer_with_parameter_sets_is_raw_h264_whose_sprop_the_platform_reads_back() -> None:
    offer = _offer()
    sps, pps = bytes.fromhex("6742000a96530589 88"), bytes.fromhex("68c96388")
    body = build_answer(offer=offer, device_id="dev", media_host="10.0.0.9", media_port=15060,
                        h264_parameter_sets=[sps, pps])
    assert b"a=fmtp:98 packetization-mode=1;sprop-parameter-sets=Z0IACpZTBYmI,aMljiA==\r\n" in body
    plan = negotiate(parse_sdp(body), offer)
    assert (plan.codec, plan.payload_type, plan.parameter_sets, plan.notes) == (Codec.H264, 98, (sps, pps), ())


def test_answer_to_captured_offers(stored_capture: Body) -> None:
    offer = parse_sdp(stored_capture("51-platform-invite-play-tcp-setup-active.sip"))
    answer = parse_sdp(build_answer(offer=offer, device_id="dev", media_host="10.0.0.9", media_port=15060))
    assert answer.setup is TcpSetup.PASSIVE
    playback = parse_sdp(stored_capture("55-exosip-invite-playback.sip"))
    answer = parse_sdp(build_answer(offer=playback, device_id="dev", media_host="10.0.0.9", media_port=15060))
    assert (answer.kind, answer.start, answer.end) == (StreamKind.PLAYBACK, 1714804996, 1714806986)
    assert answer.ssrc == Ssrc(2000)


@pytest.mark.parametrize(
    ("offer_lines", "expected"),
    [
        (["m=video 30000 RTP/AVP 100 96", "a=rtpmap:100 PS/90000", "a=rtpmap:96 H264/90000"], "100"),
        (["m=video 30000 RTP/AVP 98 96"], "96"),  # no rtpmap: GB's 96 is PS
        (["m=video 30000 TCP/RTP/AVP 96", "a=setup:actpass"], "96"),
    ],
)
def test_answer_picks_the_offered_ps_payload(offer_lines: list[str], expected: str) -> None:
    offer = parse_sdp(("\r\n".join(["s=Play", "c=IN IP4 10.0.0.5", *offer_lines]) + "\r\n").encode())
    answer = parse_sdp(build_answer(offer=offer, device_id="dev", media_host="10.0.0.9", media_port=15060))
    assert answer.stream.formats == (expected,)
    assert answer.ssrc is None  # nothing offered, nothing given
    if offer.stream.is_tcp:
        assert answer.setup is TcpSetup.ACTIVE


@pytest.mark.parametrize(
    ("offer_lines", "reason"),
    [
        (["m=video 30000 RTP/AVP 98", "a=rtpmap:98 H264/90000"], "no PS payload"),
        (["m=video 30000 TCP/RTP/AVP 96", "a=setup:holdconn"], "holdconn"),
    ],
)
def test_answer_refuses_unanswerable_offers(offer_lines: list[str], reason: str) -> None:
    offer = parse_sdp(("\r\n".join(["c=IN IP4 10.0.0.5", *offer_lines]) + "\r\n").encode())
    with pytest.raises(SdpError, match=reason):
        build_answer(offer=offer, device_id="dev", media_host="10.0.0.9", media_port=15060)


def test_answer_argument_errors() -> None:
    with pytest.raises(ValueError, match="media_port"):
        build_answer(offer=_offer(), device_id="dev", media_host="10.0.0.9", media_port=0)
    with pytest.raises(ValueError, match="device_id"):
        build_answer(offer=_offer(), device_id="", media_host="10.0.0.9", media_port=1)


# --- parser tolerance -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize(
    "variant",
    [
        lambda b: b.replace(b"\r\n", b"\n"),
        lambda b: b.replace(b"\r\n", b"\r"),
        lambda b: b.replace(b"\r\n", b"  \r\n"),
        lambda b: b.replace(b"\r\n", b"\t\n\n"),
        lambda b: b"\xef\xbb\xbf" + b.rstrip(b"\r\n"),
    ],
    ids=["lf", "cr", "trailing-spaces", "blank-lines", "bom-no-final-newline"],
)
def test_line_ending_and_space_variants_parse_alike(name: str, variant: Callable[[bytes], bytes],
                                                    stored_capture: Body) -> None:
    body = stored_capture(name)
    assert parse_sdp(variant(body)) == parse_sdp(body)


def test_unknown_lines_and_levels() -> None:
    sdp = parse_sdp(
        b"v=0\n"
        b"o=x 1 2 IN IP4 10.0.0.1\n"
        b"s=Play\n"
        b"y=0200000009\n"  # y= before the media
        b"b=AS:4096\n"
        b"k=clear:secretkey\n"
        b"a=sendonly\n"
        b"a=setup:passive\n"
        b"c=IN IP4 10.0.0.1\n"
        b"t=0 0\n"
        b"garbage without equals\n"
        b"m=audio 5000 RTP/AVP 8\n"
        b"c=IN IP4 10.0.0.2\n"
        b"m=video 6000/2 TCP/RTP/AVP 96\n"
        b"c=IN IP4 224.2.1.1/127\n"
        b"i=media title\n"
        b"A=RTPMAP:96 ps/90000\n"
        b"a=rtpmap:97 broken\n"
        b"a=rtpmap:300 H264/90000\n"
        b"a=rtpmap:99 H264/fast\n"
        b"a=downloadspeed:fast\n"
        b"a=filesize:-5\n"
        b"Y=0200000010\n"  # a second y= is ignored
    )
    assert sdp.ssrc == Ssrc(200000009)
    assert [m.kind for m in sdp.media] == ["audio", "video"]
    assert sdp.stream is sdp.media[1]
    assert (sdp.host, sdp.port) == ("224.2.1.1", 6000)  # media-level c= wins; TTL dropped
    assert sdp.connection_address == "10.0.0.1"
    assert sdp.media[0].connection_address == "10.0.0.2"
    assert sdp.direction is Direction.SENDONLY  # from session level
    assert sdp.setup is TcpSetup.PASSIVE  # from session level
    assert sdp.rtpmap == {96: RtpMap("ps", 90000)}
    assert sdp.download_speed is None
    assert sdp.filesize is None
    assert sdp.other_lines == ("b=AS:4096", "garbage without equals", "i=media title")
    assert "secretkey" not in repr(sdp)


def test_first_of_repeated_session_lines_wins() -> None:
    sdp = parse_sdp(b"c=IN IP4 10.0.0.1\nc=IN IP4 10.0.0.2\nt=1 2\nt=3 4\nm=video 1 RTP/AVP 96\n"
                    b"c=IN IP4 10.0.0.3\nc=IN IP4 10.0.0.4\n")
    assert (sdp.connection_address, sdp.host, sdp.start, sdp.end) == ("10.0.0.1", "10.0.0.3", 1, 2)
    assert sdp.origin is None
    assert sdp.session_name == ""
    assert sdp.kind is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "no m=video line (media found: none)"),
        (b"v=0\r\ns=Play\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 8\r\n", "no m=video line (media found: audio)"),
        (b"c=IN IP4 1.2.3.4\r\nm=video abc RTP/AVP 96\r\n", "bad port in m= line 'm=video abc RTP/AVP 96'"),
        (b"c=IN IP4 1.2.3.4\r\nm=video 70000 RTP/AVP 96\r\n", "bad port in m= line"),
        (b"c=IN IP4 1.2.3.4\r\nm=video -1 RTP/AVP 96\r\n", "bad port in m= line"),
        (b"c=IN IP4 1.2.3.4\r\nm=video 123456 RTP/AVP 96\r\n", "bad port in m= line"),
        (b"c=IN IP4 1.2.3.4\r\nm=video 5000\r\n", "bad m= line 'm=video 5000'"),
        (b"c=IN IP4\r\nm=video 5000 RTP/AVP 96\r\n", "bad c= line 'c=IN IP4'"),
        (b"c=XX IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n", "bad c= line"),
        (b"s=Play\r\nm=video 5000 RTP/AVP 96\r\n", "no c= address for the video stream"),
        (b"m=audio 1 RTP/AVP 8\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n", "no c= address"),
        (b"c=IN IP4 1.2.3.4\r\nt=now later\r\nm=video 5000 RTP/AVP 96\r\n", "bad t= line 't=now later'"),
        (b"c=IN IP4 1.2.3.4\r\nt=0\r\nm=video 5000 RTP/AVP 96\r\n", "bad t= line"),
        (b"c=IN IP4 1.2.3.4\r\nt=-1 0\r\nm=video 5000 RTP/AVP 96\r\n", "bad t= line"),
    ],
)
def test_unusable_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(SdpError) as caught:
        parse_sdp(body)
    assert caught.value.reason.startswith(reason)
    assert str(caught.value) == caught.value.reason


def test_long_bad_line_is_quoted_short() -> None:
    with pytest.raises(SdpError) as caught:
        parse_sdp(b"c=IN IP4 1.2.3.4\r\nm=video " + b"9" * 5000 + b" RTP/AVP 96\r\n")
    assert len(caught.value.reason) < 120


# --- fuzz-ish: only SdpError may escape ------------------------------------------------------------


_FUZZ_OFFER = parse_sdp(build_offer(session=StreamKind.PLAY, channel_id=CHANNEL, media_host="10.0.0.5",
                                    media_port=30000, ssrc=Ssrc(1), transport=MediaTransport.TCP_PASSIVE))


def _parse_or_sdp_error(body: bytes) -> None:
    """Parse, then use the result as an answer and as an offer: only SdpError may come out."""
    try:
        sdp = parse_sdp(body)
    except SdpError as error:
        assert error.reason
        return
    assert (sdp.kind, sdp.rtpmap, sdp.direction, sdp.setup, sdp.connection, sdp.download_speed, sdp.filesize,
            sdp.port, sdp.stream.is_tcp) is not None
    try:
        negotiate(sdp, _FUZZ_OFFER)
        negotiate(_FUZZ_OFFER, sdp)
        build_answer(offer=sdp, device_id="dev", media_host="10.0.0.9", media_port=15060)
    except SdpError as error:
        assert error.reason


@pytest.mark.parametrize("name", SDP_FIXTURES)
def test_every_truncation_parses_or_raises_sdp_error(name: str, stored_capture: Body) -> None:
    body = stored_capture(name)
    for cut in range(len(body) + 1):
        _parse_or_sdp_error(body[:cut])
        _parse_or_sdp_error(body[cut:])


_SDP_PIECES = [b"v=0", b"m=video ", b"m=audio ", b"c=IN IP4 ", b"c=IN IP6 ", b"t=", b"y=", b"f=", b"a=rtpmap:",
               b"a=setup:", b"a=password:", b"s=", b"o=", b"96", b"PS/90000", b"TCP/RTP/AVP", b"RTP/AVP", b" ", b"/",
               b":", b"\r\n", b"\n", b"\r", b"0", b"65535", b"99999999999999999999999", b"\xff\xfe", b"\x00", b"="]


def test_random_bodies_only_raise_sdp_error() -> None:
    rng = random.Random(28181)
    for _ in range(1500):
        _parse_or_sdp_error(rng.randbytes(rng.randrange(0, 200)))
        _parse_or_sdp_error(b"".join(rng.choice(_SDP_PIECES) for _ in range(rng.randrange(0, 60))))


@pytest.mark.parametrize("name", SDP_FIXTURES)
def test_mutated_captures_only_raise_sdp_error(name: str, stored_capture: Body) -> None:
    rng = random.Random(name)
    body = stored_capture(name)
    for _ in range(300):
        mutated = bytearray(body)
        for _ in range(rng.randrange(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        _parse_or_sdp_error(bytes(mutated))


def test_negotiate_on_random_valid_pairs_only_raises_sdp_error() -> None:
    rng = random.Random(4566)
    ports = ["0", "9", "15060"]
    protos = ["RTP/AVP", "TCP/RTP/AVP", "RTP/SAVP"]
    extras = ["a=setup:active", "a=setup:passive", "a=setup:actpass", "a=setup:holdconn", "a=recvonly",
              "a=rtpmap:96 H265/90000", "y=99999999999", "y=", ""]
    for _ in range(300):
        answer = _answer(rng.choice(extras), rng.choice(extras),
                         m=f"m=video {rng.choice(ports)} {rng.choice(protos)} {rng.choice(['96', '', 'x', '127'])}",
                         y=rng.choice([None, "1", "0200000001", "bad"]))
        offer = _offer(transport=rng.choice(list(MediaTransport)))
        try:
            plan = negotiate(answer, offer)
        except SdpError as error:
            assert error.reason
        else:
            assert plan.remote_port > 0
