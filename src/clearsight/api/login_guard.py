"""Login throttling: failures counted per user name and per client address, then locked out with backoff.

The `LoginGuard` of `clearsight serve`. Within `window` seconds, the `user_failures`-th failed login for a user
name locks that name for `first_lockout` seconds, and every further failure doubles it up to `max_lockout`;
the same holds for a client address with `client_failures` (higher: many users may share a NAT or proxy).
While locked, `check` raises `LoginThrottled` before any password is verified (the API answers 429 with
Retry-After), and such refused attempts do not count. A success clears the user name's failures, and the
failures its address made against that user name — not those against other names, so one valid account
cannot launder a password spray.

State is in memory, per process, bounded to `max_tracked` names and addresses (oldest forgotten first).
A locked-out user name can be held locked by anyone who keeps failing it; `max_lockout` bounds that.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from clearsight.api.ports import LoginThrottled

logger = logging.getLogger(__name__)

MAX_TRACKED = 100_000  # user names and addresses remembered, each table
MAX_DOUBLINGS = 16  # bounds 2**n however many failures pile up


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    window: float = 900.0  # seconds a failure is remembered
    user_failures: int = 5  # failures of one user name within the window that lock it
    client_failures: int = 20  # failures from one address within the window that lock it
    first_lockout: float = 30.0  # seconds, at the locking failure; doubled by each further one
    max_lockout: float = 900.0

    def __post_init__(self) -> None:
        if min(self.user_failures, self.client_failures) < 1 or self.window <= 0:
            raise ValueError("a throttle needs failure limits >= 1 and a positive window")
        if not 0 < self.first_lockout <= self.max_lockout:
            raise ValueError("lockouts need 0 < first_lockout <= max_lockout")

    def lockout(self, failures: int, limit: int) -> float:
        """Seconds locked after the `failures`-th failure (0 below the limit)."""
        if failures < limit:
            return 0.0
        doublings: int = min(failures - limit, MAX_DOUBLINGS)
        return min(self.first_lockout * float(2**doublings), self.max_lockout)


@dataclass(slots=True)
class _Failures:
    recent: deque[tuple[float, str]] = field(default_factory=deque)  # (when, user name tried)
    locked_until: float = 0.0


class LoginThrottle:
    """Implements `api.ports.LoginGuard`."""

    def __init__(self, policy: ThrottlePolicy | None = None, *, clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = MAX_TRACKED) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._max_tracked = max_tracked
        self._users: OrderedDict[str, _Failures] = OrderedDict()
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    async def check(self, username: str, client: str | None) -> None:
        now = self._clock()
        wait = max(_locked_for(self._users.get(username), now), _locked_for(self._clients.get(client or ""), now))
        if wait > 0:
            raise LoginThrottled(username, math.ceil(wait))

    async def record(self, username: str, client: str | None, *, success: bool) -> None:
        now = self._clock()
        if success:
            self._users.pop(username, None)
            if client is not None and (failures := self._clients.get(client)) is not None:
                failures.recent = deque(item for item in failures.recent if item[1] != username)
            return
        self._fail(self._users, username, username, self.policy.user_failures, now)
        if client is not None:
            self._fail(self._clients, client, username, self.policy.client_failures, now)

    def _fail(self, table: OrderedDict[str, _Failures], key: str, username: str, limit: int, now: float) -> None:
        failures = table.get(key)
        if failures is None:
            failures = table[key] = _Failures()
        else:
            table.move_to_end(key)
        horizon = now - self.policy.window
        while failures.recent and failures.recent[0][0] <= horizon:
            failures.recent.popleft()
        failures.recent.append((now, username))
        lockout = self.policy.lockout(len(failures.recent), limit)
        if lockout > 0:
            failures.locked_until = max(failures.locked_until, now + lockout)
            logger.warning("login: %r locked for %.0f s after %d failures in %.0f s", key, lockout,
                           len(failures.recent), self.policy.window)
        while len(table) > self._max_tracked:
            table.popitem(last=False)


def _locked_for(failures: _Failures | None, now: float) -> float:
    return 0.0 if failures is None else max(0.0, failures.locked_until - now)
