"""`PUT /api/v1/users/{id}/active`: enabling and disabling accounts (administrators); disabling ends every
session and every open stream of the account at once (its API tokens are refused while it is disabled)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request

from clearsight.api.auditing import client_address
from clearsight.api.credential_schemas import UserActiveIn, UserStateOut
from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.security import Administrator
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

router = APIRouter(tags=["access"], responses=PROBLEM_RESPONSES)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.put("/users/{user_id}/active")
async def set_user_active(request: Request, services: Services, admin: Administrator, user_id: UserId,
                          body: UserActiveIn) -> UserStateOut:
    if not body.active and str(user_id) == admin.user_id:
        raise Problem(409, "administrators may not disable their own account")
    user = await services.users.set_active(user_id, body.active)
    if user is None:
        raise Problem(404, f"no user {user_id}")
    revoked = await services.sessions.set_account_active(user_id, user.username, body.active, admin.username)
    await services.audit.record(AuditAction.USER_CHANGE, actor=admin.username, target=f"user:{user_id}",
                                client=client_address(request),
                                details={"change": "enabled" if body.active else "disabled",
                                         "sessions_revoked": len(revoked)})
    return UserStateOut(id=int(user.id), username=user.username, role=str(user.role), is_active=user.is_active,
                        sessions_revoked=len(revoked))
