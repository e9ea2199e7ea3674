"""Browser fixtures: Debian's Chromium driven by Playwright, and the stand-in platform."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.api.fakes import FakeControl, FakeRegistry
from tests.integration.processes import free_port
from tests.web.standin import (
    BEHAVIOUR,
    Live,
    StandInLog,
    StandInServer,
    build_app,
    standin_registry,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """JavaScript exceptions and console errors of a page (CSP violations are console errors)."""

    messages: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.messages.append(f"exception: {error}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, page_errors: PageErrors) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("console", page_errors.on_console)
    page.on("pageerror", page_errors.on_page_error)
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


@dataclass
class StandIn:
    base_url: str
    log: StandInLog
    control: FakeControl
    behaviour: dict[int, Live]
    registry: FakeRegistry


@pytest.fixture
def standin() -> Iterator[StandIn]:
    log, control, behaviour, registry = StandInLog(), FakeControl(), dict(BEHAVIOUR), standin_registry()
    server = StandInServer(build_app(log, control, behaviour, registry), free_port())
    server.start()
    try:
        yield StandIn(server.base_url, log, control, behaviour, registry)
    finally:
        server.stop()
