"""Share requests in the console, in Chromium against the real platform and simulator processes: a Traffic
operator finds two Governance channels by name in the Sharing view and asks for them; a Governance operator
(a second browser context) approves only one of them, only for live view and for a shorter period; the
requester finds it open in the channel tree and plays it; the owner revokes with a reason, the requester's
tile ends saying why and the card says who revoked and why. And a rejection, whose reason the requester
reads. Users are created with the users API, as an administrator would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.integration.conftest import sim_args
from tests.integration.processes import ADMIN_PASSWORD, PlatformProcess, SimProcess, free_port, wait_for_channels
from tests.web.conftest import PageErrors
from tests.web.console import channel_row, play, sign_in, tile, wait_playing

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER, REQUESTER, VIEWER = "gov-operator", "traffic-operator", "traffic-viewer"
FIRST_NAME, SECOND_NAME = "Camera 1-1", "Camera 1-2"  # the simulator's channels, in region 3402
CATALOG_REFRESH_S = 15.0  # the tree re-reads the catalog every 10 s
TIMEOUT_MS = 10_000


@dataclass
class Sharing:
    base_url: str
    first: int  # channel IDs (surrogate keys) of the simulator's two channels
    second: int


@pytest.fixture(scope="module")
def sharing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sharing]:
    data_dir: Path = tmp_path_factory.mktemp("share-platform")
    platform = PlatformProcess(data_dir=data_dir, sip_port=free_port(), http_port=free_port(),
                               extra_env={"CLEARSIGHT_KEEPALIVE_INTERVAL": "1"})
    platform.start(timeout=90)  # migrations alone take seconds on a busy machine
    sim = SimProcess(sim_args(platform, devices=1, channels=2))
    try:
        sim.start()
        sim.wait_for(lambda e: e.get("event") == "ready")
        with platform.client() as admin:
            channels = {c["name"]: c["id"] for c in wait_for_channels(admin, 2)}
            governance = admin.post("/api/v1/departments", json={"name": "Governance", "home_region_code": "3402"})
            traffic = admin.post("/api/v1/departments", json={"name": "Traffic", "home_region_code": "3501"})
            assert governance.status_code == 201 and traffic.status_code == 201, (governance.text, traffic.text)
            for user, role, department in ((OWNER, "operator", governance), (REQUESTER, "operator", traffic),
                                           (VIEWER, "viewer", traffic)):
                created = admin.post("/api/v1/users", json={"username": user, "password": ADMIN_PASSWORD, "role": role,
                                                            "department_id": department.json()["id"]})
                assert created.status_code == 201, created.text
            # Governance watches its own region; Traffic has no grant at all until a share is approved.
            own = admin.post("/api/v1/grants", json={"department_id": governance.json()["id"], "actions": ["live"],
                                                     "scope_kind": "region", "scope_values": ["3402"]})
            assert own.status_code == 201, own.text
        yield Sharing(platform.base_url, channels[FIRST_NAME], channels[SECOND_NAME])
    finally:
        sim.stop()
        platform.stop()


@pytest.fixture
def contexts(browser: Browser, page_errors: PageErrors) -> Iterator[tuple[Page, Page]]:
    """The requester's and the owner's consoles, in two browser contexts (two separate sessions)."""
    opened = [browser.new_context(viewport={"width": 1440, "height": 900}) for _ in range(2)]
    pages = []
    for context in opened:
        page = context.new_page()
        page.on("console", page_errors.on_console)
        page.on("pageerror", page_errors.on_page_error)
        page.set_default_timeout(TIMEOUT_MS)
        pages.append(page)
    try:
        yield pages[0], pages[1]
    finally:
        for context in opened:
            context.close()


def _console(page: Page, base_url: str, username: str) -> Page:
    sign_in(page, base_url, username, ADMIN_PASSWORD)
    page.wait_for_selector("#app-view:not([hidden])")
    return page


def _open_sharing(page: Page) -> Locator:
    page.get_by_role("button", name=re.compile("^Sharing")).click()
    view = page.locator("#sharing-view")
    expect(view).to_be_visible()
    expect(view.locator(".share-view__status")).to_contain_text("Updated")
    return view


PANELS = {"Outgoing": "outgoing", "Incoming": "incoming", "Active shares": "active"}


def _card(view: Locator, tab: str, purpose: str) -> Locator:
    """The card of the request with `purpose`, on `tab` (selected first)."""
    view.get_by_role("tab", name=re.compile(f"^{tab}")).click()
    return view.locator(f"#share-panel-{PANELS[tab]} .share-card",
                        has=view.page.locator(".share-card__purpose", has_text=purpose))


def _ask(page: Page, channel_names: list[str], purpose: str, *, playback: bool) -> Locator:
    view = _open_sharing(page)
    expect(view.locator(".share-view__note")).to_have_text("Requests of Traffic.")  # from /users/me
    view.get_by_role("button", name="New request").click()
    form = page.locator("dialog.share-form[open]")
    # Traffic sees none of Governance's channels, and finds them by name with the department that decides.
    form.get_by_label("Find channels of other departments").fill("Camera")
    results = form.locator(".share-picker__result")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("Governance")
    for name in channel_names:
        results.filter(has_text=name).click()
    expect(form.locator(".share-chip")).to_have_count(len(channel_names))
    if playback:
        form.get_by_label("Playback").check()
    form.get_by_role("button", name="Send request").click()
    expect(form.get_by_role("alert")).to_contain_text("State the purpose")  # checked before it is sent
    form.get_by_label("Purpose").fill(purpose)
    form.get_by_role("button", name="Send request").click()
    expect(form).to_have_count(0)
    card = _card(view, "Outgoing", purpose)
    expect(card.locator(".share-state")).to_have_text("Pending")
    return view


def test_a_narrowed_approval_plays_and_revocation_ends_the_tile(sharing: Sharing, contexts: tuple[Page, Page],
                                                                 page_errors: PageErrors) -> None:
    requester, owner = contexts
    purpose = "flooding at the underpass"
    _console(requester, sharing.base_url, REQUESTER)
    requester_view = _ask(requester, [FIRST_NAME, SECOND_NAME], purpose, playback=True)
    asked = _card(requester_view, "Outgoing", purpose)
    expect(asked.locator(".share-card__channels")).to_have_text(f"{FIRST_NAME}, {SECOND_NAME}")
    expect(asked.locator(".share-card__actions")).to_have_text("Live view, Playback")
    requester_view.get_by_role("button", name="Close").click()

    _console(owner, sharing.base_url, OWNER)
    expect(owner.get_by_role("button", name=re.compile("^Sharing"))).to_have_accessible_name(
        "Sharing, 1 request waiting", timeout=CATALOG_REFRESH_S * 1000)
    owner_view = _open_sharing(owner)
    incoming = _card(owner_view, "Incoming", purpose)
    expect(incoming.locator(".share-card__channels")).to_have_text(f"{FIRST_NAME}, {SECOND_NAME}")
    incoming.get_by_role("button", name="Approve…").click()
    form = owner.locator("dialog.share-form[open]")
    form.get_by_label(SECOND_NAME).uncheck()
    form.get_by_label("Playback").uncheck()
    until = datetime.now() + timedelta(days=1)
    form.get_by_label("Until").fill(until.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Note (optional)").fill("the underpass camera only")
    form.get_by_role("button", name="Approve").click()
    expect(form).to_have_count(0)
    approved = _card(owner_view, "Active shares", purpose)
    expect(approved.locator(".share-state")).to_have_text("Approved")
    expect(approved.locator(".share-card__channels")).to_have_text(FIRST_NAME)
    expect(approved.locator(".share-card__actions")).to_have_text("Live view")
    expect(approved.locator(".share-card__period")).to_contain_text(f"→ {until.strftime('%Y-%m-%d %H:%M')}")

    # The requester is told, finds the approved channel (only that one) in the tree, and plays it.
    expect(requester.locator(".share-notice")).to_contain_text("approved by Governance: the underpass camera only",
                                                              timeout=CATALOG_REFRESH_S * 1000)
    # The region arrived after the tree's first (empty) reading: its path opens to the new channel.
    expect(channel_row(requester, FIRST_NAME)).to_be_visible(timeout=CATALOG_REFRESH_S * 1000)
    expect(channel_row(requester, SECOND_NAME)).to_have_count(0)
    target = play(requester, FIRST_NAME, 0)
    wait_playing(target, within=10, advance=1.0)

    approved.get_by_role("button", name="Revoke…").click()
    confirm = owner.locator("dialog.share-form[open]")
    expect(confirm).to_contain_text("loses access at once")
    confirm.get_by_label("Reason (optional)").fill("the water has gone down")
    confirm.get_by_role("button", name="Revoke now").click()
    expect(confirm).to_have_count(0)
    expect(_card(owner_view, "Incoming", purpose).locator(".share-state")).to_have_text("Revoked")
    expect(_card(owner_view, "Incoming", purpose).locator(".share-card__revoked")).to_contain_text(
        f"by {OWNER}: “the water has gone down”")

    # The platform ends the stream at once; the tile says why, a notice says who, and the channel leaves the tree.
    expect(target).to_have_attribute("data-state", "ended", timeout=5_000)
    expect(target.locator(".tile__message")).to_contain_text("grant revoked")
    expect(requester.locator(".share-notice").first).to_contain_text(f"{OWNER} revoked share",
                                                                     timeout=CATALOG_REFRESH_S * 1000)
    requester_view = _open_sharing(requester)
    expect(_card(requester_view, "Outgoing", purpose).locator(".share-card__revoked")).to_contain_text(
        f"by {OWNER}: “the water has gone down”")
    requester_view.get_by_role("button", name="Close").click()
    expect(channel_row(requester, FIRST_NAME)).to_have_count(0, timeout=CATALOG_REFRESH_S * 1000)
    assert tile(requester, 0).get_attribute("data-channel-id") == str(sharing.first)  # ended, not emptied
    assert [m for m in page_errors.messages if "Failed to load resource" not in m] == []


def test_a_rejection_reaches_the_requester_with_its_reason(sharing: Sharing, contexts: tuple[Page, Page]) -> None:
    requester, owner = contexts
    purpose = "a parade on Sunday"
    _console(requester, sharing.base_url, REQUESTER)
    requester_view = _ask(requester, [SECOND_NAME], purpose, playback=False)

    _console(owner, sharing.base_url, OWNER)
    owner_view = _open_sharing(owner)
    incoming = _card(owner_view, "Incoming", purpose)
    incoming.get_by_role("button", name="Reject…").click()
    form = owner.locator("dialog.share-form[open]")
    form.get_by_role("button", name="Reject").click()
    expect(form.get_by_role("alert")).to_have_text("State the reason for the rejection.")
    form.get_by_label("Reason").fill("the parade route is not covered")
    form.get_by_role("button", name="Reject").click()
    expect(form).to_have_count(0)
    expect(_card(owner_view, "Incoming", purpose).locator(".share-state")).to_have_text("Rejected")
    expect(_card(owner_view, "Incoming", purpose).get_by_role("button")).to_have_count(0)

    requester_view.get_by_role("button", name="Refresh").click()
    rejected = _card(requester_view, "Outgoing", purpose)
    expect(rejected.locator(".share-state")).to_have_text("Rejected")
    expect(rejected.locator(".share-card__decision")).to_contain_text(
        f"Rejected by {OWNER}")
    expect(rejected.locator(".share-card__decision")).to_contain_text("the parade route is not covered")


def test_the_platform_s_refusal_is_shown_in_plain_words(sharing: Sharing, contexts: tuple[Page, Page]) -> None:
    requester, _ = contexts
    _console(requester, sharing.base_url, REQUESTER)
    view = _open_sharing(requester)
    view.get_by_role("button", name="New request").click()
    form = requester.locator("dialog.share-form[open]")
    form.get_by_label("Or add channel IDs").fill("999999")
    form.get_by_role("button", name="Add", exact=True).click()
    form.get_by_label("Purpose").fill("a channel that does not exist")
    form.get_by_role("button", name="Send request").click()
    expect(form.get_by_role("alert")).to_have_text("no channel 999999")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)


def test_sharing_is_offered_only_to_roles_that_may_use_it(sharing: Sharing, contexts: tuple[Page, Page]) -> None:
    viewer, _ = contexts
    _console(viewer, sharing.base_url, VIEWER)
    expect(viewer.locator(".topbar__role")).to_have_text("viewer")
    expect(viewer.get_by_role("button", name=re.compile("^Sharing"))).to_have_count(0)
