"""Playback and download INVITEs as the platform sends them (Subject, s=, u=, t=, y=, a=downloadspeed), argument checks,
MediaStatus bodies, and the end-of-stream flush that lets the last frame out before the BYE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearsight.gb28181.live import LiveSessionManager, LiveStep, LiveViewError
from clearsight.gb28181.manscdp import ManscdpError, build_keepalive, parse_manscdp
from clearsight.gb28181.manscdp_media_status import MEDIA_FILE_ENDED, build_media_status, parse_media_status
from clearsight.gb28181.playback import PlaybackManager, check_speed, finish_stream, unix_range
from clearsight.gb28181.requests import RequestFactory
from clearsight.gb28181.sdp import parse_sdp
from clearsight.gb28181.ssrc import SsrcAllocator, StreamKind
from clearsight.media.es import EsFrame
from clearsight.media.rtp_receiver import RtpReceiver
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import ClipLibrary
from clearsight.sip.message import SipRequest, SipResponse, make_response
from tests.gb28181.platform_fakes import DEVICE_ID, DOMAIN, PLATFORM_ID, ScriptedEndpoint
from tests.gb28181.test_commander import make_commander

CHANNEL_ID = "34020000001310000001"
START = datetime(2024, 5, 4, 6, 43, 16, 250_000, tzinfo=UTC)
END = datetime(2024, 5, 4, 7, 16, 26, tzinfo=UTC)


def busy(request: SipRequest) -> SipResponse:
    return make_response(request, 486)


def manager(endpoint: ScriptedEndpoint) -> tuple[LiveSessionManager, PlaybackManager, SsrcAllocator]:
    commander = make_commander(endpoint)
    factory = RequestFactory(PLATFORM_ID, DOMAIN, "127.0.0.1", 5060, endpoint.new_call_id, endpoint.new_tag)
    ssrcs = SsrcAllocator(DOMAIN)
    live = LiveSessionManager(endpoint, factory, commander, media_host="127.0.0.1",  # type: ignore[arg-type]
                              ssrcs=ssrcs)
    return live, PlaybackManager(live, is_online=lambda _device: True), ssrcs


async def test_playback_invite_asks_for_the_range_with_a_history_ssrc() -> None:
    endpoint = ScriptedEndpoint(reply=busy)
    _live, playback, ssrcs = manager(endpoint)
    with pytest.raises(LiveViewError) as caught:
        await playback.open(DEVICE_ID, CHANNEL_ID, START, END)
    assert caught.value.step is LiveStep.INVITE and caught.value.kind is StreamKind.PLAYBACK
    assert str(caught.value).startswith(f"playback of {CHANNEL_ID}") and "486" in caught.value.detail
    assert ssrcs.in_use(StreamKind.PLAYBACK) == 0  # released after the failure
    (invite,) = endpoint.sent
    assert invite.method == "INVITE" and invite.uri.startswith(f"sip:{CHANNEL_ID}@")
    sdp = parse_sdp(invite.body)
    assert sdp.kind is StreamKind.PLAYBACK and sdp.session_name == "Playback"
    assert sdp.uri == f"{CHANNEL_ID}:0"
    assert (sdp.start, sdp.end) == (1714804996, 1714806986)  # the range, rounded outwards to whole seconds
    assert sdp.ssrc is not None and sdp.ssrc.text.startswith("1" + DOMAIN[3:8])  # history prefix, domain digits
    assert invite.header("Subject") == f"{CHANNEL_ID}:{sdp.ssrc.text},{PLATFORM_ID}:0"
    assert sdp.download_speed is None and sdp.stream.proto == "RTP/AVP"


async def test_download_invite_carries_the_download_speed() -> None:
    endpoint = ScriptedEndpoint(reply=busy)
    _live, playback, _ssrcs = manager(endpoint)
    with pytest.raises(LiveViewError) as caught:
        await playback.open_download(DEVICE_ID, CHANNEL_ID, START, END, download_speed=8)
    assert caught.value.kind is StreamKind.DOWNLOAD
    sdp = parse_sdp(endpoint.sent[0].body)
    assert sdp.kind is StreamKind.DOWNLOAD and sdp.download_speed == 8 and sdp.uri == f"{CHANNEL_ID}:0"
    assert sdp.ssrc is not None and sdp.ssrc.text[0] == "1"


async def test_live_view_invite_is_unchanged() -> None:
    endpoint = ScriptedEndpoint(reply=busy)
    live, _playback, _ssrcs = manager(endpoint)
    with pytest.raises(LiveViewError) as caught:
        await live.open(DEVICE_ID, CHANNEL_ID)
    assert str(caught.value).startswith(f"live view of {CHANNEL_ID}")
    sdp = parse_sdp(endpoint.sent[0].body)
    assert sdp.kind is StreamKind.PLAY and (sdp.start, sdp.end) == (0, 0) and sdp.uri is None
    assert sdp.ssrc is not None and sdp.ssrc.text[0] == "0"
    with pytest.raises(ValueError, match="time range"):
        await live.open(DEVICE_ID, CHANNEL_ID, time_range=(1, 2))
    with pytest.raises(ValueError, match="time range"):
        await live.open(DEVICE_ID, CHANNEL_ID, kind=StreamKind.PLAYBACK)


async def test_bad_ranges_and_speeds_are_refused_before_any_invite() -> None:
    endpoint = ScriptedEndpoint()
    _live, playback, _ssrcs = manager(endpoint)
    for start, end in ((END, START), (START, START), (START.replace(tzinfo=None), END)):
        with pytest.raises(ValueError):
            await playback.open(DEVICE_ID, CHANNEL_ID, start, end)
    with pytest.raises(ValueError):
        await playback.open(DEVICE_ID, CHANNEL_ID, START, END, speed=0)
    with pytest.raises(ValueError):
        await playback.open_download(DEVICE_ID, CHANNEL_ID, START, END, download_speed=0)
    assert endpoint.sent == []


def test_unix_range_and_speed_checks() -> None:
    assert unix_range(START, START + timedelta(seconds=1)) == (1714804996, 1714804998)
    assert check_speed(4) == 4.0
    for speed in (0.0, -1.0, float("inf"), float("nan"), 65.0):
        with pytest.raises(ValueError):
            check_speed(speed)


def test_media_status_file_ended() -> None:
    status = parse_media_status(parse_manscdp(build_media_status(5, CHANNEL_ID)))
    assert (status.device_id, status.sn, status.notify_type, status.file_ended) == (CHANNEL_ID, 5, MEDIA_FILE_ENDED,
                                                                                    True)
    other = parse_media_status(parse_manscdp(build_media_status(6, CHANNEL_ID, notify_type=120)))
    assert not other.file_ended
    body = (b'<?xml version="1.0"?><Notify><CmdType>MediaStatus</CmdType><SN>1</SN>'
            b"<DeviceID>34020000001310000001</DeviceID><NotifyType>one-two-one</NotifyType></Notify>")
    assert parse_media_status(parse_manscdp(body)).notify_type is None
    with pytest.raises(ManscdpError):
        parse_media_status(parse_manscdp(build_keepalive(1, DEVICE_ID)))


def test_the_end_of_a_stream_lets_the_last_frame_out() -> None:
    frames: list[EsFrame] = []
    receiver = RtpReceiver(expected_ssrc=1_200_000_001, on_frame=frames.append, label="end")
    clip = ClipLibrary().encode_clip(160, 96, 25, 0.4, "h264")  # type: ignore[arg-type]
    stream = PsRtpStream(1_200_000_001, initial_sequence=100)
    packets = [p for frame in clip for p in stream.packets_for(frame, frame.pts_90k)]
    for index, packet in enumerate(packets):
        receiver.pipeline.feed(packet, index * 0.001)
    finish_stream(receiver)
    assert len([f for f in frames if f.is_video]) == len(clip)
    finish_stream(receiver)  # nothing more, and no harm
    assert len([f for f in frames if f.is_video]) == len(clip)
