"""The stated-reason prompt in Chromium against the real platform and simulator processes: an administrator
classes a channel `restricted` and grants a viewer live view and playback of it up to that class (through the
API); the viewer clicks it in the tree, the console asks why, a reason the platform finds too short is refused
with the platform's own words, a proper one is accepted, the tile plays, its timeline and a snapshot are read
with the same reason (no second question), and the audit log's `live.start` and `snapshot` entries carry it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from clearsight.api.channel_access import MIN_REASON_LENGTH
from tests.integration.conftest import platform, sims, start_listed_sim  # noqa: F401  (fixtures)
from tests.integration.processes import ADMIN_PASSWORD, PlatformProcess, SimProcess
from tests.web.conftest import PageErrors
from tests.web.console import play, sign_in, signed_in, wait_playing

pytestmark = [pytest.mark.browser, pytest.mark.integration]

VIEWER = "night-viewer"
CHANNEL_NAME = "Camera 1-1"  # the simulator's first channel, in region 3402
CHANNEL_GB_ID = "34020000001310000002"
TOO_SHORT = "x" * (MIN_REASON_LENGTH - 1)
REASON = "incident 2031 at the north gate"
FIRST_PICTURE_WITHIN_S = 10.0


@pytest.fixture
def restricted(platform: PlatformProcess, sims: list[SimProcess]) -> Iterator[int]:  # noqa: F811
    """The simulator's first channel, classed restricted, and a viewer granted live view of it; its ID."""
    _, (channel,) = start_listed_sim(platform, sims, channels=1)
    with platform.client() as admin:
        classed = admin.put(f"/api/v1/channels/{channel['id']}/class", json={"channel_class": "restricted"})
        assert classed.status_code == 200, classed.text
        department = admin.post("/api/v1/departments", json={"name": "Night watch", "home_region_code": "3402"})
        assert department.status_code == 201, department.text
        user = admin.post("/api/v1/users", json={"username": VIEWER, "password": ADMIN_PASSWORD, "role": "viewer",
                                                 "department_id": department.json()["id"]})
        assert user.status_code == 201, user.text
        grant = admin.post("/api/v1/grants", json={"user_id": user.json()["id"], "actions": ["live", "playback"],
                                                   "scope_kind": "channels", "scope_values": [str(channel["id"])],
                                                   "max_class": "restricted"})
        assert grant.status_code == 201, grant.text
    yield int(channel["id"])


def test_a_restricted_channel_plays_after_a_stated_reason(page: Page, platform: PlatformProcess,  # noqa: F811
                                                          restricted: int, page_errors: PageErrors) -> None:
    sign_in(page, platform.base_url, VIEWER, ADMIN_PASSWORD)
    signed_in(page)
    target = play(page, CHANNEL_NAME, 0)

    dialog = page.locator("dialog.reason[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".reason__channel")).to_have_text(CHANNEL_NAME)
    expect(dialog.locator(".reason__notice")).to_be_hidden()  # the first question has nothing to say yet
    dialog.get_by_label("Reason").fill(TOO_SHORT)
    dialog.get_by_role("button", name="Continue").click()

    # The platform refuses it; the question comes again with the platform's own detail.
    notice = dialog.locator(".reason__notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"needs a stated reason: repeat the request with ?reason= ({MIN_REASON_LENGTH}-")
    expect(notice).to_contain_text(f"it has {len(TOO_SHORT)}")
    expect(dialog.get_by_label("Reason")).to_have_value("")
    dialog.get_by_label("Reason").fill(REASON)
    dialog.get_by_role("button", name="Continue").click()
    expect(page.locator("dialog.reason[open]")).to_have_count(0)

    wait_playing(target, within=FIRST_PICTURE_WITHIN_S, advance=1.5)
    # The tile's other reads of the channel state the reason too: its timeline, and a snapshot (no new question).
    expect(target.locator(".timeline__track")).to_have_attribute("data-loaded", re.compile(r"^\d{4}-\d\d-\d\d$"))
    expect(target.locator(".timeline__status")).not_to_contain_text("Recordings:")
    target.hover()
    target.locator(".tile__tool--snapshot").click()
    expect(page.locator("#snapshot-dialog canvas.dialog__image")).to_be_visible()
    expect(page.locator("dialog.reason[open]")).to_have_count(0)

    with platform.client() as admin:
        entries = {action: admin.get("/api/v1/audit", params={"action": action, "actor": VIEWER}).json()["items"]
                   for action in ("live.start", "snapshot")}
    assert {action: [(e["target"], e["reason"]) for e in found] for action, found in entries.items()} == {
        "live.start": [(CHANNEL_GB_ID, REASON)], "snapshot": [(CHANNEL_GB_ID, REASON)]}, entries
    assert [m for m in page_errors.messages if "Failed to load resource" not in m] == []
