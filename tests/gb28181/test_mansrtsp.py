"""MANSRTSP playback control bodies: what the platform builds, what devices and other platforms send (58-61)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clearsight.gb28181.mansrtsp import (
    CONTENT_TYPE,
    MAX_BODY_BYTES,
    MansrtspError,
    MansrtspMethod,
    MansrtspRequest,
    build_pause,
    build_play,
    build_response,
    build_teardown,
    is_mansrtsp,
    parse_request,
    parse_response,
)

Capture = Callable[[str], bytes]


def test_play_pause_teardown_as_appendix_b_writes_them() -> None:
    assert build_play(3) == b"PLAY MANSRTSP/1.0\r\nCSeq: 3\r\n\r\n"
    assert build_play(4, scale=2) == b"PLAY MANSRTSP/1.0\r\nCSeq: 4\r\nScale: 2.0\r\n\r\n"
    assert build_play(5, scale=0.5) == b"PLAY MANSRTSP/1.0\r\nCSeq: 5\r\nScale: 0.5\r\n\r\n"
    assert build_play(6, position=100) == b"PLAY MANSRTSP/1.0\r\nCSeq: 6\r\nRange: npt=100-\r\n\r\n"
    assert build_play(7, position=12.5, scale=0.25) == (
        b"PLAY MANSRTSP/1.0\r\nCSeq: 7\r\nScale: 0.25\r\nRange: npt=12.5-\r\n\r\n")
    assert build_pause(2) == b"PAUSE MANSRTSP/1.0\r\nCSeq: 2\r\nPauseTime: now\r\n\r\n"
    assert build_teardown(9) == b"TEARDOWN MANSRTSP/1.0\r\nCSeq: 9\r\n\r\n"
    assert CONTENT_TYPE == "Application/MANSRTSP"


@pytest.mark.parametrize("body", [build_play(1), build_play(2, scale=8), build_play(3, position=0),
                                  build_play(4, position=3599.25, scale=4), build_pause(5), build_teardown(6)])
def test_what_is_built_parses_back(body: bytes) -> None:
    request = parse_request(body)
    assert build_request_of(request) == body


def build_request_of(request: MansrtspRequest) -> bytes:
    if request.method is MansrtspMethod.PAUSE:
        return build_pause(request.cseq)
    if request.method is MansrtspMethod.TEARDOWN:
        return build_teardown(request.cseq)
    return build_play(request.cseq, scale=request.scale, position=request.range_start)


@pytest.mark.parametrize("kwargs", [{"scale": 0}, {"scale": -1}, {"scale": float("nan")}, {"scale": 65},
                                    {"position": -1}, {"position": float("inf")}])
def test_bad_arguments_are_a_programming_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        build_play(1, **kwargs)
    with pytest.raises(ValueError):
        build_pause(-1)


def test_exosip_pause_with_rtsp_version_and_pause_time_0(capture: Capture) -> None:
    request = parse_request(capture("58-exosip-info-pause-application-rtsp.sip"))
    assert request == MansrtspRequest(MansrtspMethod.PAUSE, 20, pause_time="0")


def test_exosip_play_with_scale_and_range(capture: Capture) -> None:
    request = parse_request(capture("60-exosip-info-play-scale-range.sip"))
    assert (request.method, request.cseq, request.scale, request.range_start, request.range_end) == (
        MansrtspMethod.PLAY, 22, 2.0, 11.0, None)
    assert request.is_seek


def test_platform_pause_now(capture: Capture) -> None:
    request = parse_request(capture("61-platform-info-mansrtsp-pause-now.sip"))
    assert (request.method, request.cseq, request.pause_time) == (MansrtspMethod.PAUSE, 1, "now")


def test_nvr_answer_body_with_rtp_info(capture: Capture) -> None:
    answer = parse_response(capture("59-hikvision-nvr-200ok-info-rtsp-body.sip"))
    assert (answer.status, answer.reason, answer.cseq, answer.rtp_info) == (200, "OK", 20,
                                                                              "seq=9810092;rtptime=3450012")
    assert parse_response(build_response(4)).status == 200
    assert parse_response(build_response(4, 457, "Invalid Range")).reason == "Invalid Range"


@pytest.mark.parametrize(("text", "start", "end"), [("npt=now-", None, None), ("npt=-", None, None),
                                                   ("NPT = 11.5 - 20", 11.5, 20.0), ("npt=0-", 0.0, None)])
def test_ranges(text: str, start: float | None, end: float | None) -> None:
    request = parse_request(f"PLAY MANSRTSP/1.0\nCSeq: 1\nrange: {text}\n".encode())
    assert (request.range_start, request.range_end) == (start, end)


def test_lf_lines_header_case_and_padding_are_tolerated() -> None:
    request = parse_request(b"\xef\xbb\xbfplay  rtsp/1.0 \n  cseq :  7 \nSCALE: +1.000000\n\n\n")
    assert (request.method, request.cseq, request.scale) == (MansrtspMethod.PLAY, 7, 1.0)


@pytest.mark.parametrize("body", [
    b"", b"\r\n\r\n", b"PLAY\r\nCSeq: 1\r\n", b"PLAY HTTP/1.1\r\nCSeq: 1\r\n", b"RECORD MANSRTSP/1.0\r\nCSeq: 1\r\n",
    b"PLAY MANSRTSP/1.0\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: one\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 99999999999\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: -2\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: 0\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: nan\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: 1e9\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: 1000\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: clock=20240504T1-\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: npt=20-10\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: npt=abc-\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: npt=5\r\n", b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: npt=1e99-\r\n",
    b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\n" + b"X: " + b"a" * MAX_BODY_BYTES, b"\xff\xfe\x00garbage",
])
def test_hostile_requests_raise_only_mansrtsp_error(body: bytes) -> None:
    with pytest.raises(MansrtspError):
        parse_request(body)


@pytest.mark.parametrize("body", [b"", b"RTSP/1.0 OK\r\n", b"HTTP/1.1 200 OK\r\n", b"RTSP/1.0 99 Low\r\n",
                                  b"MANSRTSP/1.0 200 OK\r\nCSeq: x\r\n"])
def test_hostile_answers_raise_only_mansrtsp_error(body: bytes) -> None:
    with pytest.raises(MansrtspError):
        parse_response(body)


@pytest.mark.parametrize(("value", "expected"), [("Application/MANSRTSP", True), ("application/mansrtsp", True),
                                                 ("application/RTSP", True), ("Application/RTSP; x=1", True),
                                                 ("application/sdp", False), (None, False), ("", False)])
def test_content_types(value: str | None, expected: bool) -> None:
    assert is_mansrtsp(value) is expected
