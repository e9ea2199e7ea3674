"""The API's side of access control: the per-channel check every video or camera route depends on.

    @router.post("/channels/{channel_id}/live")
    async def start_live(..., access: LiveAccess, channel_id: ChannelPk) -> LiveOut:

`LiveAccess` (and the others below) is `ChannelPermission(Action.…)`: it resolves the caller and the
channel, asks `AccessControl.authorize`, and answers 404 for an unknown channel and 403 (naming why) when
no grant allows the action. The route receives the `ChannelAccessGranted`, whose grant ID goes into stream
tokens and audit entries. `tests/access/test_matrix.py` fails for a channel route without such a check.

Live view and playback of a restricted or sensitive channel also need a stated reason, the query parameter
`reason` (4 to 500 characters once trimmed), administrators included: without one the answer is 403
`/problems/reason-required`, and the client asks the user and retries with `?reason=`. The reason is kept on
the request (`stated_reason`), where `api/auditing.py: audit_channel` records it in the entry's reason.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from starlette.requests import HTTPConnection

from clearsight.access.policy import Action, ChannelClass, ChannelScope, GrantDecision, Subject
from clearsight.access.service import AccessControl
from clearsight.access.store import ChannelAccessFacts
from clearsight.access.users import Role
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import ChannelPk
from clearsight.api.problems import Problem
from clearsight.api.security import CurrentUser
from clearsight.api.tokens import Principal

logger = logging.getLogger(__name__)

ACCESS_DENIED = "/problems/access-denied"  # extensions: action, channel_id
REASON_REQUIRED = "/problems/reason-required"  # extensions: action, channel_id, channel_class
REASON_ACTIONS = frozenset({Action.LIVE, Action.PLAYBACK})
REASON_CLASSES = frozenset({ChannelClass.RESTRICTED, ChannelClass.SENSITIVE})
MIN_REASON_LENGTH = 4  # characters, after trimming
MAX_REASON_LENGTH = 500
_REASON_STATE = "access_reason"  # where the request keeps its stated reason for the audit entry

StatedReason = Annotated[str | None, Query(
    description="Why you need this (4-500 characters): required for live view and playback of restricted and "
                "sensitive channels, recorded in the audit log.")]


@dataclass(frozen=True, slots=True)
class ChannelAccessGranted:
    """A caller allowed an action on a channel, and the decision (grant ID None for administrators)."""

    user: Principal
    subject: Subject | None
    channel_id: int
    decision: GrantDecision
    reason: str | None = None  # as stated by the caller, trimmed

    @property
    def grant_id(self) -> str | None:
        return self.decision.grant_id


def access_control(services: ApiServices) -> AccessControl | None:
    return services.access


async def subject_of(services: ApiServices, user: Principal) -> Subject | None:
    """The caller as access control sees them; raises 401 when the user is gone or disabled."""
    access = services.access
    if access is None:
        return None
    subject = await access.subject(user.user_id)
    if subject is None:
        raise Problem(401, "the user of this token no longer exists or is disabled",
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return subject


async def check_channel(services: ApiServices, user: Principal, action: Action, channel_id: int,
                        stated: str | None = None, *, reason_rule: bool = True) -> ChannelAccessGranted:
    """Authorize `user` to do `action` to the channel, or raise 404/403 as a problem; `stated` is the caller's
    reason, required (403 reason-required) for live view and playback of restricted and sensitive channels
    unless `reason_rule` is off (for routes that only use the action as a right, handing out no video)."""
    access = services.access
    if access is None:  # an app built without access control (tests of other concerns): roles only
        return ChannelAccessGranted(user, None, channel_id,
                                    GrantDecision(True, action, channel_id, None, "access control not configured"),
                                    _valid_reason(stated))
    subject = await subject_of(services, user)
    assert subject is not None
    facts = await access.store.channel_facts(channel_id)
    if facts is None:
        raise Problem(404, f"no channel {channel_id}")
    decision = await access.authorize(subject, action, facts)
    if not decision.allowed:
        raise Problem(403, f"{action.value} on channel {channel_id} is not allowed: {decision.reason}",
                      type_=ACCESS_DENIED, title="Access denied",
                      extensions={"action": action.value, "channel_id": channel_id})
    reason = _valid_reason(stated)
    if reason_rule and action in REASON_ACTIONS and facts.channel_class in REASON_CLASSES and reason is None:
        raise Problem(403, f"{action.value} on channel {channel_id} ({facts.channel_class}) needs a stated reason: "
                           f"repeat the request with ?reason= ({MIN_REASON_LENGTH}-{MAX_REASON_LENGTH} characters; "
                           f"{_reason_fault(stated)})",
                      type_=REASON_REQUIRED, title="Reason required",
                      extensions={"action": action.value, "channel_id": channel_id,
                                  "channel_class": facts.channel_class})
    return ChannelAccessGranted(user, subject, channel_id, decision, reason)


def _reason_fault(stated: str | None) -> str | None:
    """What is wrong with a stated reason, None when nothing is."""
    if stated is None:
        return "none was given"
    text = stated.strip()
    if "\ufffd" in text:
        return "it is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "it contains control characters"
    if not MIN_REASON_LENGTH <= len(text) <= MAX_REASON_LENGTH:
        return f"it has {len(text)}"
    return None


def _valid_reason(stated: str | None) -> str | None:
    """The trimmed reason when it is acceptable; None when absent or not (dropped, and logged, where optional)."""
    if stated is None:
        return None
    fault = _reason_fault(stated)
    if fault is not None:
        logger.info("stated reason dropped: %s", fault)
        return None
    return stated.strip()


def stated_reason(connection: HTTPConnection) -> str | None:
    """The reason the request stated for its channel access, as `ChannelPermission` accepted it."""
    reason = getattr(connection.state, _REASON_STATE, None)
    return reason if isinstance(reason, str) else None


async def channel_facts(services: ApiServices, channel_id: int) -> ChannelAccessFacts | None:
    return await services.access.store.channel_facts(channel_id) if services.access is not None else None


async def list_scope(services: ApiServices, user: Principal, action: Action | None = None) -> ChannelScope | None:
    """The channels the caller may see in lists (None: all)."""
    if services.access is None or user.role == Role.ADMINISTRATOR:
        return None
    subject = await subject_of(services, user)
    assert subject is not None
    return await services.access.scope(subject, action)


class ChannelPermission:
    """A dependency admitting the caller only when a grant allows `action` on the path's channel."""

    def __init__(self, action: Action) -> None:
        self.action = action

    async def __call__(self, connection: HTTPConnection, services: Services, user: CurrentUser,
                       channel_id: ChannelPk, reason: StatedReason = None) -> ChannelAccessGranted:
        granted = await check_channel(services, user, self.action, channel_id, reason)
        if granted.reason is not None:
            setattr(connection.state, _REASON_STATE, granted.reason)
        return granted


class AnyChannelPermission(ChannelPermission):
    """Admits the caller when a grant allows any one of `actions` (tried in order; the first is `action`).

    A refusal names the first action, as a caller reading the route's description expects. Such routes hand
    out no video (reading privacy-mask polygons), so no reason is asked for.
    """

    def __init__(self, *actions: Action) -> None:
        super().__init__(actions[0])
        self.actions = actions

    async def __call__(self, connection: HTTPConnection, services: Services, user: CurrentUser,
                       channel_id: ChannelPk, reason: StatedReason = None) -> ChannelAccessGranted:
        refusal: Problem | None = None
        for action in self.actions:
            try:
                granted = await check_channel(services, user, action, channel_id, reason, reason_rule=False)
                if granted.reason is not None:
                    setattr(connection.state, _REASON_STATE, granted.reason)
                return granted
            except Problem as exc:
                if exc.status != 403:
                    raise
                refusal = refusal or exc
        assert refusal is not None
        raise refusal


LiveAccess = Annotated[ChannelAccessGranted, Depends(ChannelPermission(Action.LIVE))]
PlaybackAccess = Annotated[ChannelAccessGranted, Depends(ChannelPermission(Action.PLAYBACK))]
PtzAccess = Annotated[ChannelAccessGranted, Depends(ChannelPermission(Action.PTZ))]
ManageAccess = Annotated[ChannelAccessGranted, Depends(ChannelPermission(Action.MANAGE))]
ExportAccess = Annotated[ChannelAccessGranted, Depends(ChannelPermission(Action.EXPORT))]
