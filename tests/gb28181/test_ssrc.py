"""The GB/T 28181 SSRC rule, its allocator and the tolerant ``y=`` reader."""

from __future__ import annotations

import pytest

from clearsight.gb28181.ssrc import (
    RTP_SSRC_MAX,
    SEQUENCE_SPACE,
    InvalidSsrc,
    Ssrc,
    SsrcAllocator,
    SsrcExhausted,
    StreamKind,
    parse_y,
)

DOMAIN = "3402000000"  # domain[3:8] = "20000"


def test_stream_kind_names_and_prefixes() -> None:
    assert [k.value for k in StreamKind] == ["Play", "Playback", "Download"]
    assert StreamKind.PLAY.ssrc_prefix == "0"
    assert StreamKind.PLAYBACK.ssrc_prefix == "1"
    assert StreamKind.DOWNLOAD.ssrc_prefix == "1"


def test_ssrc_text_is_ten_digits_zero_padded() -> None:
    ssrc = Ssrc(1002)
    assert ssrc.text == "0000001002"
    assert str(ssrc) == "0000001002"
    assert ssrc.value == 1002
    assert ssrc.is_live
    assert not Ssrc(1_000_010_004).is_live
    assert Ssrc(0).text == "0000000000"
    assert Ssrc(RTP_SSRC_MAX).text == "4294967295"


def test_ssrc_orders_and_compares_by_value() -> None:
    assert Ssrc(5) == Ssrc(5)
    assert Ssrc(5) < Ssrc(6)
    assert len({Ssrc(5), Ssrc(5), Ssrc(6)}) == 2


@pytest.mark.parametrize("value", [-1, RTP_SSRC_MAX + 1, 9_999_999_999])
def test_ssrc_outside_32_bits_is_rejected(value: int) -> None:
    with pytest.raises(InvalidSsrc, match="32-bit"):
        Ssrc(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0000001002", 1002),
        ("  0000001002  ", 1002),
        ("\t1000010004\r\n", 1_000_010_004),
        ("y=0100000001", 100_000_001),
        ("Y= 0200000017 ", 200_000_017),
        ("1002", 1002),  # short: some devices drop the padding
        ("0", 0),
        ("4294967295", RTP_SSRC_MAX),
    ],
)
def test_parse_y_tolerates_devices(text: str, value: int) -> None:
    ssrc = parse_y(text)
    assert ssrc.value == value
    assert len(ssrc.text) == 10


@pytest.mark.parametrize(
    "text",
    ["", "   ", "y=", "abc", "12345678901", "4294967296", "9999999999", "-1", "+1", "1 2", "0x10", "1_000",
     "\u0661\u0662\u0663", "\uff11\uff12"],
)
def test_parse_y_rejects_non_ssrcs(text: str) -> None:
    with pytest.raises(InvalidSsrc) as caught:
        parse_y(text)
    assert caught.value.text == text
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("domain", ["", "340200000", "34020000001", "340200000a", "\uff13402000000",
                                    " 3402000000", "34020000002000000001"])
def test_allocator_needs_a_ten_digit_domain(domain: str) -> None:
    with pytest.raises(ValueError, match="10 decimal digits"):
        SsrcAllocator(domain)


def test_allocation_follows_the_gb_rule() -> None:
    allocator = SsrcAllocator(DOMAIN)
    assert allocator.domain == DOMAIN
    assert allocator.allocate(StreamKind.PLAY).text == "0200000000"
    assert allocator.allocate(StreamKind.PLAY).text == "0200000001"
    assert allocator.allocate(StreamKind.PLAYBACK).text == "1200000000"
    assert allocator.allocate(StreamKind.DOWNLOAD).text == "1200000001"  # shares the history pool
    other = SsrcAllocator("4101050000")
    assert other.allocate(StreamKind.PLAY).text == "0105000000"
    assert other.allocate(StreamKind.DOWNLOAD).value == 1_105_000_000


def test_value_matches_text_for_rtp_comparison() -> None:
    ssrc = SsrcAllocator(DOMAIN).allocate(StreamKind.PLAYBACK)
    assert ssrc.value == int(ssrc.text)
    assert parse_y(ssrc.text) == ssrc


def test_every_sequence_once_then_exhausted() -> None:
    allocator = SsrcAllocator(DOMAIN)
    live = [allocator.allocate(StreamKind.PLAY) for _ in range(SEQUENCE_SPACE)]
    assert len(set(live)) == SEQUENCE_SPACE
    assert {s.text[:6] for s in live} == {"020000"}
    assert sorted(int(s.text[6:]) for s in live) == list(range(SEQUENCE_SPACE))
    assert allocator.in_use(StreamKind.PLAY) == SEQUENCE_SPACE
    with pytest.raises(SsrcExhausted) as caught:
        allocator.allocate(StreamKind.PLAY)
    assert caught.value.kind is StreamKind.PLAY
    assert caught.value.domain == DOMAIN
    assert "10000" in str(caught.value)
    # the history pool is separate
    assert allocator.allocate(StreamKind.PLAYBACK).text == "1200000000"
    assert allocator.in_use(StreamKind.DOWNLOAD) == 1
    # releasing one makes exactly that one available again
    assert allocator.release(live[4321])
    assert allocator.allocate(StreamKind.PLAY) == live[4321]
    with pytest.raises(SsrcExhausted):
        allocator.allocate(StreamKind.PLAY)


def test_history_pool_exhausts_across_playback_and_download() -> None:
    allocator = SsrcAllocator(DOMAIN)
    for i in range(SEQUENCE_SPACE):
        allocator.allocate(StreamKind.PLAYBACK if i % 2 else StreamKind.DOWNLOAD)
    with pytest.raises(SsrcExhausted):
        allocator.allocate(StreamKind.DOWNLOAD)
    with pytest.raises(SsrcExhausted):
        allocator.allocate(StreamKind.PLAYBACK)
    assert allocator.allocate(StreamKind.PLAY).is_live


def test_round_robin_delays_reuse_and_wraps() -> None:
    allocator = SsrcAllocator(DOMAIN)
    first = allocator.allocate(StreamKind.PLAY)
    assert allocator.release(first)
    assert allocator.allocate(StreamKind.PLAY).text == "0200000001"  # not the one just released
    for _ in range(SEQUENCE_SPACE - 2):
        allocator.allocate(StreamKind.PLAY)
    # sequences 0001-9999 are in use; the cursor wraps to 0000, the only free one
    assert allocator.allocate(StreamKind.PLAY) == first
    assert allocator.in_use(StreamKind.PLAY) == SEQUENCE_SPACE


def test_wrap_skips_sequences_still_in_use() -> None:
    allocator = SsrcAllocator(DOMAIN)
    taken = [allocator.allocate(StreamKind.PLAY) for _ in range(SEQUENCE_SPACE)]
    for index in (9998, 3, 7):
        allocator.release(taken[index])
    # cursor is at 0000 (wrapped after 9999): next free ones in order are 3, 7, 9998
    assert [allocator.allocate(StreamKind.PLAY).text[6:] for _ in range(3)] == ["0003", "0007", "9998"]


def test_release_is_idempotent_and_ignores_foreign_ssrcs() -> None:
    allocator = SsrcAllocator(DOMAIN)
    ssrc = allocator.allocate(StreamKind.PLAY)
    assert allocator.is_allocated(ssrc)
    assert allocator.release(ssrc)
    assert not allocator.is_allocated(ssrc)
    assert not allocator.release(ssrc)
    assert not allocator.release(parse_y("0105000000"))  # another domain
    assert not allocator.release(parse_y("2200000000"))  # not a GB prefix
    assert not allocator.release(Ssrc(RTP_SSRC_MAX))
    assert not allocator.is_allocated(parse_y("2200000000"))
    assert allocator.in_use(StreamKind.PLAY) == 0


def test_release_of_live_does_not_touch_history() -> None:
    allocator = SsrcAllocator(DOMAIN)
    live = allocator.allocate(StreamKind.PLAY)
    history = allocator.allocate(StreamKind.PLAYBACK)
    assert live.text[6:] == history.text[6:] == "0000"
    assert allocator.release(live)
    assert allocator.is_allocated(history)
    assert not allocator.is_allocated(live)
