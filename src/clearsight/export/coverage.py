"""Which part of an export's range the exported frames cover, and where the gaps are.

Frames are fed in order as (time, duration) in ticks from the export's start. Time not shown by any frame
for longer than `GAP_TOLERANCE` is a gap; gaps are clipped to the export's range [0, length).
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.export.records import TICKS_PER_SECOND, Tick

# Missing picture for longer than this is a gap: above a 1 fps camera's frame interval and the jitter of
# timestamps repaired by the fragmenter, well below anything an investigator would call continuous.
GAP_TOLERANCE: Tick = TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Span:
    start: Tick
    end: Tick

    @property
    def length(self) -> Tick:
        return self.end - self.start


class CoverageTracker:
    """Frames in, covered span and gaps out."""

    __slots__ = ("_cursor", "_first", "_gaps", "_length", "tolerance")

    def __init__(self, length: Tick, *, tolerance: Tick = GAP_TOLERANCE) -> None:
        self._length = length
        self.tolerance = tolerance
        self._cursor: Tick = 0  # the end of what is shown so far
        self._first: Tick | None = None
        self._gaps: list[Span] = []

    def add(self, time: Tick, duration: Tick) -> None:
        if self._first is None:
            self._first = time
        self._note_gap(self._cursor, time)
        self._cursor = max(self._cursor, time + max(0, duration))

    @property
    def covered(self) -> Span | None:
        """From the first frame to the end of the last one (the first may lie before the range: a keyframe)."""
        if self._first is None:
            return None
        return Span(self._first, self._cursor)

    def gaps(self) -> list[Span]:
        """Gaps so far, plus the one from the last frame to the end of the range."""
        gaps = list(self._gaps)
        end = min(self._length, max(self._cursor, 0))
        if self._length - end > self.tolerance:
            gaps.append(Span(end, self._length))
        return gaps

    def _note_gap(self, shown_until: Tick, next_time: Tick) -> None:
        start, end = max(0, shown_until), min(self._length, next_time)
        if end - start > self.tolerance:
            self._gaps.append(Span(start, end))


def gaps_within(gaps: list[Span], span: Span) -> list[Span]:
    """The parts of `gaps` inside `span`."""
    inside = [Span(max(g.start, span.start), min(g.end, span.end)) for g in gaps]
    return [g for g in inside if g.length > 0]
