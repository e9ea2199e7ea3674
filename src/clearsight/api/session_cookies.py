"""The cookie sign-in: an HttpOnly session cookie holding the session's token, and a readable CSRF cookie.

A request authenticated by the session cookie (it has no Authorization header) must repeat the CSRF cookie's
value in `X-CSRF-Token` on every unsafe method (double submit; `middleware.CsrfMiddleware` checks it). Both
cookies are SameSite=Strict, and Secure when the request came over TLS.
"""

from __future__ import annotations

import secrets

from starlette.requests import HTTPConnection
from starlette.responses import Response

SESSION_COOKIE = "clearsight_session"
CSRF_COOKIE = "clearsight_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_TOKEN_BYTES = 32
COOKIE_PATH = "/"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(CSRF_TOKEN_BYTES)


def set_session_cookies(response: Response, connection: HTTPConnection, access_token: str, csrf_token: str,
                        max_age: int) -> None:
    secure = connection.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, access_token, max_age=max_age, path=COOKIE_PATH, secure=secure,
                        httponly=True, samesite="strict")
    # Readable by the page's own scripts, which echo it in X-CSRF-Token; a foreign site cannot read it.
    response.set_cookie(CSRF_COOKIE, csrf_token, max_age=max_age, path=COOKIE_PATH, secure=secure,
                        httponly=False, samesite="strict")


def clear_session_cookies(response: Response, connection: HTTPConnection) -> None:
    secure = connection.url.scheme == "https"
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path=COOKIE_PATH, secure=secure, httponly=httponly, samesite="strict")


def cookie_authenticated(connection: HTTPConnection) -> bool:
    """Whether the request would be authenticated by the session cookie (no Authorization header wins)."""
    return "authorization" not in connection.headers and SESSION_COOKIE in connection.cookies
