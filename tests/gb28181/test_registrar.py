"""REGISTER handling: challenge, digest verification, Date, Expires rules, unregister."""

from __future__ import annotations

import re
from datetime import UTC

import pytest

from clearsight.gb28181.presence import PresenceTracker
from clearsight.gb28181.registrar import MIN_EXPIRES, Registrar, gb_date, requested_expires
from clearsight.sip.digest import DigestAuthenticator, authorization_for, parse_challenge
from clearsight.sip.transport import Peer
from tests.gb28181.platform_fakes import DEVICE_ID, DOMAIN, AnsweredRequest, FakeClock, sip_request

PASSWORD = "12345678"
NONCE_TTL = 300


class Harness:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.presence = PresenceTracker(keepalive_interval=60)
        self.online: list[str] = []
        self.offline: list[str] = []
        self.auth = DigestAuthenticator(realm=DOMAIN, secret=b"k" * 32, nonce_ttl=NONCE_TTL,
                                        clock=self.clock.timestamp)

        async def on_online(device_id: str) -> None:
            self.online.append(device_id)

        async def on_offline(device_id: str) -> None:
            self.offline.append(device_id)

        self.registrar = Registrar(
            authenticator=self.auth, passwords=lambda device_id: {"34020000001320000009": "other-pass"}.get(
                device_id, PASSWORD),
            presence=self.presence, device_tz=UTC, clock=self.clock, max_expires=7200,
            on_online=on_online, on_offline=on_offline)

    async def send(self, extra: list[tuple[str, str]], cseq: int = 1, device_id: str = DEVICE_ID
                   ) -> AnsweredRequest:
        incoming = AnsweredRequest(sip_request("REGISTER", extra=extra, cseq=cseq, device_id=device_id))
        await self.registrar.handle(incoming)
        return incoming

    async def register(self, *, expires: str = "3600", password: str = PASSWORD, username: str = DEVICE_ID,
                       algorithm_index: int = 0, device_id: str = DEVICE_ID) -> AnsweredRequest:
        first = await self.send([("Expires", expires)], device_id=device_id)
        assert first.status == 401
        challenges = first.answers[0].headers.get_all("WWW-Authenticate")
        challenge = parse_challenge(challenges[algorithm_index])
        authorization = authorization_for(challenge, "REGISTER", f"sip:34020000002000000001@{DOMAIN}",
                                          username, password)
        return await self.send([("Expires", expires), ("Authorization", authorization)], cseq=2,
                               device_id=device_id)


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_first_register_is_challenged_md5_first_then_sha256(harness: Harness) -> None:
    answered = await harness.send([("Expires", "3600")])
    assert answered.status == 401
    challenges = [parse_challenge(v) for v in answered.answers[0].headers.get_all("WWW-Authenticate")]
    assert [c.algorithm.value.upper() for c in challenges] == ["MD5", "SHA-256"]
    assert all(c.realm == DOMAIN and c.qop for c in challenges)
    assert not harness.presence.is_online(DEVICE_ID)


async def test_right_password_registers_with_date_and_expires(harness: Harness) -> None:
    answered = await harness.register()
    response = answered.answers[0]
    assert response.status == 200
    assert response.header("Expires") == "3600"
    # GB style: local time with milliseconds and no zone (devices set their clock from it).
    assert response.header("Date") == "2026-11-25T02:00:00.123"
    assert harness.presence.is_online(DEVICE_ID)
    assert harness.online == [DEVICE_ID]


async def test_sha256_challenge_can_be_answered(harness: Harness) -> None:
    assert (await harness.register(algorithm_index=1)).status == 200


async def test_wrong_password_is_forbidden(harness: Harness) -> None:
    assert (await harness.register(password="wrong")).status == 403
    assert not harness.presence.is_online(DEVICE_ID)
    assert harness.online == []


async def test_per_device_password_overrides_the_default(harness: Harness) -> None:
    other = "34020000001320000009"
    assert (await harness.register(device_id=other)).status == 403
    assert (await harness.register(device_id=other, password="other-pass")).status == 200


async def test_digest_username_may_differ_from_the_device_id(harness: Harness) -> None:
    # Hikvision cameras have a separate "SIP user auth ID" (fixture 04); the password is the device's.
    assert (await harness.register(username="34020000001320000088")).status == 200


async def test_missing_expires_is_bad_request(harness: Harness) -> None:
    answered = await harness.send([])
    assert answered.status == 400
    assert answered.answers[0].reason == "Missing Expires"


async def test_expires_from_contact_parameter(harness: Harness) -> None:
    assert requested_expires(None, "<sip:a@b>;expires=600") == 600
    assert requested_expires("120", "<sip:a@b>;expires=600") == 120
    assert requested_expires("abc", None) is None


async def test_too_short_expires_gets_423(harness: Harness) -> None:
    answered = await harness.register(expires=str(MIN_EXPIRES - 1))
    assert answered.status == 423
    assert answered.answers[0].header("Min-Expires") == str(MIN_EXPIRES)


async def test_long_expires_is_capped(harness: Harness) -> None:
    answered = await harness.register(expires="999999")
    assert answered.answers[0].header("Expires") == "7200"


async def test_refresh_does_not_announce_online_again(harness: Harness) -> None:
    await harness.register()
    await harness.register()
    assert harness.online == [DEVICE_ID]


async def test_expires_zero_unregisters(harness: Harness) -> None:
    await harness.register()
    answered = await harness.register(expires="0")
    assert answered.status == 200
    assert answered.answers[0].header("Expires") == "0"
    assert not harness.presence.is_online(DEVICE_ID)
    assert harness.offline == [DEVICE_ID]


async def test_stale_nonce_gets_stale_challenge(harness: Harness) -> None:
    first = await harness.send([("Expires", "3600")])
    challenge = parse_challenge(first.answers[0].headers.get_all("WWW-Authenticate")[0])
    authorization = authorization_for(challenge, "REGISTER", "sip:x@y", DEVICE_ID, PASSWORD)
    harness.clock.advance(NONCE_TTL + 1)
    answered = await harness.send([("Expires", "3600"), ("Authorization", authorization)], cseq=2)
    assert answered.status == 401
    assert re.search(r"stale=(\"?)true\1", answered.answers[0].header("WWW-Authenticate") or "", re.I)
    assert not harness.presence.is_online(DEVICE_ID)


async def test_forged_nonce_is_challenged_again(harness: Harness) -> None:
    forged = (f'Digest username="{DEVICE_ID}", realm="{DOMAIN}", nonce="0000000000abcdef", uri="sip:x@y", '
              'response="00000000000000000000000000000000", algorithm=MD5')
    answered = await harness.send([("Expires", "3600"), ("Authorization", forged)], cseq=2)
    assert answered.status == 401
    assert not harness.presence.is_online(DEVICE_ID)


async def test_unreadable_authorization_is_bad_request(harness: Harness) -> None:
    answered = await harness.send([("Expires", "3600"), ("Authorization", "Basic Zm9vOmJhcg==")], cseq=2)
    assert answered.status == 400


async def test_register_without_device_id_is_bad_request(harness: Harness) -> None:
    request = sip_request("REGISTER", extra=[("Expires", "3600")])
    request.headers.set("From", "<sip:3402000000>;tag=x")
    incoming = AnsweredRequest(request)
    await harness.registrar.handle(incoming)
    assert incoming.status == 400


def test_gb_date_is_local_time_with_milliseconds() -> None:
    from datetime import datetime, timedelta, timezone

    china = timezone(timedelta(hours=8))
    assert gb_date(datetime(2026, 11, 25, 2, 0, 0, 5000, tzinfo=UTC), china) == "2026-11-25T10:00:00.005"


def test_presence_registration_tracks_peer_changes() -> None:
    presence = PresenceTracker(keepalive_interval=60)
    clock = FakeClock()
    assert presence.registered(DEVICE_ID, Peer("UDP", "127.0.0.1", 1), 3600, clock())
    assert not presence.registered(DEVICE_ID, Peer("UDP", "127.0.0.1", 2), 3600, clock())
    presence_entry = presence.get(DEVICE_ID)
    assert presence_entry is not None and presence_entry.peer.port == 2
