"""Holding export builds back, so a test can look at (or change) the platform while exports wait."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from clearsight.export import runner as runner_module


def hold_builds(monkeypatch: pytest.MonkeyPatch, timeout: float) -> threading.Event:
    """Every build waits (at most `timeout` s) until the returned event is set, then runs as usual."""
    release = threading.Event()
    real = runner_module.build_package

    def held_build(*args: Any) -> Any:
        release.wait(timeout)
        return real(*args)

    monkeypatch.setattr(runner_module, "build_package", held_build)
    return release
