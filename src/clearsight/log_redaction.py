"""Keeps secrets that travel in URLs (stream tokens in `?token=`) out of the log.

uvicorn logs every WebSocket handshake with its full path and query string; the filter rewrites any
`token=` value in a record's arguments and message before it is formatted.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"(?<=[?&]token=)[^&\s\"']+")
REDACTED = "[redacted]"
# Loggers that write request paths: uvicorn's error logger carries the WebSocket handshake lines.
URL_LOGGERS = ("uvicorn.error", "uvicorn.access")


def redact_url_tokens(text: str) -> str:
    return _TOKEN_IN_URL.sub(REDACTED, text)


class UrlTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = redact_url_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url_tokens(a) if isinstance(a, str) and "token=" in a else a
                                for a in record.args)
        return True


def install_url_token_filter() -> None:
    """Idempotent: adds the filter to the loggers that print URLs."""
    for name in URL_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, UrlTokenFilter) for f in target.filters):
            target.addFilter(UrlTokenFilter())
