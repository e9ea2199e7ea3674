"""RTP header parse/serialize (RFC 3550 §5.1) and 16-bit sequence arithmetic."""

from __future__ import annotations

import dataclasses
import random
import struct
from typing import Any

import pytest

from clearsight.media.rtp import RtpError, RtpPacket, parse_rtp, seq_add, seq_diff, seq_lt


def header(first: int = 0x80, second: int = 96, seq: int = 1, ts: int = 1000, ssrc: int = 0x0102_0304) -> bytes:
    return struct.pack("!BBHII", first, second, seq, ts, ssrc)


FULL = RtpPacket(
    payload_type=96, sequence=65535, timestamp=0xFFFF_FFFF, ssrc=340200001, payload=b"\x00\x00\x01\xba" + bytes(40),
    marker=True, csrcs=(1, 0xFFFF_FFFF, 7), extension_profile=0xBEDE, extension_data=b"\x10\xff\x00\x00" * 2,
    padding_size=4,
)


class TestRoundTrip:
    def test_minimal_packet(self) -> None:
        raw = header() + b"payload"
        packet = parse_rtp(raw)
        assert packet == RtpPacket(payload_type=96, sequence=1, timestamp=1000, ssrc=0x0102_0304, payload=b"payload")
        assert (packet.version, packet.padding, packet.extension, packet.marker) == (2, False, False, False)
        assert packet.csrcs == () and packet.extension_profile is None
        assert packet.to_bytes() == raw

    def test_every_field(self) -> None:
        raw = FULL.to_bytes()
        assert len(raw) == 12 + 3 * 4 + 4 + 8 + 44 + 4
        assert raw[0] == 0x80 | 0x20 | 0x10 | 3 and raw[1] == 0x80 | 96
        assert raw[-4:] == b"\x00\x00\x00\x04"
        packet = parse_rtp(raw)
        assert packet == FULL
        assert packet.padding and packet.extension and packet.marker
        assert packet.to_bytes() == raw

    def test_payload_is_a_view_not_a_copy(self) -> None:
        raw = bytearray(header() + b"abcdef")
        packet = parse_rtp(raw)
        assert isinstance(packet.payload, memoryview)
        assert packet.payload.obj is raw
        assert bytes(packet.payload) == b"abcdef"

    def test_memoryview_input(self) -> None:
        raw = memoryview(b"xx" + FULL.to_bytes())[2:]
        assert parse_rtp(raw) == FULL

    def test_empty_payload_and_empty_extension(self) -> None:
        packet = RtpPacket(payload_type=0, sequence=0, timestamp=0, ssrc=0, extension_profile=0x1000)
        raw = packet.to_bytes()
        assert len(raw) == 16
        parsed = parse_rtp(raw)
        assert parsed.extension and parsed.extension_data == b"" and parsed.payload == b""

    def test_padding_only_packet(self) -> None:
        raw = bytes([0xA0]) + header()[1:] + b"\x00\x00\x03"
        packet = parse_rtp(raw)
        assert packet.payload == b"" and packet.padding_size == 3
        assert packet.to_bytes() == raw

    @pytest.mark.parametrize("csrcs", [(), (5,), tuple(range(15))])
    def test_csrc_counts(self, csrcs: tuple[int, ...]) -> None:
        packet = RtpPacket(payload_type=8, sequence=9, timestamp=10, ssrc=11, csrcs=csrcs, payload=b"x")
        assert parse_rtp(packet.to_bytes()) == packet

    def test_random_packets_round_trip(self) -> None:
        rng = random.Random(3550)
        for _ in range(300):
            packet = RtpPacket(
                payload_type=rng.randrange(128), sequence=rng.randrange(65536), timestamp=rng.randrange(1 << 32),
                ssrc=rng.randrange(1 << 32), marker=rng.random() < 0.5,
                csrcs=tuple(rng.randrange(1 << 32) for _ in range(rng.randrange(4))),
                extension_profile=rng.choice([None, rng.randrange(65536)]),
                payload=rng.randbytes(rng.randrange(50)), padding_size=rng.choice([0, 1, 4, 255]),
            )
            if packet.extension_profile is not None:
                packet = dataclasses.replace(packet, extension_data=rng.randbytes(4 * rng.randrange(3)))
            if 72 <= packet.payload_type <= 76 and packet.marker:
                continue  # collides with RTCP packet types 200–204
            assert parse_rtp(packet.to_bytes()) == packet


class TestMalformed:
    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (b"", "shorter than the 12-byte"),
            (header()[:11], "shorter than the 12-byte"),
            (bytes([0x40]) + header()[1:] + b"x", "version 1"),
            (bytes([0x00]) + header()[1:] + b"x", "version 0"),
            (bytes([0xC0]) + header()[1:] + b"x", "version 3"),
            (bytes([0x81]) + header()[1:], "1 CSRCs need 16 bytes"),
            (bytes([0x8F]) + header()[1:] + bytes(56), "15 CSRCs need 72 bytes"),
            (bytes([0x90]) + header()[1:] + b"\xbe\xde", "header extension starts at byte 12"),
            (bytes([0x91]) + header()[1:] + bytes(4) + b"\xbe\xde", "header extension starts at byte 16"),
            (bytes([0x90]) + header()[1:] + b"\xbe\xde\x00\x02" + bytes(7), "header extension of 2 words"),
            (bytes([0xA0]) + header()[1:], "no octets after the header"),
            (bytes([0xA0]) + header()[1:] + b"abc\x00", "padding count of 0"),
            (bytes([0xA0]) + header()[1:] + b"abc\x05", "padding of 5 bytes"),
            (bytes([0xB0]) + header()[1:] + b"\xbe\xde\x00\x01abcd\x02", "padding of 2 bytes"),
            (header(second=200) + bytes(16), "RTCP packet type 200"),
            (header(second=201) + bytes(16), "RTCP packet type 201"),
            (header(second=204) + bytes(16), "RTCP packet type 204"),
        ],
    )
    def test_rejected(self, raw: bytes, reason: str) -> None:
        with pytest.raises(RtpError) as caught:
            parse_rtp(raw)
        assert reason in caught.value.reason
        assert isinstance(caught.value, ValueError)

    def test_every_truncation_is_rejected_or_consistent(self) -> None:
        raw = FULL.to_bytes()
        parsed = 0
        for end in range(len(raw)):
            try:
                packet = parse_rtp(raw[:end])
            except RtpError:
                continue
            # A cut that happens to end in a plausible padding count is a valid (different) packet.
            parsed += 1
            assert packet.to_bytes() == raw[:end]
        assert parsed <= 1

    def test_random_bytes_never_raise_anything_else(self) -> None:
        rng = random.Random(1)
        for _ in range(3000):
            data = bytes([0x80 | rng.randrange(64)]) + rng.randbytes(rng.randrange(40))
            try:
                packet = parse_rtp(data)
            except RtpError:
                continue
            assert packet.version == 2

    @pytest.mark.parametrize(
        "changes",
        [
            {"payload_type": 128}, {"payload_type": -1}, {"sequence": 65536}, {"timestamp": 1 << 32},
            {"ssrc": -1}, {"csrcs": tuple(range(16))}, {"csrcs": (1 << 32,)}, {"padding_size": 256},
            {"extension_profile": 0x10000}, {"extension_profile": 1, "extension_data": b"abc"},
        ],
    )
    def test_serialize_rejects_out_of_range(self, changes: dict[str, Any]) -> None:
        packet = dataclasses.replace(FULL, **changes)
        with pytest.raises(RtpError):
            packet.to_bytes()


class TestSequenceArithmetic:
    @pytest.mark.parametrize(
        ("a", "b", "diff"),
        [(0, 65535, 1), (65535, 0, -1), (5, 3, 2), (3, 5, -2), (100, 65500, 136), (0, 0, 0),
         (32767, 0, 32767), (32768, 0, -32768), (0, 32768, -32768), (65535, 32767, -32768)],
    )
    def test_seq_diff(self, a: int, b: int, diff: int) -> None:
        assert seq_diff(a, b) == diff

    def test_seq_lt_across_wrap(self) -> None:
        assert seq_lt(65535, 0) and not seq_lt(0, 65535)
        assert seq_lt(65000, 200) and not seq_lt(200, 65000)
        assert seq_lt(1, 2) and not seq_lt(2, 1)
        assert not seq_lt(7, 7)

    def test_half_way_is_unordered(self) -> None:
        assert not seq_lt(0, 32768) and not seq_lt(32768, 0)

    def test_seq_lt_agrees_with_seq_diff(self) -> None:
        rng = random.Random(7)
        for _ in range(2000):
            a, b = rng.randrange(65536), rng.randrange(65536)
            if seq_diff(a, b) != -32768:
                assert seq_lt(a, b) == (seq_diff(a, b) < 0)

    def test_seq_add_wraps(self) -> None:
        assert seq_add(65535, 1) == 0
        assert seq_add(0, -1) == 65535
        assert seq_add(65530, 10) == 4
