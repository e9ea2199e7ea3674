"""The caller as stored now, not as their token says: a disabled or deleted user is refused, a changed
role applies at once. One primary-key read per request; without access control (tests of other concerns)
the token is taken as it is."""

from __future__ import annotations

import logging
from dataclasses import replace

from clearsight.api.deps import ApiServices
from clearsight.api.problems import Problem
from clearsight.api.tokens import Principal

logger = logging.getLogger(__name__)


async def current_state(services: ApiServices, principal: Principal) -> Principal:
    """`principal` with its stored role; 401 when the user no longer exists or is disabled."""
    if services.access is None:
        return principal
    subject = await services.access.subject(principal.user_id)
    if subject is None:
        logger.info("token of user %s refused: the user is disabled or gone", principal.username)
        raise Problem(401, "the user of this token no longer exists or is disabled",
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if subject.role.value != principal.role:
        return replace(principal, role=subject.role.value)
    return principal
