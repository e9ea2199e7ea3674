"""The Sharing view's logic, run in Chromium: request and approval bodies as the API checks them, periods in
local time, typed channel IDs, the notices raised between two readings; and the view's absence where the
platform has no access control (the stand-in)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.api.fakes import PASSWORD
from tests.web.conftest import StandIn
from tests.web.console import sign_in, signed_in
from tests.web.test_modules import _run, blank  # noqa: F401  (the page fixture)

pytestmark = pytest.mark.browser

NOW = "new Date('2026-12-01T12:00:00Z')"
SHARE = {  # as GET /share-requests answers, pending
    "id": 7, "requester_department_id": 2, "owner_department_id": 1, "requested_by": "traffic-operator",
    "purpose": "flooding", "channel_ids": [11, 12], "actions": ["live", "playback"],
    "period_start": "2026-12-01T11:58:41.123456Z", "period_end": "2026-12-08T11:58:41.123456Z",
    "state": "pending", "decided_by": None, "decided_at": None, "decision_note": None, "grant_id": None,
    "grant": None, "created_at": "2026-12-01T11:58:41.123456Z", "revoked_by": None, "revoked_at": None,
    "revoke_reason": None,
}


def _model(page: Page, body: str) -> Any:
    return _run(page, "share-model.js", body)


def _ask(page: Page, **form: Any) -> Any:
    values = {"channelIds": [11], "actions": ["live"], "purpose": "flooding", "start": None,
              "end": "new Date('2026-12-08T12:00:00Z')", "departmentId": None, **form}
    text = "{" + ", ".join(f"{k}: {v if isinstance(v, str) and v.startswith('new ') else json.dumps(v)}"
                           for k, v in values.items()) + "}"
    return _model(page, f"(m) => m.askBody({text}, {NOW})")


def test_a_request_needs_channels_actions_and_a_purpose(blank: Page) -> None:  # noqa: F811
    assert _ask(blank, channelIds=[]) == {"error": "Pick at least one channel."}
    assert _ask(blank, actions=[]) == {"error": "Pick at least one action."}
    assert _ask(blank, purpose="  ")["error"].startswith("State the purpose")


def test_a_request_without_a_start_begins_now_and_always_ends(blank: Page) -> None:  # noqa: F811
    assert _ask(blank, channelIds=[11, 12, 11], purpose=" flooding ") == {"body": {
        "channel_ids": [11, 12], "actions": ["live"], "purpose": "flooding", "period_end": "2026-12-08T12:00:00.000Z"}}
    assert _ask(blank, end=None)["error"].startswith("Say until when")


def test_a_request_period_is_checked_as_the_api_does(blank: Page) -> None:  # noqa: F811
    assert _ask(blank, end="new Date('2027-01-01T12:00:00Z')") == {"error": "A share lasts at most 30 days."}
    assert _ask(blank, end="new Date('2026-12-01T11:00:00Z')") == {"error": "The period must end after it begins."}
    assert _ask(blank, start="new Date('2026-11-20T00:00:00Z')", end="new Date('2026-12-01T11:00:00Z')") == {
        "error": "The period is over already."}
    later = _ask(blank, start="new Date('2026-12-02T08:00:00Z')", end="new Date('2026-12-03T08:00:00Z')",
                 departmentId=3)
    assert later["body"]["period_start"] == "2026-12-02T08:00:00.000Z"
    assert later["body"]["department_id"] == 3


def _approve(page: Page, choice: str, share: dict[str, Any] | None = None) -> Any:
    base = ("{channelIds: [11, 12], actions: ['live', 'playback'], start: null, end: null, maxClass: 'sensitive',"
            " note: ''}")
    return _model(page, f"(m) => m.approvalBody({json.dumps(share or SHARE)}, {{...{base}, ...{choice}}}, {NOW})")


def test_an_untouched_approval_sends_nothing_but_the_class(blank: Page) -> None:  # noqa: F811
    assert _approve(blank, "{}") == {"body": {"max_class": "sensitive"}, "narrowed": False}
    # The form shows the period to the minute: sent back as shown it would begin before the request.
    shown = "{start: new Date('2026-12-01T11:58:00Z'), end: new Date('2026-12-08T11:58:00Z')}"
    assert _approve(blank, shown) == {"body": {"max_class": "sensitive"}, "narrowed": False}


def test_an_approval_narrows_channels_actions_and_period(blank: Page) -> None:  # noqa: F811
    choice = ("{channelIds: [11], actions: ['live'], end: new Date('2026-12-02T12:00:00Z'), maxClass: 'public',"
              " note: ' only the underpass '}")
    assert _approve(blank, choice) == {"narrowed": True, "body": {
        "max_class": "public", "note": "only the underpass", "channel_ids": [11], "actions": ["live"],
        "period_end": "2026-12-02T12:00:00.000Z"}}


def test_an_approval_wider_than_the_request_is_refused(blank: Page) -> None:  # noqa: F811
    assert _approve(blank, "{channelIds: []}")["error"].startswith("Approve at least one channel")
    assert _approve(blank, "{channelIds: [11, 13]}") == {"error": "Only requested channels can be approved."}
    assert _approve(blank, "{actions: ['live', 'export']}") == {"error": "Only requested actions can be approved."}
    assert _approve(blank, "{end: new Date('2026-12-09T12:00:00Z')}") == {
        "error": "The approved period cannot end after the requested one."}
    assert _approve(blank, "{start: new Date('2026-11-30T12:00:00Z')}") == {
        "error": "The approved period cannot begin before the requested one."}
    assert _approve(blank, "{start: new Date('2026-12-05T12:00:00Z'), end: new Date('2026-12-04T12:00:00Z')}") == {
        "error": "The period must end after it begins."}
    assert _approve(blank, "{end: undefined}") == {"error": "Enter the period as a date and a time."}


def test_local_input_values_round_trip(blank: Page) -> None:  # noqa: F811
    assert _model(blank, "(m) => m.localInputValue(new Date(2026, 11, 1, 9, 5, 59))") == "2026-12-01T09:05"
    assert _model(blank, "(m) => m.dateFromLocalInput('2026-12-01T09:05').getTime() === "
                         "new Date(2026, 11, 1, 9, 5).getTime()") is True
    assert _model(blank, "(m) => [m.dateFromLocalInput(''), m.dateFromLocalInput('yesterday')]") == [None, None]
    assert _model(blank, "(m) => m.dateFromLocalInput('yesterday') === undefined") is True


def test_typed_channel_ids(blank: Page) -> None:  # noqa: F811
    assert _model(blank, "(m) => m.parseChannelIds('12, 13 14;15')") == {"ids": [12, 13, 14, 15]}
    assert _model(blank, "(m) => m.parseChannelIds('12, x')") == {"error": "“x” is not a channel ID."}
    assert _model(blank, "(m) => m.parseChannelIds('0')") == {"error": "“0” is not a channel ID."}
    assert _model(blank, "(m) => m.parseChannelIds('  ')") == {"error": "Enter a channel ID."}


def test_the_granted_scope_shows_what_a_narrowed_approval_gave(blank: Page) -> None:  # noqa: F811
    grant = {"scope_values": ["11"], "actions": ["live"], "valid_from": SHARE["period_start"],
             "valid_until": "2026-12-02T12:00:00Z", "revoked_at": None}
    approved = {**SHARE, "state": "approved", "grant": grant}
    assert _model(blank, f"(m) => m.grantedScope({json.dumps(approved)})") == {
        "channelIds": [11], "actions": ["live"], "start": SHARE["period_start"], "end": "2026-12-02T12:00:00Z",
        "narrowed": True}
    whole = {**approved, "grant": {**grant, "scope_values": ["11", "12"], "actions": ["live", "playback"],
                                   "valid_until": "2026-12-08T11:58:41.123456+00:00"}}
    assert _model(blank, f"(m) => m.grantedScope({json.dumps(whole)}).narrowed") is False
    assert _model(blank, f"(m) => m.grantedScope({json.dumps(SHARE)}).channelIds") == [11, 12]


def test_active_means_approved_and_not_over(blank: Page) -> None:  # noqa: F811
    approved = {**SHARE, "state": "approved"}
    assert _model(blank, f"(m) => m.isActive({json.dumps(approved)}, {NOW})") is True
    assert _model(blank, f"(m) => m.isActive({json.dumps(approved)}, new Date('2026-12-09T00:00:00Z'))") is False
    assert _model(blank, f"(m) => m.isActive({json.dumps({**SHARE, 'state': 'revoked'})}, {NOW})") is False


def _changes(page: Page, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> Any:
    return _model(page, f"""(m) => m.shareChanges(
        new Map({json.dumps(before)}.map((s) => [s.id, s])), new Map({json.dumps(after)}.map((s) => [s.id, s])),
        (id) => ({{1: 'Governance', 2: 'Traffic'}})[id])""")


def test_notices_for_a_new_incoming_request_and_decided_outgoing_ones(blank: Page) -> None:  # noqa: F811
    incoming = {**SHARE, "direction": "incoming"}
    assert _changes(blank, [], [incoming]) == [
        {"id": 7, "kind": "info", "text": "New share request #7 from Traffic: flooding"}]
    assert _changes(blank, [incoming], [incoming]) == []
    outgoing = {**SHARE, "direction": "outgoing"}
    assert _changes(blank, [], [outgoing]) == []  # asked here: nothing to tell
    approved = {**outgoing, "state": "approved", "decision_note": "the underpass only"}
    assert _changes(blank, [outgoing], [approved])[0]["text"] == (
        "Share request #7 was approved by Governance: the underpass only. Its channels are in the channel list.")
    revoked = _changes(blank, [approved], [{**approved, "state": "revoked"}])
    assert revoked[0]["kind"] == "error"
    assert revoked[0]["text"].startswith("Governance revoked share #7: its channels are no longer available")
    named = _changes(blank, [approved], [{**approved, "state": "revoked", "revoked_by": "gov-op",
                                          "revoke_reason": "incident closed"}])
    assert named[0]["text"].startswith("gov-op revoked share #7 (“incident closed”): its channels are no longer")
    assert _changes(blank, [outgoing], [{**outgoing, "state": "rejected", "decision_note": "no"}])[0]["text"] == (
        "Share request #7 was rejected by Governance: no.")


def test_a_revoked_share_says_who_revoked_it_and_why(blank: Page) -> None:  # noqa: F811
    revoked = {**SHARE, "state": "revoked", "revoked_by": "gov-op", "revoked_at": "2026-12-01T12:30:00Z",
               "revoke_reason": "incident closed"}
    text = _model(blank, f"(m) => m.revocationText({json.dumps(revoked)})")
    moment = _model(blank, "(m) => m.formatMoment('2026-12-01T12:30:00Z')")
    assert text == f"{moment} by gov-op: “incident closed”"
    # a grant revoked directly (DELETE /grants): who, no reason
    direct = {**revoked, "revoke_reason": None, "revoked_by": "admin"}
    assert _model(blank, f"(m) => m.revocationText({json.dumps(direct)})") == f"{moment} by admin"
    assert _model(blank, f"(m) => m.revocationText({json.dumps({**SHARE, 'state': 'approved'})})") is None


def test_the_note_says_whose_requests_are_listed(blank: Page) -> None:  # noqa: F811
    traffic = {"id": 2, "name": "Traffic", "home_region_code": "3402"}
    def note(me: dict[str, Any]) -> Any:
        return _model(blank, f"(m) => m.viewerNote({json.dumps(me)})")
    assert note({"role": "operator", "department": traffic}) == "Requests of Traffic."
    assert note({"role": "administrator", "department": traffic}).startswith(
        "Requests of Traffic. As a platform administrator you may also ask on behalf of another department")
    assert note({"role": "administrator", "department": None}).startswith(
        "You belong to no department, so every department’s requests are listed")
    assert note({"role": "operator", "department": None}) is None


def test_a_found_channel_is_labelled_with_its_owner(blank: Page) -> None:  # noqa: F811
    found = {"id": 12, "gb_id": "34020000001310000012", "name": "Gate 3", "owner_department_id": 1,
             "owner_department_name": "Police", "channel_class": "public", "region_code": "3501"}
    assert _model(blank, f"(m) => m.shareableLabel({json.dumps(found)})") == "Gate 3 · Police"
    assert _model(blank, f"(m) => m.shareableLabel({json.dumps({**found, 'name': ''})})") == (
        "34020000001310000012 · Police")


def _tree(region_devices: dict[str, dict[str, list[int]]]) -> str:
    """A tree as tree-model.js builds it: region code → device id → channel ids (one region level)."""
    regions = [{"kind": "region", "key": f"region:{code}", "regions": [], "devices": [
        {"kind": "device", "key": f"device:region:{code}:{device}", "channels": [{"id": c} for c in channels]}
        for device, channels in devices.items()]} for code, devices in region_devices.items()]
    return json.dumps(regions)


def test_newly_visible_channels_open_their_path(blank: Page) -> None:  # noqa: F811
    tree = _tree({"3402": {"d1": [1, 2]}, "3501": {"d2": [3], "d3": [4]}})
    def holding(ids: list[int], devices: bool) -> Any:
        return _run(blank, "tree.js", f"(m) => m.branchesHolding({tree}, new Set({ids}), {json.dumps(devices)})")
    assert holding([3], True) == ["device:region:3501:d2", "region:3501"]
    assert holding([3], False) == ["region:3501"]  # a large batch: regions only
    assert holding([1, 4], True) == ["device:region:3402:d1", "region:3402", "device:region:3501:d3", "region:3501"]
    assert holding([9], True) == []


def test_problems_in_plain_words(blank: Page) -> None:  # noqa: F811
    validation = ("{status: 422, detail: 'the request is not valid; see errors', problem: {errors: ["
                  "{loc: ['body', 'purpose'], msg: 'Value error, state the purpose'}, {loc: ['body'], msg: 'bad'}]}}")
    assert _model(blank, f"(m) => m.problemText({validation})") == "purpose: state the purpose; bad"
    assert _model(blank, "(m) => m.problemText({status: 409, detail: 'share request 3 is approved, not pending',"
                         " problem: {}})") == "share request 3 is approved, not pending"
    forbidden = "{status: 403, title: 'Forbidden', detail: '', problem: {}}"
    assert _model(blank, f"(m) => m.problemText({forbidden})") == "Forbidden"


def test_only_operators_and_administrators_share(blank: Page) -> None:  # noqa: F811
    roles = ["administrator", "operator", "viewer", "auditor", "maintainer", ""]
    assert _model(blank, f"(m) => {json.dumps(roles)}.map(m.canShare)") == [True, True, False, False, False, False]


def test_the_sharing_button_goes_where_the_platform_has_no_access_control(page: Page, standin: StandIn) -> None:
    sign_in(page, standin.base_url, "oper", PASSWORD)
    signed_in(page)
    # The stand-in answers /share-requests with 503 (access control not configured): nothing to offer.
    expect(page.locator(".share-button")).to_have_count(1)  # an operator: offered at first
    expect(page.locator(".share-button")).to_be_hidden()
