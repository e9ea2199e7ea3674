"""Receiver statistics for one RTP stream (RFC 3550 §6.4.1, A.1, A.3, A.8) and its SSRC check.

`StreamStats.accept(packet, arrival_time)` is called for every packet in arrival order, before any
reordering. It answers whether the packet belongs to the stream (its SSRC) and keeps the counts the
platform reports: packets, payload bytes, cumulative loss, duplicates, reordered packets, late drops
(reported by the reorder buffer through `record_late`), interarrival jitter and SSRC trouble.

SSRC policy. GB/T 28181 puts the SSRC the platform wants in the INVITE (`y=` line); the device should
send exactly that one.
- `expected_ssrc` set, `lock_to_first_ssrc` False: only that SSRC is accepted; other packets are counted
  `wrong_ssrc` and rejected. When `SSRC_MISMATCH_AFTER` wrong packets arrive in a row with none right
  since, `ssrc_mismatch` gives the SSRC actually seen and `ssrc_mismatch_message` says so plainly.
- `lock_to_first_ssrc` True (for devices that ignore the SSRC asked for), or no `expected_ssrc`: the
  first SSRC seen is accepted; if a different SSRC then arrives `SSRC_MISMATCH_AFTER` times in a row
  with none of the locked one between (the device restarted its sender), the stream re-locks to it and
  the sequence accounting starts afresh (`ssrc_changes`).

Sequence accounting follows RFC 3550 A.1 without the probation period: a packet at most MAX_DROPOUT
ahead or MAX_MISORDER behind the highest sequence number is in sequence; a bigger jump counts only once
the next packet confirms it (two in a row), and then restarts the accounting; loss counted before a
restart is kept. Where A.3 computes lost = expected - received and so lets duplicates hide loss,
`lost` here subtracts the duplicates detected (within the last DUPLICATE_WINDOW sequence numbers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clearsight.media.rtp import RTP_SEQ_MOD, RtpPacket

logger = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000  # RFC 3551 §5 / GB/T 28181: video RTP timestamps tick at 90 kHz
MAX_DROPOUT = 3000  # RFC 3550 A.1: largest forward jump still treated as loss, not a restart
MAX_MISORDER = 100  # RFC 3550 A.1: furthest back a packet may arrive and count as reordered
JITTER_GAIN = 1 / 16  # RFC 3550 A.8: J += (|D| - J) / 16
SSRC_MISMATCH_AFTER = 25  # wrong-SSRC packets in a row, none right, before the mismatch is reported
DUPLICATE_WINDOW = 1024  # sequence numbers remembered for duplicate detection (> MAX_MISORDER)

_SEQ_MASK = RTP_SEQ_MOD - 1
_TS_MOD = 1 << 32
_TS_HALF = 1 << 31


@dataclass(frozen=True, slots=True)
class StreamStatsSnapshot:
    """The figures of a `StreamStats` at one moment, for the quality and health reports."""

    ssrc: int | None
    packets: int
    bytes: int
    expected: int
    lost: int
    duplicates: int
    reordered: int
    late: int
    wrong_ssrc: int
    ssrc_mismatch: int | None
    ssrc_changes: int
    sequence_restarts: int
    jitter: float
    jitter_ms: float


class StreamStats:
    """Per-stream receive statistics and SSRC gate; see the module docstring."""

    __slots__ = ("_bad_seq", "_base_ext", "_clock_rate", "_expected_ssrc", "_lock_to_first", "_lost_before",
                 "_max_ext", "_mismatch_after", "_mismatch_logged", "_prev_arrival", "_prev_timestamp",
                 "_seen", "_ssrc", "_unique", "_wrong_run", "_wrong_same_run", "_wrong_seen", "bytes",
                 "duplicates", "jitter", "late", "packets", "reordered", "sequence_restarts", "ssrc_changes",
                 "stream_id", "wrong_ssrc")

    def __init__(self, expected_ssrc: int | None = None, *, lock_to_first_ssrc: bool = False,
                 clock_rate: int = VIDEO_CLOCK_RATE, mismatch_after: int = SSRC_MISMATCH_AFTER,
                 stream_id: str = "") -> None:
        if clock_rate <= 0:
            raise ValueError(f"clock_rate {clock_rate} must be positive")
        if mismatch_after < 1:
            raise ValueError(f"mismatch_after {mismatch_after} must be at least 1")
        self.stream_id = stream_id
        self._expected_ssrc = expected_ssrc
        self._lock_to_first = lock_to_first_ssrc or expected_ssrc is None
        self._ssrc = None if self._lock_to_first else expected_ssrc
        self._clock_rate = clock_rate
        self._mismatch_after = mismatch_after
        self.packets = 0
        self.bytes = 0  # payload octets, as in an RTCP sender report
        self.duplicates = 0
        self.reordered = 0
        self.late = 0
        self.wrong_ssrc = 0
        self.ssrc_changes = 0
        self.sequence_restarts = 0
        self.jitter = 0.0  # RFC 3550 A.8, in timestamp units
        self._wrong_run = 0  # wrong-SSRC packets since the last right one
        self._wrong_same_run = 0  # ... of which the latest run of one and the same SSRC
        self._wrong_seen: int | None = None
        self._mismatch_logged = False
        self._reset_sequence()
        self._lost_before = 0

    def _reset_sequence(self) -> None:
        self._base_ext: int | None = None  # extended sequence number of the first packet counted
        self._max_ext = 0  # highest extended sequence number
        self._bad_seq: int | None = None  # RFC 3550 A.1: where a big jump would be confirmed
        self._unique = 0  # distinct packets counted since (re)start
        self._seen = [-1] * DUPLICATE_WINDOW
        self._prev_arrival: float | None = None
        self._prev_timestamp = 0

    # -- SSRC -------------------------------------------------------------------------------------

    @property
    def ssrc(self) -> int | None:
        """The SSRC accepted: the expected one, or the one locked to (None until the first packet)."""
        return self._ssrc

    @property
    def ssrc_substituted(self) -> bool:
        """The device chose its own SSRC instead of the one asked for (only when locking to the first)."""
        return self._expected_ssrc is not None and self._ssrc is not None and self._ssrc != self._expected_ssrc

    @property
    def ssrc_mismatch(self) -> int | None:
        """The SSRC actually arriving, when only wrong-SSRC packets have come for a while; else None."""
        return self._wrong_seen if self._wrong_run >= self._mismatch_after else None

    @property
    def ssrc_mismatch_message(self) -> str | None:
        """A plain statement of the SSRC mismatch for operators, or None."""
        seen = self.ssrc_mismatch
        if seen is None:
            return None
        return (f"RTP with the wrong SSRC: expected {_format_ssrc(self._ssrc)}, received {_format_ssrc(seen)} "
                f"({self._wrong_run} packets in a row, none with the expected SSRC)")

    # -- loss ---------------------------------------------------------------------------------------

    @property
    def expected(self) -> int:
        """Packets expected since the last restart of the accounting (RFC 3550 A.3)."""
        return 0 if self._base_ext is None else self._max_ext - self._base_ext + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost, including before any sequence restart."""
        return self._lost_before + self.expected - self._unique

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000.0 / self._clock_rate

    def record_late(self, count: int = 1) -> None:
        """Count packets the reorder buffer dropped because they came after their turn."""
        self.late += count

    # -- per packet ---------------------------------------------------------------------------------

    def accept(self, packet: RtpPacket, arrival_time: float) -> bool:
        """Account for one packet; False means it has the wrong SSRC and must be dropped."""
        ssrc = packet.ssrc
        if ssrc != self._ssrc and not self._admit_ssrc(ssrc):
            return False
        if self._wrong_run:
            self._wrong_run = 0
            self._wrong_same_run = 0
            self._mismatch_logged = False
        self.packets += 1
        self.bytes += len(packet.payload)
        seq = packet.sequence
        base_ext = self._base_ext
        if base_ext is None:
            self._start(seq)
            self._count(seq, packet.timestamp, arrival_time)
            return True
        max_ext = self._max_ext
        udelta = (seq - max_ext) & _SEQ_MASK
        if udelta < MAX_DROPOUT:
            ext = max_ext + udelta
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                # A big jump: wait for the next packet to confirm it (RFC 3550 A.1).
                self._bad_seq = (seq + 1) & _SEQ_MASK
                return True
            self._lost_before += self.expected - self._unique
            self.sequence_restarts += 1
            logger.info("stream %s: RTP sequence restarted at %d", self.stream_id, seq)
            self._reset_sequence()
            self._start(seq)
            self._count(seq, packet.timestamp, arrival_time)
            return True
        else:
            ext = max_ext - (RTP_SEQ_MOD - udelta)
        seen = self._seen
        slot = ext % DUPLICATE_WINDOW
        if seen[slot] == ext:
            self.duplicates += 1
            return True
        if ext > max_ext:
            self._max_ext = ext
        else:
            self.reordered += 1
            if ext < base_ext:
                self._base_ext = ext
        self._bad_seq = None
        # _count(), inline: this is the path of nearly every packet.
        seen[slot] = ext
        self._unique += 1
        timestamp = packet.timestamp
        prev_arrival = self._prev_arrival
        if prev_arrival is not None:
            sent = ((timestamp - self._prev_timestamp + _TS_HALF) % _TS_MOD) - _TS_HALF
            self.jitter += (abs((arrival_time - prev_arrival) * self._clock_rate - sent) - self.jitter) * JITTER_GAIN
        self._prev_arrival = arrival_time
        self._prev_timestamp = timestamp
        return True

    def snapshot(self) -> StreamStatsSnapshot:
        return StreamStatsSnapshot(
            ssrc=self._ssrc, packets=self.packets, bytes=self.bytes, expected=self.expected, lost=self.lost,
            duplicates=self.duplicates, reordered=self.reordered, late=self.late, wrong_ssrc=self.wrong_ssrc,
            ssrc_mismatch=self.ssrc_mismatch, ssrc_changes=self.ssrc_changes,
            sequence_restarts=self.sequence_restarts, jitter=self.jitter, jitter_ms=self.jitter_ms,
        )

    def _start(self, seq: int) -> None:
        self._base_ext = seq
        self._max_ext = seq
        self._bad_seq = None

    def _count(self, ext: int, timestamp: int, arrival_time: float) -> None:
        self._seen[ext % DUPLICATE_WINDOW] = ext
        self._unique += 1
        prev_arrival = self._prev_arrival
        if prev_arrival is not None:
            # RFC 3550 A.8: D = (R_j - R_i) - (S_j - S_i), with the timestamp difference taken modulo 2^32.
            sent = ((timestamp - self._prev_timestamp + _TS_HALF) % _TS_MOD) - _TS_HALF
            transit_change = (arrival_time - prev_arrival) * self._clock_rate - sent
            self.jitter += (abs(transit_change) - self.jitter) * JITTER_GAIN
        self._prev_arrival = arrival_time
        self._prev_timestamp = timestamp

    def _admit_ssrc(self, ssrc: int) -> bool:
        """Decide about a packet whose SSRC is not the accepted one; True admits it (after re-locking)."""
        if self._ssrc is None:
            self._ssrc = ssrc
            if self._expected_ssrc is not None and ssrc != self._expected_ssrc:
                logger.warning("stream %s: device sends SSRC %s instead of %s; accepted (lock to first SSRC)",
                               self.stream_id, _format_ssrc(ssrc), _format_ssrc(self._expected_ssrc))
            return True
        self.wrong_ssrc += 1
        self._wrong_run += 1
        self._wrong_same_run = self._wrong_same_run + 1 if ssrc == self._wrong_seen else 1
        self._wrong_seen = ssrc
        if self._lock_to_first and self._wrong_same_run >= self._mismatch_after:
            logger.warning("stream %s: SSRC changed from %s to %s; re-locked", self.stream_id,
                           _format_ssrc(self._ssrc), _format_ssrc(ssrc))
            self._ssrc = ssrc
            self.ssrc_changes += 1
            self._lost_before += self.expected - self._unique
            self._reset_sequence()
            return True
        if self._wrong_run >= self._mismatch_after and not self._mismatch_logged:
            self._mismatch_logged = True
            logger.warning("stream %s: %s", self.stream_id, self.ssrc_mismatch_message)
        return False


def _format_ssrc(ssrc: int | None) -> str:
    """GB/T 28181 writes SSRCs as 10 decimal digits (`y=0340200001`); show them the same way."""
    return "none" if ssrc is None else f"{ssrc:010d}"
