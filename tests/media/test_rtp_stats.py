"""Per-stream RTP statistics: loss (RFC 3550 A.3), jitter (A.8), duplicates, reordering, SSRC policy."""

from __future__ import annotations

import logging

import pytest

from clearsight.media.rtp import RtpPacket, seq_add
from clearsight.media.rtp_stats import SSRC_MISMATCH_AFTER, StreamStats

SSRC = 100000001


def pkt(seq: int, ts: int = 0, ssrc: int = SSRC, size: int = 10) -> RtpPacket:
    return RtpPacket(payload_type=96, sequence=seq & 0xFFFF, timestamp=ts & 0xFFFF_FFFF, ssrc=ssrc,
                     payload=bytes(size))


def feed(stats: StreamStats, seqs: list[int], start: float = 0.0) -> None:
    for i, seq in enumerate(seqs):
        stats.accept(pkt(seq, seq * 3600), start + i * 0.04)


class TestLoss:
    def test_clean_stream(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, list(range(50)))
        snap = stats.snapshot()
        assert (snap.packets, snap.bytes, snap.expected, snap.lost) == (50, 500, 50, 0)
        assert (snap.duplicates, snap.reordered, snap.late, snap.wrong_ssrc) == (0, 0, 0, 0)

    def test_loss_across_the_wrap(self) -> None:
        stats = StreamStats(SSRC)
        sent = [seq_add(65500, i) for i in range(100)]
        dropped = {65534, 65535, 0, 1, 30}
        feed(stats, [s for s in sent if s not in dropped])
        assert stats.expected == 100
        assert stats.lost == 5
        assert stats.packets == 95

    def test_duplicates_do_not_hide_loss(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [1, 2, 2, 4, 4, 5])
        assert stats.duplicates == 2
        assert stats.lost == 1  # 3; A.3's expected - received would say -1
        assert stats.packets == 6

    def test_reordered_packet_is_not_lost(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [1, 2, 4, 3, 5])
        assert stats.reordered == 1 and stats.lost == 0 and stats.expected == 5

    def test_reordered_across_the_wrap(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [65534, 0, 65535, 1])
        assert stats.reordered == 1 and stats.lost == 0 and stats.expected == 4

    def test_packet_before_the_first_one_moves_the_base(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [10, 11, 9])
        assert stats.expected == 3 and stats.lost == 0 and stats.reordered == 1

    def test_late_drops_come_from_the_reorder_buffer(self) -> None:
        stats = StreamStats(SSRC)
        stats.record_late()
        stats.record_late(2)
        assert stats.late == 3 and stats.snapshot().late == 3

    def test_big_gap_within_dropout_is_loss(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [0, 1, 2000, 2001])
        assert stats.lost == 1998 and stats.sequence_restarts == 0

    def test_confirmed_jump_restarts_and_keeps_earlier_loss(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [0, 1, 3, 40000, 40001, 40002])
        assert stats.sequence_restarts == 1
        assert stats.expected == 2  # 40001 and 40002: the first packet of the jump only armed it
        assert stats.lost == 1  # 2, from before the restart
        assert stats.packets == 6

    def test_stray_jump_packet_is_not_counted(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [0, 1, 40000, 2, 3, 40001])
        assert stats.sequence_restarts == 0
        assert stats.expected == 4 and stats.lost == 0

    def test_far_behind_packet_is_a_jump(self) -> None:
        stats = StreamStats(SSRC)
        feed(stats, [*range(1000, 1010), 500, 501, 502])
        assert stats.sequence_restarts == 1 and stats.expected == 2


class TestJitter:
    def test_known_answer(self) -> None:
        # D1 = (0.05 - 0) * 90000 - 3600 = 900 -> J = 900/16 = 56.25
        # D2 = (0.08 - 0.05) * 90000 - 3600 = -900 -> J = 56.25 + (900 - 56.25)/16 = 108.984375
        stats = StreamStats(SSRC)
        for ts, arrival in [(0, 0.0), (3600, 0.05), (7200, 0.08)]:
            stats.accept(pkt(ts // 3600, ts), arrival)
        assert stats.jitter == pytest.approx(108.984375)
        assert stats.jitter_ms == pytest.approx(108.984375 / 90)

    def test_converges_to_the_constant_transit_change(self) -> None:
        # Every other packet is 10 ms (900 ticks) late: |D| = 900 each time.
        stats = StreamStats(SSRC)
        n = 40
        for i in range(n):
            stats.accept(pkt(i, i * 3600), i * 0.04 + (0.01 if i % 2 else 0.0))
        assert stats.jitter == pytest.approx(900 * (1 - (15 / 16) ** (n - 1)))

    def test_steady_stream_has_no_jitter(self) -> None:
        stats = StreamStats(SSRC)
        for i in range(100):
            stats.accept(pkt(i, i * 3600), 10.0 + i * 0.04)
        assert stats.jitter == pytest.approx(0.0, abs=1e-6)

    def test_timestamp_wrap_is_not_jitter(self) -> None:
        stats = StreamStats(SSRC)
        base = (1 << 32) - 3 * 3600
        for i in range(10):
            stats.accept(pkt(i, base + i * 3600), i * 0.04)
        assert stats.jitter == pytest.approx(0.0, abs=1e-6)

    def test_other_clock_rate(self) -> None:
        stats = StreamStats(SSRC, clock_rate=8000)
        stats.accept(pkt(0, 0), 0.0)
        stats.accept(pkt(1, 160), 0.03)  # 10 ms late: 80 ticks
        assert stats.jitter == pytest.approx(5.0)
        assert stats.jitter_ms == pytest.approx(0.625)

    def test_duplicates_are_not_used_for_jitter(self) -> None:
        stats = StreamStats(SSRC)
        stats.accept(pkt(0, 0), 0.0)
        stats.accept(pkt(1, 3600), 0.04)
        stats.accept(pkt(1, 3600), 0.5)
        stats.accept(pkt(2, 7200), 0.08)
        assert stats.jitter == pytest.approx(0.0, abs=1e-6)


class TestSsrc:
    def test_wrong_ssrc_rejected_and_counted(self) -> None:
        stats = StreamStats(SSRC)
        assert stats.accept(pkt(1), 0.0)
        assert not stats.accept(pkt(2, ssrc=7), 0.0)
        assert stats.wrong_ssrc == 1 and stats.packets == 1
        assert stats.ssrc_mismatch is None

    def test_only_wrong_ssrc_is_reported(self, caplog: pytest.LogCaptureFixture) -> None:
        stats = StreamStats(340200001, stream_id="34020000001320000001")
        with caplog.at_level(logging.WARNING, logger="clearsight.media.rtp_stats"):
            for seq in range(SSRC_MISMATCH_AFTER - 1):
                assert not stats.accept(pkt(seq, ssrc=1234567890), 0.0)
            assert stats.ssrc_mismatch is None and stats.ssrc_mismatch_message is None
            assert not stats.accept(pkt(99, ssrc=1234567890), 0.0)
            for seq in range(100, 110):
                stats.accept(pkt(seq, ssrc=1234567890), 0.0)
        assert stats.ssrc_mismatch == 1234567890
        assert stats.snapshot().ssrc_mismatch == 1234567890
        message = stats.ssrc_mismatch_message
        assert message is not None
        assert message.startswith("RTP with the wrong SSRC: expected 0340200001, received 1234567890")
        warnings = [r for r in caplog.records if "wrong SSRC" in r.getMessage()]
        assert len(warnings) == 1 and "34020000001320000001" in warnings[0].getMessage()
        assert stats.packets == 0 and stats.wrong_ssrc == SSRC_MISMATCH_AFTER + 10

    def test_right_packet_clears_the_report(self) -> None:
        stats = StreamStats(SSRC, mismatch_after=3)
        for seq in range(3):
            stats.accept(pkt(seq, ssrc=5), 0.0)
        assert stats.ssrc_mismatch == 5
        assert stats.accept(pkt(3), 0.0)
        assert stats.ssrc_mismatch is None

    def test_mismatch_reports_the_latest_of_several_wrong_ssrcs(self) -> None:
        stats = StreamStats(SSRC, mismatch_after=4)
        for seq, ssrc in enumerate([5, 6, 5, 6]):
            stats.accept(pkt(seq, ssrc=ssrc), 0.0)
        assert stats.ssrc_mismatch == 6

    def test_interleaved_strays_are_not_a_mismatch(self) -> None:
        stats = StreamStats(SSRC, mismatch_after=3)
        for seq in range(20):
            stats.accept(pkt(seq, ssrc=SSRC if seq % 2 else 9), 0.0)
        assert stats.ssrc_mismatch is None and stats.wrong_ssrc == 10

    def test_lock_to_first_ssrc(self, caplog: pytest.LogCaptureFixture) -> None:
        stats = StreamStats(SSRC, lock_to_first_ssrc=True, stream_id="cam-1")
        assert stats.ssrc is None
        with caplog.at_level(logging.WARNING, logger="clearsight.media.rtp_stats"):
            assert stats.accept(pkt(1, ssrc=777), 0.0)
        assert stats.ssrc == 777 and stats.ssrc_substituted
        assert "instead of" in caplog.text and "cam-1" in caplog.text
        assert not stats.accept(pkt(2, ssrc=SSRC), 0.0)
        assert stats.wrong_ssrc == 1

    def test_lock_to_first_when_it_is_the_expected_one(self) -> None:
        stats = StreamStats(SSRC, lock_to_first_ssrc=True)
        assert stats.accept(pkt(1), 0.0)
        assert stats.ssrc == SSRC and not stats.ssrc_substituted

    def test_no_expected_ssrc_locks_to_first(self) -> None:
        stats = StreamStats()
        assert stats.accept(pkt(1, ssrc=42), 0.0)
        assert not stats.accept(pkt(2, ssrc=43), 0.0)
        assert stats.ssrc == 42 and not stats.ssrc_substituted

    def test_locked_stream_follows_a_restarted_sender(self) -> None:
        stats = StreamStats(lock_to_first_ssrc=True, mismatch_after=5)
        feed(stats, [0, 1, 3])  # 2 lost under the first SSRC
        accepted = [stats.accept(pkt(seq, seq * 3600, ssrc=555), 1.0 + seq * 0.04) for seq in range(500, 510)]
        assert accepted == [False] * 4 + [True] * 6
        assert stats.ssrc == 555 and stats.ssrc_changes == 1
        assert stats.ssrc_mismatch is None
        assert stats.expected == 6 and stats.lost == 1
        assert stats.accept(pkt(510, ssrc=555), 2.0)

    def test_fixed_ssrc_never_relocks(self) -> None:
        stats = StreamStats(SSRC, mismatch_after=5)
        for seq in range(50):
            assert not stats.accept(pkt(seq, ssrc=555), 0.0)
        assert stats.ssrc == SSRC and stats.ssrc_changes == 0 and stats.ssrc_mismatch == 555

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            StreamStats(clock_rate=0)
        with pytest.raises(ValueError):
            StreamStats(mismatch_after=0)
