"""Who is calling: one authenticator for bearer tokens, session cookies and API tokens; role and scope checks.

`authenticate` accepts, in this order: `Authorization: Bearer cs_…` (an API token, limited by its scopes),
`Authorization: Bearer <JWT>` (a session's token), or the session cookie (CSRF is checked by
`middleware.CsrfMiddleware`). A JWT is refused once its session is revoked (`api.sessions.SessionGuard`). The
principal is kept on the request, so the router-wide auditor check and the route's own check verify once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from clearsight.access.api_tokens import API_TOKEN_PREFIX, ApiTokenScope
from clearsight.access.users import Role
from clearsight.api.caller_state import current_state
from clearsight.api.deps import ApiServices
from clearsight.api.problems import Problem
from clearsight.api.session_cookies import SESSION_COOKIE
from clearsight.api.tokens import InvalidToken, Principal

logger = logging.getLogger(__name__)

TOKEN_URL = "/api/v1/auth/token"
METRICS_PATH = "/metrics"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # RFC 9110 §9.2.1: read-only by definition
INSUFFICIENT_SCOPE = "/problems/insufficient-scope"  # extensions: scope

# auto_error=False: a missing token is answered by `current_user` with a problem document rather
# than FastAPI's own JSON error. The scheme still documents the password flow in OpenAPI.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def _unauthenticated(detail: str, error: str | None = None) -> Problem:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


async def authenticate(connection: HTTPConnection) -> Principal:
    """The caller of this request or WebSocket, else a 401 (RFC 6750 §3) or 403 (scope) problem."""
    cached = getattr(connection.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    services: ApiServices = connection.app.state.services
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, token = get_authorization_scheme_param(header)
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated("a bearer token is required")
        if token.startswith(API_TOKEN_PREFIX):
            principal = await _api_token_caller(services, token, connection)
        else:
            principal = await _session_caller(services, token)
    elif cookie := connection.cookies.get(SESSION_COOKIE):
        principal = await _session_caller(services, cookie)
    else:
        raise _unauthenticated("a bearer token is required")
    principal = await current_state(services, principal)  # disabled users refused, role as stored now
    connection.state.principal = principal
    return principal


async def _session_caller(services: ApiServices, token: str) -> Principal:
    try:
        principal = services.tokens.verify(token)
        await services.sessions.check(principal)
    except InvalidToken as exc:
        logger.info("rejected bearer token: %s", exc.reason)
        raise _unauthenticated("the bearer token is invalid or expired", "invalid_token") from exc
    return principal


def scope_needed(connection: HTTPConnection) -> ApiTokenScope:
    if connection.url.path == METRICS_PATH:
        return ApiTokenScope.METRICS_READ
    return ApiTokenScope.READ if connection.scope.get("method", "GET") in SAFE_METHODS else ApiTokenScope.WRITE


async def _api_token_caller(services: ApiServices, secret: str, connection: HTTPConnection) -> Principal:
    owner = None if services.api_tokens is None else await services.api_tokens.authenticate(secret,
                                                                                            datetime.now(UTC))
    if owner is None:
        raise _unauthenticated("the API token is invalid, revoked or expired", "invalid_token")
    token = owner.token
    needed = scope_needed(connection)
    # A scrape may also use a general read token; a metrics:read token reads nothing else.
    held = token.scopes | ({ApiTokenScope.METRICS_READ} if ApiTokenScope.READ in token.scopes else set())
    if needed not in held:
        logger.info("API token %s of %s refused: needs scope %s for %s %s", token.id, owner.user.username, needed,
                    connection.scope.get("method"), connection.url.path)
        raise Problem(403, f"this API token lacks the {needed.value!r} scope", type_=INSUFFICIENT_SCOPE,
                      title="Insufficient scope", extensions={"scope": needed.value},
                      headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed.value}"'})
    return Principal(user_id=str(owner.user.id), username=owner.user.username, role=str(owner.user.role),
                     token_id=token.id, expires_at=token.expires_at,
                     scopes=frozenset(scope.value for scope in token.scopes), api_token_id=token.id)


async def current_user(request: Request, _token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """The authenticated caller (see `authenticate`); `_token` only documents the scheme in OpenAPI."""
    return await authenticate(request)


CurrentUser = Annotated[Principal, Depends(current_user)]


async def interactive_user(user: CurrentUser) -> Principal:
    """A caller signed in with a password: managing credentials is not for API tokens."""
    if not user.interactive:
        raise Problem(403, "this needs a signed-in session, not an API token")
    return user


InteractiveUser = Annotated[Principal, Depends(interactive_user)]


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
