"""ASGI middleware: security headers on every response (HSTS over TLS), the CSRF check of cookie sessions, and a
last-resort 500 problem."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearsight.api.problems import Problem, problem_response
from clearsight.api.security import SAFE_METHODS
from clearsight.api.session_cookies import CSRF_COOKIE, CSRF_HEADER, cookie_authenticated

logger = logging.getLogger(__name__)

# Only our own origin may supply anything; no framing, no plugins, no foreign form targets. Video and
# snapshots are shown from blob: URLs the page makes itself (Media Source Extensions, fetched JPEGs).
STRICT_CSP = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' blob: data:; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
# The Swagger UI page (bundled assets, see api/docs.py) starts itself with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
# RFC 6797: browsers that reached us over TLS keep to HTTPS for a year. Sent over TLS only (§7.2).
HSTS = "max-age=31536000"
CSRF_FAILED = "/problems/csrf-failed"
# Signing in sets the cookies it would check; a stale session cookie must not block it.
CSRF_EXEMPT_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/auth/session"})


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response; `docs_paths` get the Swagger UI policy."""

    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in self.docs_paths else STRICT_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                headers["Content-Security-Policy"] = csp
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfMiddleware:
    """Refuses (403) an unsafe request authenticated by the session cookie unless `X-CSRF-Token` repeats the
    CSRF cookie (double submit, compared in constant time). Bearer-token requests are not affected: a foreign
    site can make a browser send cookies, never an Authorization header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or scope["path"] in CSRF_EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if cookie_authenticated(request):
            expected = request.cookies.get(CSRF_COOKIE, "")
            presented = request.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
                logger.warning("CSRF check failed: %s %s from %s", scope["method"], scope["path"],
                               request.client.host if request.client else "?")
                problem = Problem(403, f"a cookie-authenticated {scope['method']} needs the CSRF cookie's value "
                                  f"in {CSRF_HEADER}", type_=CSRF_FAILED, title="CSRF check failed")
                await problem_response(request, problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class UnhandledErrorMiddleware:
    """Turns an exception no handler took into a logged 500 problem without a traceback.

    Sits inside `SecurityHeadersMiddleware`, so the 500 response carries the security headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if response_started:
                raise  # too late for a problem document; the server closes the connection
            response = problem_response(Request(scope), Problem(500, "internal error; see the server log"))
            await response(scope, receive, send)
