"""Process-wide runtime tuning shared by `serve`, `sim` and the benchmarks."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

# CPython's default first-generation threshold (700 allocations) makes a process holding state for
# 100,000 devices run full collections over millions of long-lived objects, stalling the event loop for
# hundreds of milliseconds. Collect young objects less often; long-lived state is frozen after start-up.
GC_THRESHOLDS = (50_000, 20, 100)
# A collection pausing the loop longer than this is logged.
GC_PAUSE_WARNING = 0.1

_gc_started: float = 0.0


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    if _log_slow_collections not in gc.callbacks:
        gc.callbacks.append(_log_slow_collections)


def freeze_long_lived() -> None:
    """Move everything alive now (modules, settings, registered devices) out of the collector's sight."""
    gc.collect()
    gc.freeze()


def _log_slow_collections(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.thread_time()
        return
    paused = time.thread_time() - _gc_started
    if paused >= GC_PAUSE_WARNING:
        logger.warning("garbage collection of generation %s paused the process %.0f ms (%s objects collected)",
                       info.get("generation"), 1000 * paused, info.get("collected"))
