"""Stream tokens never reach the log, whichever way uvicorn formats the handshake line."""

from __future__ import annotations

import logging

import pytest

from clearsight.log_redaction import install_url_token_filter, redact_url_tokens


def test_token_values_are_replaced_and_the_rest_kept() -> None:
    assert redact_url_tokens("/api/v1/live/1/ws?token=eyJ.abc.def") == "/api/v1/live/1/ws?token=[redacted]"
    assert redact_url_tokens("/x?a=1&token=s3cret&b=2") == "/x?a=1&token=[redacted]&b=2"
    assert redact_url_tokens("/x?notatoken=1") == "/x?notatoken=1"


def test_uvicorn_handshake_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_url_token_filter()
    install_url_token_filter()  # twice: still one filter
    log = logging.getLogger("uvicorn.error")
    assert len(log.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        log.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/api/v1/live/1/ws?token=eyJhbGc.x.y")
    assert "eyJhbGc" not in caplog.text and "token=[redacted]" in caplog.text
