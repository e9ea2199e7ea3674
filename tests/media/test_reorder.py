"""The RTP reorder buffer: in-order release, shuffles, wrap-around, gaps, late packets and resets."""

from __future__ import annotations

import random

import pytest

from clearsight.media.reorder import ReorderBuffer
from clearsight.media.rtp import RtpPacket, seq_add


def pkt(seq: int) -> RtpPacket:
    return RtpPacket(payload_type=96, sequence=seq & 0xFFFF, timestamp=seq * 3000, ssrc=1)


def seqs(packets: list[RtpPacket]) -> list[int]:
    return [p.sequence for p in packets]


def run(buffer: ReorderBuffer, order: list[int], now: float = 0.0) -> list[int]:
    out: list[int] = []
    for seq in order:
        out += seqs(buffer.push(pkt(seq), now))
    return out


def wrapped(start: int, count: int) -> list[int]:
    return [seq_add(start, i) for i in range(count)]


class TestInOrder:
    def test_passes_straight_through(self) -> None:
        buffer = ReorderBuffer(capacity=16)
        for seq in range(100):
            assert seqs(buffer.push(pkt(seq), 0.0)) == [seq]
        assert buffer.held == 0 and buffer.counters.released == 100

    def test_across_the_wrap(self) -> None:
        buffer = ReorderBuffer(capacity=16)
        order = wrapped(65530, 20)
        assert run(buffer, order) == order
        assert buffer.next_sequence == 14

    @pytest.mark.parametrize("capacity", [0, 1, 3, 100, 1 << 17])
    def test_capacity_must_be_a_power_of_two(self, capacity: int) -> None:
        with pytest.raises(ValueError, match="power of two"):
            ReorderBuffer(capacity=capacity)

    def test_other_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            ReorderBuffer(max_wait=-1)
        with pytest.raises(ValueError):
            ReorderBuffer(max_misorder=40000)


class TestShuffled:
    @pytest.mark.parametrize("start", [0, 1000, 65500, 65535])
    @pytest.mark.parametrize("window", [2, 5, 16, 60])
    def test_shuffled_windows_come_out_in_order(self, start: int, window: int) -> None:
        rng = random.Random(start * 100 + window)
        expected = wrapped(start, 400)
        order = [expected[0]]
        rest = expected[1:]
        for i in range(0, len(rest), window):
            chunk = rest[i : i + window]
            rng.shuffle(chunk)
            order += chunk
        buffer = ReorderBuffer(capacity=64, max_wait=10.0)
        out = run(buffer, order)
        assert out == expected
        assert buffer.held == 0
        assert buffer.counters.lost == 0 and buffer.counters.late == 0

    def test_swap_holds_one_packet(self) -> None:
        buffer = ReorderBuffer(capacity=8)
        assert run(buffer, [1]) == [1]
        assert seqs(buffer.push(pkt(3), 0.0)) == []
        assert buffer.held == 1
        assert seqs(buffer.push(pkt(2), 0.0)) == [2, 3]

    def test_duplicate_of_a_held_packet(self) -> None:
        buffer = ReorderBuffer(capacity=8, max_wait=1.0)
        run(buffer, [1, 3])
        assert buffer.push(pkt(3), 0.0) == []
        assert buffer.counters.duplicates == 1
        assert run(buffer, [2]) == [2, 3]

    def test_duplicate_of_a_released_packet_is_late(self) -> None:
        buffer = ReorderBuffer(capacity=8)
        run(buffer, [1, 2, 3])
        assert buffer.push(pkt(2), 0.0) == []
        assert buffer.counters.late == 1 and buffer.counters.duplicates == 0


class TestGaps:
    def test_gap_skipped_after_max_wait(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.1)
        run(buffer, [10])
        assert seqs(buffer.push(pkt(12), 1.0)) == []
        assert seqs(buffer.push(pkt(13), 1.05)) == []
        assert buffer.next_deadline == pytest.approx(1.1)
        assert seqs(buffer.poll(1.09)) == []
        assert seqs(buffer.poll(1.1)) == [12, 13]
        assert buffer.counters.lost == 1 and buffer.next_sequence == 14
        assert buffer.next_deadline is None
        # The missing packet, now late, is dropped.
        assert buffer.push(pkt(11), 1.2) == []
        assert buffer.counters.late == 1

    def test_gap_skipped_by_a_later_push(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.1)
        run(buffer, [10])
        buffer.push(pkt(12), 1.0)
        assert seqs(buffer.push(pkt(14), 1.2)) == [12]
        # 14 waits behind 13 from its own arrival.
        assert buffer.held == 1 and buffer.next_deadline == pytest.approx(1.3)
        assert seqs(buffer.push(pkt(15), 1.31)) == [14, 15]
        assert buffer.counters.lost == 2

    def test_no_packet_waits_longer_than_max_wait(self) -> None:
        # 12 and 14 arrive together; 11 and 13 never do: both gaps go at once.
        buffer = ReorderBuffer(capacity=16, max_wait=0.1)
        run(buffer, [10])
        buffer.push(pkt(14), 1.0)
        buffer.push(pkt(12), 1.0)
        assert seqs(buffer.poll(1.1)) == [12, 14]
        assert buffer.counters.lost == 2

    def test_gap_filled_in_time_loses_nothing(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.1)
        run(buffer, [10])
        buffer.push(pkt(12), 1.0)
        assert seqs(buffer.push(pkt(11), 1.05)) == [11, 12]
        assert buffer.poll(5.0) == [] and buffer.counters.lost == 0

    def test_ring_overflow_skips_just_enough(self) -> None:
        buffer = ReorderBuffer(capacity=8, max_wait=100.0)
        run(buffer, [0])
        # 1 and 2 are missing; 3..8 are held; 9 and 10 need the ring to move on.
        assert run(buffer, list(range(3, 9))) == []
        assert seqs(buffer.push(pkt(9), 0.0)) == []  # 9 - 1 = 8 slots: 1 is skipped
        assert buffer.counters.lost == 1 and buffer.next_sequence == 2
        assert seqs(buffer.push(pkt(10), 0.0)) == list(range(3, 11))
        assert buffer.counters.lost == 2 and buffer.held == 0

    def test_loss_across_the_wrap(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.05)
        sent = wrapped(65520, 40)
        dropped = {65534, 65535, 0, 5}
        out: list[int] = []
        now = 0.0
        for seq in sent:
            now += 0.01
            if seq not in dropped:
                out += seqs(buffer.push(pkt(seq), now))
        out += seqs(buffer.flush())
        assert out == [s for s in sent if s not in dropped]
        assert buffer.counters.lost == 4

    def test_max_wait_zero_never_waits(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.0)
        assert run(buffer, [1, 3, 2, 4]) == [1, 3, 4]
        assert buffer.counters.lost == 1 and buffer.counters.late == 1


class TestResets:
    def test_huge_jump_ahead_resets(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=10.0)
        run(buffer, [100, 102, 103])
        out = seqs(buffer.push(pkt(5000), 0.0))
        assert out == [102, 103, 5000]
        # 101 was skipped by the flush; the 4896 numbers jumped over are not counted lost.
        assert buffer.counters.resets == 1 and buffer.counters.lost == 1
        assert run(buffer, [5001, 5002]) == [5001, 5002]

    def test_far_behind_is_a_restart_not_late(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_misorder=100)
        run(buffer, list(range(1000, 1010)))
        assert seqs(buffer.push(pkt(899), 0.0)) == [899]
        assert buffer.counters.resets == 1 and buffer.counters.late == 0
        assert run(buffer, [900]) == [900]

    def test_within_misorder_is_late(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_misorder=100)
        run(buffer, list(range(1000, 1010)))
        assert buffer.push(pkt(910), 0.0) == []
        assert buffer.counters.late == 1 and buffer.counters.resets == 0

    def test_jump_across_the_wrap_within_capacity_is_not_a_reset(self) -> None:
        buffer = ReorderBuffer(capacity=16, max_wait=0.0)
        run(buffer, [65530])
        assert seqs(buffer.push(pkt(3), 0.0)) == [3]
        assert buffer.counters.resets == 0 and buffer.counters.lost == 8


class TestFlush:
    def test_flush_releases_held_in_order(self) -> None:
        buffer = ReorderBuffer(capacity=32, max_wait=10.0)
        run(buffer, [1, 7, 4, 5, 9])
        assert seqs(buffer.flush()) == [4, 5, 7, 9]
        assert buffer.counters.lost == 4  # 2, 3, 6, 8
        assert buffer.held == 0 and buffer.next_sequence == 10
        assert buffer.flush() == []
        assert run(buffer, [10]) == [10]

    def test_flush_before_any_packet(self) -> None:
        assert ReorderBuffer().flush() == []

    def test_counters_add_up(self) -> None:
        rng = random.Random(99)
        buffer = ReorderBuffer(capacity=32, max_wait=0.02)
        sent = wrapped(65000, 3000)
        arrivals: list[tuple[float, int]] = []
        for i, seq in enumerate(sent):
            if rng.random() < 0.03:
                continue  # lost in the network
            arrivals.append((i * 0.005 + rng.uniform(0, 0.03), seq))
            if rng.random() < 0.01:
                arrivals.append((i * 0.005 + 0.04, seq))  # a duplicate
        arrivals.sort()
        released: list[int] = []
        for now, seq in arrivals:
            released += seqs(buffer.push(pkt(seq), now))
        released += seqs(buffer.flush())
        # Released strictly in order, each at most once.
        positions = [sent.index(s) for s in released]
        assert positions == sorted(set(positions))
        c = buffer.counters
        assert c.released == len(released)
        assert c.released + c.late + c.duplicates == len(arrivals)
        assert c.released + c.lost == positions[-1] + 1
