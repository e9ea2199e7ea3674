"""RegisterLimiter: token bucket per source, 503 then silence, the brute-force block, bounded memory."""

from __future__ import annotations

import logging

import pytest

from clearsight.gb28181.register_limiter import (
    ANSWERED_REFUSALS,
    LOG_INTERVAL,
    MAX_BLOCK,
    LimitOutcome,
    RegisterLimiter,
    RegisterLimits,
)

NAT = "198.51.100.7"
OTHER = "203.0.113.9"


def outcomes(limiter: RegisterLimiter, host: str, count: int, now: float = 0.0) -> list[LimitOutcome]:
    return [limiter.check(host, now).outcome for _ in range(count)]


def test_default_burst_covers_500_devices_registering_at_once() -> None:
    limiter = RegisterLimiter()
    # 500 devices behind one NAT address restart together: a challenge and a digest REGISTER each.
    assert set(outcomes(limiter, NAT, 1000)) == {LimitOutcome.ALLOW}


def test_default_rate_sustains_500_devices_at_the_shortest_expires() -> None:
    limiter = RegisterLimiter()
    now = 0.0
    refused = 0
    # 500 devices × 2 REGISTERs every 60 s (the minimum Expires), for an hour, spread evenly.
    for _ in range(60):
        for i in range(1000):
            refused += limiter.check(NAT, now + i * 0.06).outcome is not LimitOutcome.ALLOW
        now += 60.0
    assert refused == 0


def test_over_the_rate_is_answered_503_with_retry_after_then_dropped() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=2.0, burst=3))
    assert outcomes(limiter, NAT, 3) == [LimitOutcome.ALLOW] * 3
    verdict = limiter.check(NAT, 0.0)
    assert verdict.outcome is LimitOutcome.REFUSE and verdict.retry_after == 1 and not verdict.blocked
    rest = outcomes(limiter, NAT, 100)
    answered = rest.count(LimitOutcome.REFUSE)
    assert answered == int(ANSWERED_REFUSALS) - 1  # the answer budget, then silence
    assert rest[answered:] == [LimitOutcome.DROP] * (100 - answered)
    assert limiter.counts.limited_answered == ANSWERED_REFUSALS and limiter.counts.limited_dropped == 100 - answered


def test_tokens_come_back_at_the_rate() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=2.0, burst=3))
    outcomes(limiter, NAT, 3)
    assert limiter.check(NAT, 0.1).outcome is LimitOutcome.REFUSE
    assert limiter.check(NAT, 0.6).outcome is LimitOutcome.ALLOW  # 0.5 s × 2/s = one token
    assert limiter.check(NAT, 0.6).outcome is LimitOutcome.REFUSE
    assert outcomes(limiter, NAT, 3, now=100.0) == [LimitOutcome.ALLOW] * 3  # refilled to the burst, no more
    assert limiter.check(NAT, 100.0).outcome is LimitOutcome.REFUSE


def test_sources_are_limited_separately() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=1.0, burst=2))
    assert outcomes(limiter, NAT, 10)[2:] != [LimitOutcome.ALLOW] * 8
    assert outcomes(limiter, OTHER, 2) == [LimitOutcome.ALLOW] * 2


def test_retry_after_says_when_a_token_is_back() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=0.1, burst=1))
    limiter.check(NAT, 0.0)
    assert limiter.check(NAT, 0.0).retry_after == 10


def test_failed_authentications_block_the_source_then_double() -> None:
    limits = RegisterLimits(max_failures=5, failure_window=60.0, block_seconds=30.0)
    limiter = RegisterLimiter(limits)
    assert [limiter.auth_failed(NAT, float(t)) for t in range(5)] == [False] * 4 + [True]
    verdict = limiter.check(NAT, 5.0)
    assert verdict.outcome is LimitOutcome.REFUSE and verdict.blocked and verdict.retry_after == 29
    assert limiter.check(OTHER, 5.0).outcome is LimitOutcome.ALLOW  # only that source
    assert limiter.check(NAT, 34.5).outcome is LimitOutcome.ALLOW  # the block is over
    # Failing again right after: the second block lasts twice as long.
    assert [limiter.auth_failed(NAT, 35.0 + t) for t in range(5)][-1] is True
    assert limiter.blocked_for(NAT, 39.0) == pytest.approx(60.0)
    assert limiter.counts.blocks == 2 and limiter.counts.auth_failures == 10


def test_failures_outside_the_window_are_forgotten() -> None:
    limiter = RegisterLimiter(RegisterLimits(max_failures=3, failure_window=10.0))
    for t in (0.0, 20.0, 40.0, 60.0, 80.0):  # a misconfigured device retrying every 20 s
        assert limiter.auth_failed(NAT, t) is False
    assert limiter.check(NAT, 81.0).outcome is LimitOutcome.ALLOW


def test_blocks_never_exceed_a_day() -> None:
    limiter = RegisterLimiter(RegisterLimits(max_failures=1, failure_window=MAX_BLOCK * 4, block_seconds=3600.0))
    now = 0.0
    for _ in range(20):
        limiter.auth_failed(NAT, now)
        now += limiter.blocked_for(NAT, now) + 1.0
        limiter.check(NAT, now)
    limiter.auth_failed(NAT, now)
    assert limiter.blocked_for(NAT, now) == MAX_BLOCK


def test_exempt_networks_are_never_limited_or_blocked() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=1.0, burst=1, max_failures=1, exempt=("198.51.100.0/24",)))
    assert limiter.auth_failed(NAT, 0.0) is False
    assert outcomes(limiter, NAT, 50) == [LimitOutcome.ALLOW] * 50
    assert limiter.check(OTHER, 0.0).outcome is LimitOutcome.ALLOW
    assert limiter.check(OTHER, 0.0).outcome is LimitOutcome.REFUSE
    with pytest.raises(ValueError, match="does not appear to be"):
        RegisterLimits(exempt=("not-a-network",))


def test_zero_rate_and_failures_turn_the_limits_off() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=0, max_failures=0))
    assert set(outcomes(limiter, NAT, 5000)) == {LimitOutcome.ALLOW}
    assert limiter.auth_failed(NAT, 0.0) is False
    assert len(limiter) == 0


def test_memory_is_bounded_and_idle_sources_are_swept() -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=10.0, burst=5, max_sources=100, failure_window=10.0))
    for i in range(1000):
        limiter.check(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(limiter) == 100
    limiter.auth_failed(NAT, 0.0)
    assert limiter.sweep(0.0) == 0  # nobody has refilled yet
    assert limiter.sweep(1.0) == 99  # NAT pushed the oldest out; the rest refilled; NAT's failure still counts
    assert list(limiter.sources()) == [NAT]
    assert limiter.sweep(11.0) == 1


def test_refusals_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RegisterLimiter(RegisterLimits(rate=1.0, burst=1))
    with caplog.at_level(logging.WARNING, logger="clearsight.gb28181.register_limiter"):
        outcomes(limiter, NAT, 500, now=0.0)
        outcomes(limiter, NAT, 500, now=LOG_INTERVAL / 2)
        assert len(caplog.records) == 1
        limiter.check(NAT, LOG_INTERVAL + 1)
        limiter.check(NAT, LOG_INTERVAL + 1)
    assert len(caplog.records) == 2
    assert "more like it" in caplog.records[1].getMessage() and NAT in caplog.records[1].getMessage()
