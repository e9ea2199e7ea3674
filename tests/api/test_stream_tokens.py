"""Stream tokens: bound to one channel, expire, and are not interchangeable with API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearsight.api.stream_tokens import StreamTokenService
from clearsight.api.tokens import InvalidToken, TokenService
from tests.api.fakes import FakeUser

SECRET = "s" * 32


def test_a_token_opens_its_channel_only() -> None:
    service = StreamTokenService(SECRET, 60)
    token, expires_at = service.issue("alice", 7)
    grant = service.verify(token, 7)
    assert grant.username == "alice" and grant.channel_id == 7 and grant.expires_at == expires_at
    with pytest.raises(InvalidToken, match="channel 7, not 8"):
        service.verify(token, 8)


def test_expired_forged_and_api_tokens_are_refused() -> None:
    past = StreamTokenService(SECRET, 60, clock=lambda: datetime.now(UTC) - timedelta(minutes=5))
    token, _ = past.issue("alice", 1)
    service = StreamTokenService(SECRET, 60)
    with pytest.raises(InvalidToken, match="expired"):
        service.verify(token, 1)
    with pytest.raises(InvalidToken):
        StreamTokenService("x" * 32, 60).verify(service.issue("alice", 1)[0], 1)
    api_token = TokenService(SECRET, 60).issue(FakeUser(1, "alice", "viewer", "pw"), "0" * 32).access_token
    with pytest.raises(InvalidToken):  # no "ch" claim, and the wrong audience
        service.verify(api_token, 1)
    with pytest.raises(InvalidToken):  # no "role" claim, and the wrong audience
        TokenService(SECRET, 60).verify(service.issue("alice", 1)[0])
