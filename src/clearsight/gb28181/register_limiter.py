"""REGISTER rate limiting and the brute-force guard, per source address (pure: the caller passes the time).

Each source IP has a token bucket of `burst` REGISTERs refilled at `rate` per second. A REGISTER without a
token is refused: answered `503` with `Retry-After` while the source's answer budget lasts (ANSWERED_REFUSALS
per second, a bucket of its own), then dropped without an answer. Failed digest authentications are counted
per source within `failure_window` seconds; the `max_failures`-th blocks the source for `block_seconds`
(doubled by each block that follows within the window of the last, up to MAX_BLOCK), during which every
REGISTER from it is refused the same way.

Why the defaults do not bother real devices: a registration costs two REGISTERs (challenge, then digest)
once per Expires (3600 s by default, at least 60 s). An NVR re-registering needs 2 per hour. A site of 500
devices behind one NAT address that all restart at once needs 1,000 at once (the default burst) and, even
at the shortest Expires of 60 s, 500 × 2 / 60 ≈ 17 per second sustained (the default rate is 20). A device
with a wrong password fails once per retry (typically every 30-60 s); the default of 100 failures within
300 s is one every 3 s sustained, which only guessing produces. Docs: docs/sip-security.md.

Memory is bounded: sources are kept in least-recently-seen order, those back to a full bucket with no
recent failure and no block are forgotten by `sweep`, and beyond `max_sources` the least recently seen
are forgotten first.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from clearsight.sip.interval_log import IntervalLog

logger = logging.getLogger(__name__)

DEFAULT_RATE = 20.0  # REGISTERs per second per source, sustained
DEFAULT_BURST = 1000  # REGISTERs per source at once: 500 devices' challenge and digest round
DEFAULT_MAX_FAILURES = 100  # failed digest authentications per source within the window that block it
DEFAULT_FAILURE_WINDOW = 300.0  # seconds a failure is remembered
DEFAULT_BLOCK_SECONDS = 600.0  # the first block; later ones double
MAX_BLOCK = 86400.0  # however often a source is blocked again
MAX_BLOCK_DOUBLINGS = 16
ANSWERED_REFUSALS = 10.0  # refusals per second and source answered with 503; beyond, dropped
DEFAULT_MAX_SOURCES = 50_000  # sources tracked at once
LOG_INTERVAL = 60.0  # a refused source is logged at most once per this many seconds


class LimitOutcome(StrEnum):
    ALLOW = "allow"
    REFUSE = "refuse"  # answer 503 with Retry-After
    DROP = "drop"  # send nothing


@dataclass(frozen=True, slots=True)
class LimitVerdict:
    outcome: LimitOutcome
    retry_after: int = 0  # seconds, for REFUSE
    blocked: bool = False  # refused because the source is blocked after failed authentications


ALLOWED = LimitVerdict(LimitOutcome.ALLOW)


@dataclass(frozen=True, slots=True)
class RegisterLimits:
    rate: float = DEFAULT_RATE  # 0: no rate limit
    burst: int = DEFAULT_BURST
    max_failures: int = DEFAULT_MAX_FAILURES  # 0: no brute-force guard
    failure_window: float = DEFAULT_FAILURE_WINDOW
    block_seconds: float = DEFAULT_BLOCK_SECONDS
    max_sources: int = DEFAULT_MAX_SOURCES
    exempt: tuple[str, ...] = ()  # networks (CIDR) never limited, e.g. a trusted site's NAT address

    def __post_init__(self) -> None:
        if self.rate < 0 or self.burst < 1 or self.max_failures < 0 or self.max_sources < 1:
            raise ValueError("limits need rate >= 0, burst >= 1, max_failures >= 0, max_sources >= 1")
        if self.failure_window <= 0 or self.block_seconds <= 0:
            raise ValueError("the failure window and block must be positive")
        for network in self.exempt:
            ipaddress.ip_network(network, strict=False)  # raises ValueError naming the bad one


@dataclass(slots=True)
class LimiterCounts:
    """Totals since start, read by the metrics collector."""

    limited_answered: int = 0  # over the rate, answered 503
    limited_dropped: int = 0  # over the rate and the answer budget, dropped
    blocked_answered: int = 0  # from a blocked source, answered 503
    blocked_dropped: int = 0
    auth_failures: int = 0
    blocks: int = 0  # times a source was blocked


@dataclass(slots=True)
class _Source:
    tokens: float
    answers: float
    updated_at: float
    failures: deque[float] = field(default_factory=deque)  # times, oldest first, within the window
    blocked_until: float = 0.0
    last_block_at: float | None = None
    block_count: int = 0


class RegisterLimiter:
    """Decides per REGISTER whether its source may be served; `now` is a monotonic time in seconds."""

    def __init__(self, limits: RegisterLimits | None = None) -> None:
        self.limits = limits or RegisterLimits()
        self.counts = LimiterCounts()
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self._exempt = [ipaddress.ip_network(n, strict=False) for n in self.limits.exempt]
        self._refusal_log = IntervalLog(logger, LOG_INTERVAL)

    def __len__(self) -> int:
        return len(self._sources)

    def is_exempt(self, host: str) -> bool:
        if not self._exempt:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._exempt)

    def check(self, host: str, now: float) -> LimitVerdict:
        """One REGISTER from `host`: take a token, or refuse (503) or drop it."""
        limits = self.limits
        if (limits.rate == 0 and limits.max_failures == 0) or self.is_exempt(host):
            return ALLOWED
        source = self._source(host, now)
        if source.blocked_until > now:
            return self._refuse(host, source, now, math.ceil(source.blocked_until - now), blocked=True)
        if limits.rate == 0 or source.tokens >= 1.0:
            source.tokens -= 1.0 if limits.rate else 0.0
            return ALLOWED
        return self._refuse(host, source, now, math.ceil((1.0 - source.tokens) / limits.rate), blocked=False)

    def auth_failed(self, host: str, now: float) -> bool:
        """A digest authentication from `host` failed; True when this blocks the source."""
        self.counts.auth_failures += 1
        limits = self.limits
        if limits.max_failures == 0 or self.is_exempt(host):
            return False
        source = self._source(host, now)
        horizon = now - limits.failure_window
        failures = source.failures
        while failures and failures[0] <= horizon:
            failures.popleft()
        failures.append(now)
        if len(failures) < limits.max_failures or source.blocked_until > now:
            return False
        # Blocked again soon after the last block ended: twice as long.
        recent = source.last_block_at is not None and now - source.blocked_until <= limits.failure_window
        source.block_count = min(source.block_count + 1, MAX_BLOCK_DOUBLINGS) if recent else 1
        seconds = min(limits.block_seconds * 2 ** (source.block_count - 1), MAX_BLOCK)
        source.blocked_until = now + seconds
        source.last_block_at = now
        failures.clear()
        self.counts.blocks += 1
        logger.warning("SIP source %s blocked for %.0f s after %d failed digest authentications in %.0f s",
                       host, seconds, limits.max_failures, limits.failure_window)
        return True

    def blocked_for(self, host: str, now: float) -> float:
        source = self._sources.get(host)
        return 0.0 if source is None else max(0.0, source.blocked_until - now)

    def sweep(self, now: float) -> int:
        """Forget sources with nothing to remember (full bucket, no failure in the window, no block)."""
        forgotten = 0
        while self._sources:
            host, source = next(iter(self._sources.items()))
            self._refill(source, now)
            idle = (source.tokens >= self.limits.burst and source.blocked_until <= now
                    and (not source.failures or source.failures[-1] <= now - self.limits.failure_window)
                    and (source.last_block_at is None
                         or now - source.blocked_until > self.limits.failure_window))
            if not idle:
                break  # least recently seen first: the rest were seen later
            del self._sources[host]
            forgotten += 1
        return forgotten

    def sources(self) -> Iterable[str]:
        return iter(self._sources)

    # ---------------------------------------------------------------------------------------------

    def _source(self, host: str, now: float) -> _Source:
        source = self._sources.get(host)
        if source is None:
            source = self._sources[host] = _Source(float(self.limits.burst), ANSWERED_REFUSALS, now)
            while len(self._sources) > self.limits.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(host)
            self._refill(source, now)
        return source

    def _refill(self, source: _Source, now: float) -> None:
        elapsed = max(0.0, now - source.updated_at)
        source.tokens = min(float(self.limits.burst), source.tokens + elapsed * self.limits.rate)
        source.answers = min(ANSWERED_REFUSALS, source.answers + elapsed * ANSWERED_REFUSALS)
        source.updated_at = now

    def _refuse(self, host: str, source: _Source, now: float, retry_after: int, *, blocked: bool) -> LimitVerdict:
        answered = source.answers >= 1.0
        if answered:
            source.answers -= 1.0
        counts = self.counts
        if blocked:
            counts.blocked_answered += answered
            counts.blocked_dropped += not answered
        else:
            counts.limited_answered += answered
            counts.limited_dropped += not answered
        self._log_refusal(host, now, blocked=blocked)
        if not answered:
            return LimitVerdict(LimitOutcome.DROP, blocked=blocked)
        return LimitVerdict(LimitOutcome.REFUSE, retry_after=max(1, retry_after), blocked=blocked)

    def _log_refusal(self, host: str, now: float, *, blocked: bool) -> None:
        why = "is blocked after failed digest authentications" if blocked else (
            f"exceeds {self.limits.rate:g} REGISTER/s (burst {self.limits.burst})")
        self._refusal_log.warning(host, "SIP source %s %s: REGISTER refused (503, dropped beyond %g/s)", host, why,
                                  ANSWERED_REFUSALS, now=now)
