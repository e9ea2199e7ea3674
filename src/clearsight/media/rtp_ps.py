"""MPEG-PS over RTP (GB/T 28181): the payloads of one frame gathered and fed to `PsDemuxer` in one piece.

A device cuts each frame's PS bytes into RTP payloads that share the frame's timestamp, and sets the marker
bit on its last packet. `PsRtpDecoder` keeps the payloads of the frame in progress (views of the datagrams,
not copies) and feeds them to the demuxer at the marker, telling it that the frame is complete: the frame
comes out at once, not when the next frame's PES arrives (one frame interval later), and the demuxer parses
each PES header once per frame, not once per packet.

Devices are not believed blindly:
- Markers are trusted once MARKERS_TRUSTED_AFTER marker packets in a row were followed by a new timestamp,
  and never again after a marker is followed by the same timestamp (a device that marks the end of each PES,
  or every packet). Until then, and for senders without markers, a frame's payloads are fed when the
  timestamp changes, together with the first payload of the next frame, and the demuxer's own rule ends the
  frame as soon as that PES header with a new PTS is in: a frame interval later than at a marker, but still
  a frame at a time.
- A frame whose payloads pass MAX_PENDING_PAYLOADS is fed without waiting for its end (a device whose
  timestamp never changes).
- A sequence gap (a packet lost, or given up on by the reorder buffer) damages the frame it falls in. Its
  payloads are dropped, the demuxer drops what it holds of it and resynchronises
  (`PsDemuxer.discontinuity`), and the packets after the gap are dropped until the next frame begins: a new
  timestamp, or at once if the first packet after the gap has a new timestamp and starts with a pack
  header (only whole frames, or the tail of the previous one, were lost). So a loss costs whole frames,
  never a frame with a hole in it.
"""

from __future__ import annotations

from clearsight.media.es import EsFrame
from clearsight.media.ps_demux import PACK_START_CODE, START_CODE_PREFIX, PsDemuxer, PsDemuxStats
from clearsight.media.rtp import RTP_SEQ_MOD, RtpPacket

MARKERS_TRUSTED_AFTER = 2  # frames whose marker was followed by a new timestamp before markers end frames
MAX_PENDING_PAYLOADS = 1024  # ~1.4 MB of 1,400-byte payloads: fed without waiting for the frame's end
PACK_START = START_CODE_PREFIX + bytes((PACK_START_CODE,))  # 13818-1 §2.5.3.3: a pack (and here a frame) begins

_SEQ_MASK = RTP_SEQ_MOD - 1


class PsRtpDecoder:
    """Released RTP packets of a PS stream in sequence order; `EsFrame`s out. See the module docstring."""

    __slots__ = ("_confirmed", "_damaged", "_marked", "_next_sequence", "_pending", "_timestamp", "_trusted",
                 "_untrusted", "demuxer")

    def __init__(self, label: str = "") -> None:
        self.demuxer = PsDemuxer(label=label)
        self._pending: list[bytes | memoryview] = []  # payloads of the frame in progress, not fed yet
        self._timestamp: int | None = None  # RTP timestamp of the frame in progress
        self._next_sequence: int | None = None
        self._marked = False  # the last packet taken had the marker bit
        self._confirmed = 0  # markers followed by a new timestamp, in a row
        self._trusted = False  # markers end frames
        self._untrusted = False  # a marker came inside a frame: never trusted again
        self._damaged: int | None = None  # RTP timestamp of a frame hit by a loss: its packets are dropped

    @property
    def stats(self) -> PsDemuxStats:
        return self.demuxer.stats

    @property
    def markers_trusted(self) -> bool:
        return self._trusted

    def push(self, packet: RtpPacket) -> None:
        sequence = packet.sequence
        if sequence != self._next_sequence and self._next_sequence is not None:
            self._lose(packet)
        self._next_sequence = (sequence + 1) & _SEQ_MASK
        timestamp = packet.timestamp
        if self._damaged is not None:
            if timestamp == self._damaged:
                self.demuxer.stats.bytes_skipped += len(packet.payload)
                return
            self._damaged = None
        pending = self._pending
        if timestamp != self._timestamp:
            self._timestamp = timestamp
            if self._marked:
                self._confirm_marker()
            elif pending:
                self._confirmed = 0
            if pending:
                # The frame before went unmarked (or markers are not trusted yet): it goes in with this first
                # payload of the next frame, whose PES tells the demuxer that it has ended.
                pending.append(packet.payload)
                self._marked = packet.marker
                self._feed(frame_end=packet.marker and self._trusted)
                return
        elif self._marked:
            self._distrust_markers()
        pending.append(packet.payload)
        self._marked = marker = packet.marker
        if marker and self._trusted:
            self._feed(frame_end=True)
        elif len(pending) >= MAX_PENDING_PAYLOADS:
            self._feed(frame_end=False)

    def next_frame(self) -> EsFrame | None:
        return self.demuxer.next_frame()

    def _feed(self, *, frame_end: bool) -> None:
        pending, self._pending = self._pending, []
        self.demuxer.feed(pending[0] if len(pending) == 1 else b"".join(pending), frame_end=frame_end)

    def _confirm_marker(self) -> None:
        self._confirmed += 1
        if self._confirmed >= MARKERS_TRUSTED_AFTER and not self._untrusted:
            self._trusted = True

    def _distrust_markers(self) -> None:
        self._untrusted = True
        self._trusted = False
        self._confirmed = 0

    def _lose(self, packet: RtpPacket) -> None:
        """Packets before `packet` were lost: drop the frame they belonged to, and this one if it is hit."""
        stats = self.demuxer.stats
        dropped_before = stats.frames_dropped
        pending, self._pending = self._pending, []
        stats.bytes_skipped += sum(len(payload) for payload in pending)
        self.demuxer.discontinuity()
        if pending and stats.frames_dropped == dropped_before:
            stats.frames_dropped += 1  # the frame in progress was all still here, none of it in the demuxer
        previous_counted = stats.frames_dropped > dropped_before
        self._marked = False  # a marker before the gap says nothing about the packets after it
        self._confirmed = 0
        timestamp = packet.timestamp
        if timestamp == self._timestamp:
            self._damaged = timestamp
            if not previous_counted:
                stats.frames_dropped += 1
        elif packet.payload[:4] != PACK_START:
            self._damaged = timestamp  # its first packets may be among those lost
            stats.frames_dropped += 1
