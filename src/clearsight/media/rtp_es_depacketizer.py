"""Access units from H.264/H.265 carried directly in RTP (RFC 6184, RFC 7798), sans-I/O.

Some GB/T 28181 devices send elementary video in RTP (payload type 98 H264 or 99 H265) instead of a PS.
`RtpEsDepacketizer` takes the RTP packets of one stream in sequence order (after the reorder buffer) and
returns `EsFrame`s: one access unit each, Annex-B bytes, the RTP timestamp (90 kHz, RFC 6184 §8.2.1 and
RFC 7798 §7.1) extended past its 32-bit wrap as the PTS. The codec modules (`rtp_h264`, `rtp_h265`) split
each payload into NAL units and fragments; reassembly, frame boundaries and loss are handled here:

- An access unit ends at the packet with the marker bit (its last packet, RFC 6184 §5.1) or, for senders
  that do not set it, when the timestamp changes.
- A unit without a slice (parameter sets or SEI sent on their own) is carried into the next one, so that
  a keyframe always has its parameter sets in front. A random-access unit without any parameter set gets
  the last ones seen (or those given with `remember_parameter_sets`, from the SDP's sprop-*) put in front.
- A sequence-number gap drops the fragmented NAL unit in progress (RFC 6184 §5.8: its fragments cannot be
  reassembled) and marks the unit in progress incomplete; so does a fragment without its start. A unit
  whose first slice is not the first of its picture lost its beginning. Incomplete units are dropped and
  counted, never delivered: the decoder resumes at the next good frame.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from clearsight.media.es import VIDEO_STREAM_IDS, Codec, EsFrame, is_keyframe
from clearsight.media.rtp import RTP_SEQ_MOD, RtpPacket

logger = logging.getLogger(__name__)

ANNEX_B_START_CODE = b"\x00\x00\x00\x01"  # H.264/H.265 Annex B: zero_byte + start_code_prefix_one_3bytes
VIDEO_STREAM_ID = VIDEO_STREAM_IDS.start  # EsFrame.stream_id of the one video stream, as a PS would name it
MAX_FRAME_BYTES = 4 * 1024 * 1024  # an access unit past this is dropped
MAX_CARRIED_NALS = 16  # NAL units without a slice carried into the next unit; older ones are dropped
MAX_NAL_HEADS = 64  # NAL unit headers looked at per frame for the keyframe flag
RTP_TIMESTAMP_MOD = 1 << 32  # RFC 3550 §5.1: the timestamp is 32 bits
PTS_MOD = 1 << 33  # 13818-1: PTS counts 33 bits, as EsFrame.pts does for PS and TS


class PayloadError(ValueError):
    """A payload breaks the structure its RFC gives it; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedPacket(PayloadError):
    """A packet type of a mode not supported here (interleaved mode, PACI)."""


@dataclass(frozen=True, slots=True)
class NalFragment:
    """One fragmentation unit: `header` is the fragmented NAL unit's own header, `data` this piece of the rest."""

    start: bool
    end: bool
    header: bytes
    data: bytes


PayloadItem = bytes | NalFragment


@dataclass(slots=True)
class DepacketizerStats:
    packets: int = 0  # RTP packets pushed
    frames: int = 0  # access units returned
    frames_dropped: int = 0  # access units dropped incomplete (loss, broken fragments, malformed packets)
    lost_packets: int = 0  # sequence numbers skipped
    fragments_dropped: int = 0  # fragmented NAL units that could not be reassembled
    malformed: int = 0  # payloads not matching their RFC's structure
    unsupported: int = 0  # packets of interleaved mode (STAP-B, MTAP, FU-B) or PACI
    parameter_sets_inserted: int = 0  # random-access units given the parameter sets last seen
    overflows: int = 0  # access units past the size cap


@dataclass(slots=True)
class _Unit:
    timestamp: int
    nals: list[bytes] = field(default_factory=list)
    size: int = 0
    damaged: bool = False
    has_vcl: bool = False
    starts_picture: bool = False  # its first slice is the first of a picture


def split_aggregate(payload: bytes, offset: int) -> list[bytes]:
    """NAL units of a STAP-A / AP body: 16-bit size then the unit, from `offset` to exactly the payload end."""
    nals: list[bytes] = []
    size = len(payload)
    while offset < size:
        if offset + 2 > size:
            raise PayloadError("aggregation packet ends inside a NAL unit size")
        unit_size = payload[offset] << 8 | payload[offset + 1]
        start, offset = offset + 2, offset + 2 + unit_size
        if not unit_size or offset > size:
            raise PayloadError(f"aggregated NAL unit of {unit_size} bytes does not fit the packet")
        nals.append(payload[start:offset])
    if not nals:
        raise PayloadError("aggregation packet without NAL units")
    return nals


class RtpEsDepacketizer:
    """Push RTP packets in sequence order; take `EsFrame`s with `next_frame()`. `flush()` at the end of stream."""

    codec: ClassVar[Codec]
    header_size: ClassVar[int]  # bytes of a NAL unit header
    parameter_set_types: ClassVar[frozenset[int]]

    def __init__(self, *, label: str = "", max_frame: int = MAX_FRAME_BYTES) -> None:
        self.stats = DepacketizerStats()
        self._label = label
        self._max_frame = max_frame
        self._frames: deque[EsFrame] = deque()
        self._unit: _Unit | None = None
        self._fragment: list[bytes] | None = None  # the fragmented NAL unit in progress: header, then pieces
        self._fragment_size = 0
        self._skipping_fragment = False  # the rest of a broken fragmented NAL unit: already counted
        self._carried: list[bytes] = []
        self._parameter_sets: list[bytes] = []
        self._last_sequence: int | None = None
        self._last_timestamp: int | None = None
        self._extended_timestamp = 0
        self._warned: set[str] = set()

    # --- what each codec says ---

    def split_payload(self, payload: bytes) -> Sequence[PayloadItem]:
        """The NAL units and fragments of one payload; raises PayloadError."""
        raise NotImplementedError

    def nal_type(self, nal: bytes) -> int:
        raise NotImplementedError

    def is_vcl(self, nal_type: int) -> bool:
        raise NotImplementedError

    def is_random_access(self, nal_type: int) -> bool:
        raise NotImplementedError

    def first_slice_of_picture(self, nal: bytes) -> bool:
        raise NotImplementedError

    # --- input and output ---

    def remember_parameter_sets(self, nals: Iterable[bytes]) -> None:
        """Parameter sets known out of band (the SDP's sprop-parameter-sets / sprop-vps, -sps, -pps)."""
        known = [nal for nal in nals if nal and self.nal_type(nal) in self.parameter_set_types]
        if known:
            self._parameter_sets = known

    def push(self, packet: RtpPacket) -> None:
        self.stats.packets += 1
        sequence = packet.sequence
        if self._last_sequence is not None and sequence != (self._last_sequence + 1) % RTP_SEQ_MOD:
            # Input is in order: any other number means packets were lost (or the sender restarted).
            self.stats.lost_packets += max(0, (sequence - self._last_sequence - 1) % RTP_SEQ_MOD)
            self._on_loss()
        self._last_sequence = sequence
        unit = self._unit
        if unit is not None and packet.timestamp != unit.timestamp:
            self._close_unit()
            unit = None
        if unit is None:
            unit = self._unit = _Unit(packet.timestamp)
        try:
            items = self.split_payload(bytes(packet.payload))
        except UnsupportedPacket as exc:
            self.stats.unsupported += 1
            self._warn("unsupported", "%s; its access unit is dropped", exc.reason)
            self._break_unit(unit)
            items = []
        except PayloadError as exc:
            self.stats.malformed += 1
            self._warn("malformed", "malformed payload (%s); its access unit is dropped", exc.reason)
            self._break_unit(unit)
            items = []
        for item in items:
            if isinstance(item, NalFragment):
                self._on_fragment(unit, item)
            else:
                if self._fragment is not None:
                    self._drop_fragment(unit)  # its end never came
                self._skipping_fragment = False
                self._add_nal(unit, item)
        if packet.marker:
            self._close_unit()

    def next_frame(self) -> EsFrame | None:
        return self._frames.popleft() if self._frames else None

    def frames(self) -> Iterator[EsFrame]:
        while self._frames:
            yield self._frames.popleft()

    def flush(self) -> None:
        """End of stream: the unit in progress is complete (if nothing of it is missing)."""
        self._close_unit()

    # --- reassembly ---

    def _on_loss(self) -> None:
        if self._unit is not None:
            self._break_unit(self._unit)

    def _break_unit(self, unit: _Unit) -> None:
        if self._fragment is not None:
            self._drop_fragment(unit)
        unit.damaged = True

    def _on_fragment(self, unit: _Unit, fragment: NalFragment) -> None:
        if fragment.start:
            if self._fragment is not None:
                self._drop_fragment(unit)  # a new one starts before the last one ended
            self._skipping_fragment = False
            if fragment.end:  # RFC 6184 §5.8 / RFC 7798 §4.4.3 forbid it; some senders do it anyway
                self._add_nal(unit, fragment.header + fragment.data)
                return
            self._fragment = [fragment.header, fragment.data]
            self._fragment_size = len(fragment.header) + len(fragment.data)
            return
        if self._fragment is None or self._fragment[0] != fragment.header:
            if self._fragment is not None:
                self._drop_fragment(unit)
            if not self._skipping_fragment:
                self.stats.fragments_dropped += 1
                self._warn("fragment", "fragment without its start; its access unit is dropped")
            self._skipping_fragment = not fragment.end
            unit.damaged = True
            return
        self._fragment.append(fragment.data)
        self._fragment_size += len(fragment.data)
        if unit.size + self._fragment_size > self._max_frame:
            self._overflow(unit)
        elif fragment.end:
            nal = b"".join(self._fragment)
            self._fragment = None
            self._add_nal(unit, nal)

    def _drop_fragment(self, unit: _Unit) -> None:
        self.stats.fragments_dropped += 1
        self._warn("fragment", "fragmented NAL unit incomplete; its access unit is dropped")
        self._fragment = None
        self._skipping_fragment = True
        unit.damaged = True

    def _add_nal(self, unit: _Unit, nal: bytes) -> None:
        if len(nal) < self.header_size:
            self.stats.malformed += 1
            unit.damaged = True
            return
        if unit.damaged:
            return
        if self.is_vcl(self.nal_type(nal)) and not unit.has_vcl:
            unit.has_vcl = True
            unit.starts_picture = self.first_slice_of_picture(nal)
        unit.nals.append(nal)
        unit.size += len(nal) + len(ANNEX_B_START_CODE)
        if unit.size > self._max_frame:
            self._overflow(unit)

    def _overflow(self, unit: _Unit) -> None:
        self.stats.overflows += 1
        self._warn("overflow", "access unit passed %d bytes; dropped", self._max_frame)
        self._fragment = None
        self._skipping_fragment = True
        unit.damaged = True
        unit.nals.clear()

    # --- frames ---

    def _close_unit(self) -> None:
        unit, self._unit = self._unit, None
        if unit is None:
            return
        if self._fragment is not None:
            self._drop_fragment(unit)  # the unit ended inside a fragmented NAL unit
        self._skipping_fragment = False
        if unit.damaged:
            self.stats.frames_dropped += 1
            return
        if not unit.has_vcl:
            self._carried = [*self._carried, *unit.nals][-MAX_CARRIED_NALS:]
            return
        if not unit.starts_picture:
            self.stats.frames_dropped += 1
            self._warn("head", "access unit without the first slice of its picture; dropped")
            return
        nals = [*self._carried, *unit.nals]
        self._carried = []
        types = [self.nal_type(nal) for nal in nals]
        parameter_sets = [nal for nal, t in zip(nals, types, strict=True) if t in self.parameter_set_types]
        if parameter_sets:
            self._parameter_sets = parameter_sets
        elif self._parameter_sets and any(self.is_random_access(t) for t in types):
            nals = [*self._parameter_sets, *nals]
            self.stats.parameter_sets_inserted += 1
        heads = [nal[:3] for nal in nals[:MAX_NAL_HEADS]]
        data = b"".join(ANNEX_B_START_CODE + nal for nal in nals)
        self.stats.frames += 1
        self._frames.append(EsFrame(VIDEO_STREAM_ID, self.codec, self._pts(unit.timestamp), None, data,
                                    is_keyframe(self.codec, heads)))

    def _pts(self, timestamp: int) -> int:
        """The RTP timestamp extended past its 32-bit wrap, as a 33-bit 90 kHz PTS."""
        if self._last_timestamp is None:
            self._extended_timestamp = timestamp
        else:
            step = (timestamp - self._last_timestamp) % RTP_TIMESTAMP_MOD
            self._extended_timestamp += step - RTP_TIMESTAMP_MOD if step >= RTP_TIMESTAMP_MOD // 2 else step
        self._last_timestamp = timestamp
        return self._extended_timestamp % PTS_MOD

    def _warn(self, kind: str, message: str, *args: object) -> None:
        """Warn the first time each kind of deviation shows up on this stream; later ones go to debug."""
        level = logging.DEBUG if kind in self._warned else logging.WARNING
        self._warned.add(kind)
        logger.log(level, "rtp %s %s: " + message, self.codec.value, self._label, *args)
