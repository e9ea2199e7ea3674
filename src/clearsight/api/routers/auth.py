"""`/api/v1/auth/…`: signing in (OAuth2 password flow, RFC 6749 §4.3, or a cookie), out, password and sessions."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, Response

from clearsight.access.sessions import SessionKind, SessionRecord
from clearsight.access.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, Role, WeakPassword
from clearsight.api.auditing import client_address
from clearsight.api.credential_schemas import CookieSessionOut, PasswordChangeIn, SessionOut
from clearsight.api.deps import ApiServices, Services
from clearsight.api.ports import UserRecord
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.schemas import TokenOut
from clearsight.api.security import InteractiveUser
from clearsight.api.session_cookies import clear_session_cookies, new_csrf_token, set_session_cookies
from clearsight.api.tokens import Principal
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

WEAK_PASSWORD = "/problems/weak-password"  # extensions: rule (access.password_policy.PasswordRule)

router = APIRouter(prefix="/auth", tags=["auth"], responses=PROBLEM_RESPONSES)
Username = Annotated[str, Form(min_length=1, max_length=MAX_USERNAME_LENGTH)]
Password = Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
SessionId = Annotated[str, Path(min_length=1, max_length=64)]


async def _sign_in(request: Request, services: ApiServices, username: str, password: str) -> UserRecord:
    """The user whose password this is (throttled, audited), else 401."""
    client = client_address(request)
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
    return user


@router.post("/token")
async def issue_token(request: Request, response: Response, services: Services, username: Username,
                      password: Password,
                      grant_type: Annotated[str | None, Form(pattern="^password$")] = None) -> TokenOut:
    """Exchange a user name and password for a bearer token (of a new session)."""
    user = await _sign_in(request, services, username, password)
    session, issued = await services.sessions.open(user, SessionKind.BEARER, client_address(request),
                                                   request.headers.get("user-agent"))
    logger.info("user %s (role %s) logged in from %s, session %s", user.username, issued.principal.role,
                session.client, session.id)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/session")
async def open_cookie_session(request: Request, response: Response, services: Services, username: Username,
                              password: Password) -> CookieSessionOut:
    """Sign in with a session cookie (HttpOnly) and a CSRF cookie, whose value unsafe requests send back in
    `X-CSRF-Token`."""
    user = await _sign_in(request, services, username, password)
    session, issued = await services.sessions.open(user, SessionKind.COOKIE, client_address(request),
                                                   request.headers.get("user-agent"))
    csrf = new_csrf_token()
    set_session_cookies(response, request, issued.access_token, csrf, issued.expires_in)
    logger.info("user %s logged in with a cookie from %s, session %s", user.username, session.client, session.id)
    response.headers["Cache-Control"] = "no-store"
    return CookieSessionOut(csrf_token=csrf, expires_in=issued.expires_in)


@router.post("/logout", status_code=204)
async def logout(request: Request, services: Services, user: InteractiveUser) -> Response:
    """End this session: its tokens, its cookie and the streams opened with it."""
    response = Response(status_code=204)
    clear_session_cookies(response, request)
    session = await services.sessions.active(user.session_id or "")
    if session is not None:
        ended = await services.sessions.revoke([session], user.username)
        await services.audit.record(AuditAction.LOGOUT, actor=user.username, target=f"session:{session.id}",
                                    client=client_address(request), details={"streams_ended": ended})
    return response


@router.put("/password", status_code=204)
async def change_password(request: Request, services: Services, user: InteractiveUser,
                          body: PasswordChangeIn) -> Response:
    """Change the caller's password (the current one is checked, throttled like a login); the caller's other
    sessions end."""
    client = client_address(request)
    await services.login_guard.check(user.username, client)
    checked = await services.users.authenticate(user.username, body.current_password)
    await services.login_guard.record(user.username, client, success=checked is not None)
    if checked is None or str(checked.id) != user.user_id:
        raise Problem(403, "the current password is wrong")
    try:
        await services.users.change_password(int(checked.id), body.new_password)
    except WeakPassword as exc:
        raise Problem(422, f"the new password is {exc.reason}", type_=WEAK_PASSWORD, title="Password too weak",
                      extensions={"rule": exc.rule.value}) from exc
    others = await services.sessions.revoke_user(int(checked.id), user.username, keep=user.session_id)
    await services.audit.record(AuditAction.PASSWORD_CHANGE, actor=user.username, target=f"user:{checked.id}",
                                client=client, details={"sessions_revoked": len(others)})
    return Response(status_code=204)


def _session_out(record: SessionRecord, caller: Principal) -> SessionOut:
    return SessionOut(id=record.id, user_id=record.user_id, username=record.username, kind=record.kind,
                      created_at=record.created_at, last_seen_at=record.last_seen_at, expires_at=record.expires_at,
                      client=record.client, user_agent=record.user_agent, current=record.id == caller.session_id)


def _may_manage(caller: Principal, user_id: int) -> bool:
    return caller.role == Role.ADMINISTRATOR or caller.user_id == str(user_id)


@router.get("/sessions")
async def list_sessions(services: Services, user: InteractiveUser,
                        user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                                             description="Administrators: this user's "
                                                             "(default: everyone's).")] = None,
                        ) -> list[SessionOut]:
    """The caller's active sessions; administrators see any user's (everyone's without `user_id`)."""
    if user.role != Role.ADMINISTRATOR:
        if user_id is not None and str(user_id) != user.user_id:
            raise Problem(403, "only administrators see other users' sessions")
        user_id = int(user.user_id)
    sessions = await services.sessions.store.list_sessions(user_id, services.tokens.now())
    return [_session_out(record, user) for record in sessions]


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke_session(request: Request, services: Services, user: InteractiveUser,
                         session_id: SessionId) -> Response:
    """End a session (the caller's own; administrators: anyone's) and the streams opened with it."""
    session = await services.sessions.active(session_id)
    if session is None or not _may_manage(user, session.user_id):
        raise Problem(404, f"no active session {session_id}")
    ended = await services.sessions.revoke([session], user.username)
    await services.audit.record(AuditAction.SESSION_REVOKE, actor=user.username, target=f"session:{session.id}",
                                client=client_address(request),
                                details={"user": session.username, "streams_ended": ended})
    response = Response(status_code=204)
    if session.id == user.session_id:
        clear_session_cookies(response, request)
    return response

