"""CoverageTracker: covered span and gaps from frame times, clipped to the range."""

from __future__ import annotations

from clearsight.export.coverage import CoverageTracker, Span

SECOND = 90_000
FRAME = SECOND // 10


def _track(length: int, times: list[int]) -> CoverageTracker:
    tracker = CoverageTracker(length)
    for time in times:
        tracker.add(time, FRAME)
    return tracker


def test_continuous_frames_cover_without_gaps() -> None:
    tracker = _track(10 * SECOND, [-3 * FRAME + i * FRAME for i in range(103)])
    assert tracker.covered == Span(-3 * FRAME, 10 * SECOND) and tracker.gaps() == []


def test_missing_picture_longer_than_the_tolerance_is_a_gap() -> None:
    times = [i * FRAME for i in range(20)] + [40 * FRAME + i * FRAME for i in range(60)]
    assert _track(10 * SECOND, times).gaps() == [Span(20 * FRAME, 40 * FRAME)]


def test_a_short_stall_is_not_a_gap() -> None:
    times = [i * FRAME for i in range(20)] + [29 * FRAME + i * FRAME for i in range(71)]
    assert _track(10 * SECOND, times).gaps() == []


def test_gaps_at_both_ends_are_clipped_to_the_range() -> None:
    assert _track(10 * SECOND, [3 * SECOND + i * FRAME for i in range(30)]).gaps() == \
        [Span(0, 3 * SECOND), Span(6 * SECOND, 10 * SECOND)]


def test_no_frames_is_one_gap_and_nothing_covered() -> None:
    tracker = CoverageTracker(5 * SECOND)
    assert tracker.covered is None and tracker.gaps() == [Span(0, 5 * SECOND)]
