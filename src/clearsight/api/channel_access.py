"""The API's side of access control: the per-channel check every video or camera route depends on.

    @router.post("/channels/{channel_id}/live")
    async def start_live(..., access: LiveAccess, channel_id: ChannelPk) -> LiveOut:

`LiveAccess` (and the others below) is `ChannelPermission(Action.…)`: it resolves the caller and the
channel, asks `AccessControl.authorize`, and answers 404 for an unknown channel and 403 (naming why) when
no grant allows the action. The route receives the `ChannelAccessGranted`, whose grant ID goes into stream
tokens and audit entries. `tests/access/test_matrix.py` fails for a channel route without such a check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from clearsight.access.policy import Action, ChannelScope, GrantDecision, Subject
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


@dataclass(frozen=True, slots=True)
class ChannelAccessGranted:
    """A caller allowed an action on a channel, and the decision (grant ID None for administrators)."""

    user: Principal
    subject: Subject | None
    channel_id: int
    decision: GrantDecision

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


async def check_channel(services: ApiServices, user: Principal, action: Action, channel_id: int
                        ) -> ChannelAccessGranted:
    """Authorize `user` to do `action` to the channel, or raise 404/403 as a problem."""
    access = services.access
    if access is None:  # an app built without access control (tests of other concerns): roles only
        return ChannelAccessGranted(user, None, channel_id,
                                    GrantDecision(True, action, channel_id, None, "access control not configured"))
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
    return ChannelAccessGranted(user, subject, channel_id, decision)


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

    async def __call__(self, services: Services, user: CurrentUser, channel_id: ChannelPk) -> ChannelAccessGranted:
        return await check_channel(services, user, self.action, channel_id)


class AnyChannelPermission(ChannelPermission):
    """Admits the caller when a grant allows any one of `actions` (tried in order; the first is `action`).

    A refusal names the first action, as a caller reading the route's description expects.
    """

    def __init__(self, *actions: Action) -> None:
        super().__init__(actions[0])
        self.actions = actions

    async def __call__(self, services: Services, user: CurrentUser, channel_id: ChannelPk) -> ChannelAccessGranted:
        refusal: Problem | None = None
        for action in self.actions:
            try:
                return await check_channel(services, user, action, channel_id)
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
