"""RTP over TCP (RFC 4571): partial reads, several frames per read, garbage peers."""

from __future__ import annotations

import random

import pytest

from clearsight.media.rtp import RtpPacket, parse_rtp
from clearsight.media.rtp_framing import MAX_FRAME_SIZE, FramingError, Rfc4571Buffer, frame_rtp


def rtp(seq: int, size: int = 20) -> bytes:
    return RtpPacket(payload_type=96, sequence=seq, timestamp=seq * 3600, ssrc=1, payload=bytes(size)).to_bytes()


def drain(buffer: Rfc4571Buffer) -> list[bytes]:
    out: list[bytes] = []
    while (packet := buffer.next_packet()) is not None:
        out.append(packet)
    return out


PACKETS = [rtp(seq, size) for seq, size in enumerate([0, 1, 1400, 20, 65535 - 12, 300])]
STREAM = b"".join(frame_rtp(p) for p in PACKETS)


def test_frame_rtp_prefixes_the_length() -> None:
    assert frame_rtp(b"\x80abc") == b"\x00\x04\x80abc"
    assert frame_rtp(bytes(MAX_FRAME_SIZE))[:2] == b"\xff\xff"
    with pytest.raises(ValueError, match="65536 bytes"):
        frame_rtp(bytes(MAX_FRAME_SIZE + 1))


def test_whole_stream_in_one_read() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(STREAM)
    assert drain(buffer) == PACKETS
    assert len(buffer) == 0 and buffer.at_frame_boundary


def test_byte_by_byte() -> None:
    buffer = Rfc4571Buffer()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        buffer.feed(STREAM[i : i + 1])
        out.extend(drain(buffer))
    assert out == PACKETS
    assert buffer.at_frame_boundary


def test_random_read_sizes() -> None:
    rng = random.Random(4571)
    for _ in range(20):
        buffer = Rfc4571Buffer()
        out: list[bytes] = []
        pos = 0
        while pos < len(STREAM):
            step = rng.choice([1, 2, 3, 7, 100, 1500, 70000])
            buffer.feed(memoryview(STREAM)[pos : pos + step])
            pos += step
            out.extend(drain(buffer))
        assert out == PACKETS


def test_partial_frame_is_held() -> None:
    buffer = Rfc4571Buffer()
    frame = frame_rtp(rtp(1))
    buffer.feed(frame[:-1])
    assert buffer.next_packet() is None
    assert not buffer.at_frame_boundary and len(buffer) == len(frame) - 1
    buffer.feed(frame[-1:])
    assert buffer.next_packet() == rtp(1)
    assert buffer.next_packet() is None


def test_frames_parse_as_rtp() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(STREAM)
    assert [parse_rtp(p).sequence for p in drain(buffer)] == list(range(len(PACKETS)))


def test_several_frames_then_partial_then_rest() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(STREAM[:-5])
    assert drain(buffer) == PACKETS[:-1]
    buffer.feed(STREAM[-5:])
    assert drain(buffer) == PACKETS[-1:]


def test_garbage_is_detected_on_its_first_byte() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(frame_rtp(rtp(1)) + b"\x40\x00")  # a length of 16384 ...
    assert buffer.next_packet() == rtp(1)
    assert buffer.next_packet() is None  # ... the first byte has not arrived yet
    buffer.feed(b"G")  # 0x47: version 1
    with pytest.raises(FramingError) as caught:
        buffer.next_packet()
    assert "0x47" in caught.value.reason and caught.value.offset == 2 + len(rtp(1))


def test_http_request_is_not_rtp() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(FramingError, match="not RTP version 2"):
        buffer.next_packet()


def test_empty_frame_is_an_error_when_checking() -> None:
    buffer = Rfc4571Buffer()
    buffer.feed(b"\x00\x00")
    with pytest.raises(FramingError, match="empty frame"):
        buffer.next_packet()


def test_without_the_check_anything_is_framed() -> None:
    buffer = Rfc4571Buffer(check_rtp_version=False)
    buffer.feed(b"\x00\x00\x00\x03abc\x00\x01G")
    assert drain(buffer) == [b"", b"abc", b"G"]


def test_rtcp_passes_the_check() -> None:
    receiver_report = bytes([0x80, 201, 0x00, 0x01]) + b"\x00\x00\x00\x01"
    buffer = Rfc4571Buffer()
    buffer.feed(frame_rtp(receiver_report))
    assert buffer.next_packet() == receiver_report


def test_check_runs_once_per_frame_across_reads() -> None:
    buffer = Rfc4571Buffer()
    frame = frame_rtp(rtp(9, 500))
    buffer.feed(frame[:3])
    assert buffer.next_packet() is None
    buffer.feed(frame[3:10])
    assert buffer.next_packet() is None
    buffer.feed(frame[10:])
    assert buffer.next_packet() == rtp(9, 500)


def test_consumed_bytes_are_released() -> None:
    buffer = Rfc4571Buffer()
    for seq in range(1000):
        buffer.feed(frame_rtp(rtp(seq)) + frame_rtp(rtp(seq))[:3])
        drain(buffer)
        buffer.feed(frame_rtp(rtp(seq))[3:])
        drain(buffer)
    assert len(buffer) == 0
    assert len(buffer._buf) == 0  # nothing kept once all is handed out
