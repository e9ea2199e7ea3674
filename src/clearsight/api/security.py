"""Who is calling: the bearer-token dependency, role checks and the login-throttling seam."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from clearsight.access.users import Role
from clearsight.api.deps import Services
from clearsight.api.problems import Problem
from clearsight.api.tokens import InvalidToken, Principal

logger = logging.getLogger(__name__)

TOKEN_URL = "/api/v1/auth/token"

# auto_error=False: a missing token is answered by `current_user` with a problem document rather
# than FastAPI's own JSON error. The scheme still documents the password flow in OpenAPI.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def current_user(services: Services, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """The caller named by a valid `Authorization: Bearer` token, else 401 (RFC 6750 §3)."""
    if not token:
        raise Problem(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        return services.tokens.verify(token)
    except InvalidToken as exc:
        logger.info("rejected bearer token: %s", exc.reason)
        raise Problem(
            401,
            "the bearer token is invalid or expired",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc


CurrentUser = Annotated[Principal, Depends(current_user)]


class RoleRequirement:
    """A dependency admitting only callers whose role is one of `roles` (else 403)."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, user: CurrentUser) -> Principal:
        if user.role not in self.roles:
            logger.info(
                "user %s (role %s) refused: needs one of %s", user.username, user.role, sorted(self.roles)
            )
            raise Problem(403, f"role {user.role!r} may not perform this operation")
        return user


require_administrator = RoleRequirement({Role.ADMINISTRATOR})
require_operator = RoleRequirement({Role.ADMINISTRATOR, Role.OPERATOR})

Administrator = Annotated[Principal, Depends(require_administrator)]
Operator = Annotated[Principal, Depends(require_operator)]


class UnthrottledLogins:
    """The default `LoginGuard`: admits every attempt. Replace with a real throttle later."""

    async def check(self, username: str, client: str | None) -> None:
        return None

    async def record(self, username: str, client: str | None, *, success: bool) -> None:
        return None
