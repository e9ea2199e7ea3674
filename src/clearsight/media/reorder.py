"""Put one RTP stream's packets back in sequence order, sans-I/O.

The shape is aiortc's jitter buffer: a fixed ring of `capacity` slots indexed by sequence number modulo
capacity, positioned by `_head`, the next sequence number to release. A packet at `_head` is released at
once together with every consecutive packet held behind it, so an in-order stream passes straight
through. A missing packet holds the ones after it until

- it arrives (they are released in order),
- the oldest held packet has waited `max_wait` seconds (the gap is skipped: its sequence numbers are
  counted lost), or
- a packet arrives too far ahead for the ring (just enough of the front is skipped to make room).

Packets behind `_head` arrived too late: they are dropped and counted, unless they are more than
`max_misorder` behind, which means the sender restarted its numbering; a packet more than `capacity`
ahead of the newest one is a jump. Both reset the buffer: what it holds is released in order and
numbering restarts at the new packet (the jump itself is not counted lost: loss accounting across a
restart is `StreamStats`' business). One buffer is for one SSRC; filtering SSRCs is the caller's job
(see `clearsight.media.rtp_stats`).

Time is whatever monotonic clock the caller uses, in seconds. `push` releases what is due when packets
arrive; when they stop arriving, call `poll(now)` at `next_deadline` (or `flush()` at end of stream).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from clearsight.media.rtp import RTP_SEQ_MOD, RtpPacket, seq_add, seq_diff

DEFAULT_CAPACITY = 512  # slots; a power of two so that slots stay consistent across the 16-bit wrap
DEFAULT_MAX_WAIT = 0.1  # seconds a packet may wait for a missing predecessor
DEFAULT_MAX_MISORDER = 100  # RFC 3550 A.1 MAX_MISORDER: further behind than this is a restart, not late

_SEQ_MASK = RTP_SEQ_MOD - 1


@dataclass(slots=True)
class ReorderCounters:
    """What happened to the packets pushed so far."""

    released: int = 0
    late: int = 0  # arrived after their sequence number had been released or skipped; dropped
    duplicates: int = 0  # same sequence number as a packet still held; dropped
    lost: int = 0  # sequence numbers skipped over (waited too long, or the ring overflowed)
    resets: int = 0  # restarts of numbering (a jump ahead or far behind)


class ReorderBuffer:
    """Reorders one SSRC's packets; see the module docstring for the release rules."""

    __slots__ = ("_capacity", "_count", "_head", "_highest", "_mask", "_max_misorder", "_max_wait", "_ring",
                 "_waiting", "counters")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, max_wait: float = DEFAULT_MAX_WAIT,
                 max_misorder: int = DEFAULT_MAX_MISORDER) -> None:
        if capacity < 2 or capacity > RTP_SEQ_MOD or capacity & (capacity - 1):
            raise ValueError(f"capacity {capacity} must be a power of two between 2 and {RTP_SEQ_MOD}")
        if max_wait < 0:
            raise ValueError(f"max_wait {max_wait} must not be negative")
        if not 0 <= max_misorder < RTP_SEQ_MOD // 2:
            raise ValueError(f"max_misorder {max_misorder} must be in 0..{RTP_SEQ_MOD // 2 - 1}")
        self._capacity = capacity
        self._mask = capacity - 1
        self._max_wait = max_wait
        self._max_misorder = max_misorder
        self._ring: list[RtpPacket | None] = [None] * capacity
        self._count = 0  # packets held in the ring
        self._head: int | None = None  # next sequence number to release; None before the first packet
        self._highest = 0  # newest sequence number accepted (meaningful once _head is set)
        # (arrival time, packet) for held packets in arrival order; entries whose packet has left the
        # ring are stale and dropped when they reach the front.
        self._waiting: deque[tuple[float, RtpPacket]] = deque()
        self.counters = ReorderCounters()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def held(self) -> int:
        """Packets waiting for a missing predecessor."""
        return self._count

    @property
    def next_sequence(self) -> int | None:
        """The sequence number released next, or None before the first packet."""
        return self._head

    @property
    def next_deadline(self) -> float | None:
        """When `poll` will next skip a gap (the oldest held packet's arrival + max_wait), or None."""
        self._drop_stale_waiting()
        return self._waiting[0][0] + self._max_wait if self._waiting else None

    def push(self, packet: RtpPacket, now: float) -> list[RtpPacket]:
        """Add one packet that arrived at `now`; return the packets released, in sequence order."""
        seq = packet.sequence
        head = self._head
        if seq == head and not self._count:
            # In-order fast path: the packet due, nothing held, nothing to look up.
            self._head = (seq + 1) & _SEQ_MASK
            self._highest = seq
            self.counters.released += 1
            return [packet]
        if head is None:
            self._head = seq_add(seq, 1)
            self._highest = seq
            self.counters.released += 1
            return [packet]
        out: list[RtpPacket] = []
        delta = seq_diff(seq, head)
        if delta < 0:
            if -delta <= self._max_misorder:
                self.counters.late += 1
                return out
            self._reset(out)
        elif seq_diff(seq, self._highest) > self._capacity:
            self._reset(out)
        elif delta >= self._capacity:
            self._skip_until(seq_add(seq, 1 - self._capacity), out)
        if self._head is None:
            self._head = seq_add(seq, 1)
            self._highest = seq
            self.counters.released += 1
            out.append(packet)
            return out
        if seq == self._head and not self._count:
            # After a reset or a skip: nothing held.
            self._head = seq_add(seq, 1)
            self._highest = seq
            self.counters.released += 1
            out.append(packet)
            return out
        slot = seq & self._mask
        if self._ring[slot] is not None:
            self.counters.duplicates += 1
            return out
        self._ring[slot] = packet
        self._count += 1
        if seq_diff(seq, self._highest) > 0:
            self._highest = seq
        self._release_run(out)
        if self._count:
            self._waiting.append((now, packet))
            self._expire(now, out)
        return out

    def poll(self, now: float) -> list[RtpPacket]:
        """Release what has waited `max_wait` by `now` (call when no packet arrives to do it)."""
        out: list[RtpPacket] = []
        self._expire(now, out)
        return out

    def flush(self) -> list[RtpPacket]:
        """Release everything held, in order, skipping (and counting lost) the gaps between them."""
        out: list[RtpPacket] = []
        if self._head is not None and self._count:
            self._skip_until(seq_add(self._highest, 1), out)
        self._waiting.clear()
        return out

    def _release_run(self, out: list[RtpPacket]) -> None:
        """Release consecutive held packets starting at _head."""
        ring = self._ring
        mask = self._mask
        head = self._head
        assert head is not None
        while self._count:
            packet = ring[head & mask]
            if packet is None:
                break
            ring[head & mask] = None
            self._count -= 1
            out.append(packet)
            self.counters.released += 1
            head = (head + 1) & 0xFFFF
        self._head = head

    def _skip_until(self, target: int, out: list[RtpPacket]) -> None:
        """Advance _head to `target`, releasing held packets and counting empty slots lost."""
        ring = self._ring
        mask = self._mask
        head = self._head
        assert head is not None
        for _ in range(seq_diff(target, head)):
            packet = ring[head & mask]
            if packet is None:
                self.counters.lost += 1
            else:
                ring[head & mask] = None
                self._count -= 1
                out.append(packet)
                self.counters.released += 1
            head = (head + 1) & 0xFFFF
            if not self._count:
                # Nothing left to release: the rest of the gap is skipped in one step.
                self.counters.lost += seq_diff(target, head)
                head = target
                break
        self._head = head
        self._release_run(out)

    def _expire(self, now: float, out: list[RtpPacket]) -> None:
        waiting = self._waiting
        while waiting:
            arrived, packet = waiting[0]
            if self._ring[packet.sequence & self._mask] is not packet:
                waiting.popleft()
                continue
            if now - arrived < self._max_wait:
                break
            waiting.popleft()
            self._skip_until(seq_add(packet.sequence, 1), out)

    def _drop_stale_waiting(self) -> None:
        waiting = self._waiting
        while waiting and self._ring[waiting[0][1].sequence & self._mask] is not waiting[0][1]:
            waiting.popleft()

    def _reset(self, out: list[RtpPacket]) -> None:
        """Release what is held and forget the numbering; the caller restarts at its packet."""
        out.extend(self.flush())
        self._head = None
        self.counters.resets += 1
