"""`POST /api/v1/auth/token`: the OAuth2 password flow (RFC 6749 §4.3)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from clearsight.access.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH
from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.schemas import TokenOut
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)


router = APIRouter(prefix="/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


@router.post("/token")
async def issue_token(
    request: Request,
    response: Response,
    services: Services,
    username: Annotated[str, Form(min_length=1, max_length=MAX_USERNAME_LENGTH)],
    password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenOut:
    """Exchange a user name and password for a bearer token."""
    client = request.client.host if request.client else None
    # Throttling seam: the guard raises LoginThrottled (429) before any password is checked.
    await services.login_guard.check(username, client)
    user = await services.users.authenticate(username, password)
    success = user is not None and user.is_active
    await services.login_guard.record(username, client, success=success)
    await services.audit.record(AuditAction.LOGIN_SUCCESS if success else AuditAction.LOGIN_FAILURE, actor=username,
                                client=client)
    if user is None or not user.is_active:
        logger.warning("login refused for user %r from %s", username, client)
        raise Problem(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    issued = services.tokens.issue(user)
    logger.info(
        "user %s (role %s) logged in from %s, token %s",
        user.username,
        issued.principal.role,
        client,
        issued.principal.token_id,
    )
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)
