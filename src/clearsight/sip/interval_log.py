"""Warnings about floods, logged once per interval per key with a count of those held back in between."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 10_000  # keys remembered; the least recently logged are forgotten first


class IntervalLog:
    """`warning(key, ...)` logs the first time, then at most once per `interval` seconds for that key."""

    def __init__(self, logger: logging.Logger, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._max_keys = max_keys
        self._keys: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key → (logged at, held back)

    def warning(self, key: str, message: str, *args: object, now: float | None = None) -> bool:
        """Log now (True) or count it as held back (False); `now` on the clock's scale, default the clock."""
        now = self._clock() if now is None else now
        seen = self._keys.get(key)
        if seen is not None and now - seen[0] < self._interval:
            self._keys[key] = (seen[0], seen[1] + 1)
            return False
        held_back = seen[1] if seen is not None else 0
        suffix = f" ({held_back} more like it in the last {self._interval:.0f} s)" if held_back else ""
        self._logger.warning(message + suffix, *args)
        self._keys[key] = (now, 0)
        self._keys.move_to_end(key)
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        return True
