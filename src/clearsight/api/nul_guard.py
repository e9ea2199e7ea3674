"""Refuse text containing NUL (U+0000) before it reaches a handler.

PostgreSQL text cannot hold NUL, so such a string would fail deep in a query as a server error, and no
name, reason or filter of ours has a use for it. The guard looks at the path, the query string and
bodies of JSON or form requests (read whole and handed on unchanged), and answers 422 with a problem.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearsight.api.problems import PROBLEM_MEDIA_TYPE, VALIDATION_FAILED

CHECKED_MEDIA_TYPES = (b"application/json", b"application/x-www-form-urlencoded")
MAX_CHECKED_BODY = 1 << 20  # larger bodies are the handlers' to refuse; ours are small
# A JSON escape \u0000 is one preceded by an even number of backslashes (an odd run escapes the "\").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _has_nul(text: bytes) -> bool:
    return b"\x00" in text or b"\x00" in unquote_to_bytes(text)


def _body_has_nul(body: bytes, content_type: bytes) -> bool:
    if b"\x00" in body:
        return True
    if content_type.startswith(b"application/json"):
        return _JSON_NUL.search(body) is not None
    return b"%00" in body


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if _has_nul(path) or _has_nul(scope.get("query_string", b"")):
            await self._refuse(scope, receive, send, "the URL")
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").lower()
        if scope["type"] != "http" or not content_type.startswith(CHECKED_MEDIA_TYPES):
            await self._app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > MAX_CHECKED_BODY:
                break
        if len(body) <= MAX_CHECKED_BODY and _body_has_nul(bytes(body), content_type):
            await self._refuse(scope, receive, send, "the request body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self._app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        detail = f"NUL characters (U+0000) are not accepted in {where}"
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": detail})
            return
        body = json.dumps({"type": VALIDATION_FAILED, "title": "Unprocessable Content", "status": 422,
                           "detail": detail, "instance": scope["path"]}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
