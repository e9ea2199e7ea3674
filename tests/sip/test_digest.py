"""Digest authentication: RFC test vectors, GB/T 28181 fixtures, stateless nonces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from clearsight.sip.digest import (
    DigestAlgorithm,
    DigestAuthenticator,
    DigestChallenge,
    DigestCredentials,
    DigestError,
    DigestVerdict,
    authorization_for,
    digest_response,
    parse_challenge,
    parse_credentials,
)
from clearsight.sip.message import SipRequest, SipResponse, parse_message

FIXTURES = Path("/work/shared/fixtures/gb28181-captures")


def fixture(number: str) -> SipRequest | SipResponse:
    (path,) = FIXTURES.glob(f"{number}-*.sip")
    return parse_message(path.read_bytes())


def www_authenticate(number: str) -> str:
    value = fixture(number).headers.get("WWW-Authenticate")
    assert value is not None
    return value


def authorization(number: str) -> str:
    value = fixture(number).headers.get("Authorization")
    assert value is not None
    return value


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- RFC test vectors ---------------------------------------------------------------------------

RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
    'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def test_rfc2617_section_3_5_example() -> None:
    creds = parse_credentials(RFC2617_AUTHORIZATION)
    assert creds.username == "Mufasa"
    assert creds.nc == "00000001"
    assert creds.qop == "auth"
    assert creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert digest_response(
        DigestAlgorithm.MD5, username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
        method="GET", uri="/dir/index.html", nonce=creds.nonce, qop="auth", nc="00000001", cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"


def test_rfc2617_client_side_reproduces_example() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge.qop == ("auth", "auth-int")
    value = authorization_for(challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
                              cnonce="0a4f113b")
    creds = parse_credentials(value)
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"  # echoed
    assert creds.nc == "00000001"


RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
])
def test_rfc7616_section_3_9_1_example(algorithm: str, expected: str) -> None:
    challenge = parse_challenge(
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )
    value = authorization_for(challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life",
                              cnonce=RFC7616_CNONCE)
    creds = parse_credentials(value)
    assert creds.response == expected
    assert creds.algorithm is DigestAlgorithm.from_token(algorithm)
    assert f"algorithm={algorithm}" in value


# --- parsing: fixtures --------------------------------------------------------------------------

def test_fixture_02_lowercase_md5_without_qop() -> None:
    challenge = parse_challenge(www_authenticate("02"))
    assert challenge == DigestChallenge(realm="3402000000", nonce="9485904448344456af5449b51759016e",
                                        algorithm=DigestAlgorithm.MD5)
    assert challenge.qop == ()


def test_fixture_03_qop_without_spaces() -> None:
    challenge = parse_challenge(www_authenticate("03"))
    assert challenge.realm == "3402000000"
    assert challenge.qop == ("auth",)
    assert challenge.nonce == "6eb1340d99c404a0e4d3b68d15d1d46f"


def test_fixture_08_opaque_and_realm_hik() -> None:
    challenge = parse_challenge(www_authenticate("08"))
    assert challenge.realm == "hik"
    assert challenge.opaque == "a853e4f25298413f9bf3a9aa6767857d"


def test_fixture_12_timestamp_nonce_8digit_realm() -> None:
    challenge = parse_challenge(www_authenticate("12"))
    assert (challenge.realm, challenge.nonce, challenge.algorithm) == ("34020000", "1715926053",
                                                                       DigestAlgorithm.MD5)


def test_fixture_04_username_differs_from_device_id() -> None:
    creds = parse_credentials(authorization("04"))
    assert creds.username == "34020000001320000088"
    assert fixture("04").from_addr.uri.user == "34020000001320000002"
    assert creds.qop is None and creds.cnonce is None and creds.nc is None
    # The camera's password is the Hikvision default; legacy (no qop) response, REGISTER method.
    assert digest_response(creds.algorithm, username=creds.username, realm=creds.realm, password="12345678",
                           method="REGISTER", uri=creds.uri, nonce=creds.nonce) == creds.response


def test_fixture_09_admin_username_and_opaque_after_algorithm() -> None:
    creds = parse_credentials(authorization("09"))
    assert creds.username == "admin"
    assert creds.realm == "hik"
    assert creds.opaque == "a853e4f25298413f9bf3a9aa6767857d"
    assert digest_response(creds.algorithm, username="admin", realm="hik", password="12345",
                           method="REGISTER", uri=creds.uri, nonce=creds.nonce) == creds.response


def test_client_answers_fixture_challenge_like_the_camera_did() -> None:
    challenge = parse_challenge(www_authenticate("08"))
    request = fixture("09")
    assert isinstance(request, SipRequest)
    value = authorization_for(challenge, "REGISTER", request.uri, "admin", "12345")
    assert parse_credentials(value).response == parse_credentials(authorization("09")).response
    assert 'opaque="a853e4f25298413f9bf3a9aa6767857d"' in value
    assert "qop" not in value and "cnonce" not in value


# --- parsing: tolerance and errors --------------------------------------------------------------

def test_parse_tolerates_no_spaces_unquoted_any_order_and_case() -> None:
    creds = parse_credentials(
        'digest NC=0000000a,qop="auth",Response=abc,URI="sip:a@b",nonce=n1,realm=r,cnonce=c,username="u"'
    )
    assert creds == DigestCredentials(username="u", realm="r", nonce="n1", uri="sip:a@b", response="abc",
                                      qop="auth", cnonce="c", nc="0000000a")


def test_parse_quoted_escapes_and_commas() -> None:
    creds = parse_credentials(
        r'Digest username="a\"b,c", realm="r", nonce="n", uri="sip:x@y", response="r1"'
    )
    assert creds.username == 'a"b,c'


def test_client_quotes_awkward_usernames() -> None:
    challenge = DigestChallenge(realm="r", nonce="n")
    value = authorization_for(challenge, "REGISTER", "sip:x@y", 'we"ird\\name', "pw")
    assert parse_credentials(value).username == 'we"ird\\name'


@pytest.mark.parametrize("value", [
    "",
    "Basic realm=\"x\"",
    "Digest",
    'Digest realm="x"',  # no nonce
    'Digest realm="x", nonce="unterminated',
    'Digest realm="x" nonce="y"',  # missing comma
    'Digest realm="x", nonce',
    'Digest realm="x", nonce="a", nonce="b"',
    'Digest realm="x", nonce="y", algorithm=SHA-512',
    'Digest realm="x", =y, nonce="z"',
])
def test_bad_challenges_raise_digest_error(value: str) -> None:
    with pytest.raises(DigestError):
        parse_challenge(value)


@pytest.mark.parametrize("value", [
    'Digest realm="r", nonce="n", uri="u", response="x"',  # no username
    'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth',  # qop without cnonce/nc
    'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth, cnonce="c", nc=zz',
    'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth-int, cnonce="c", nc=1',
])
def test_bad_credentials_raise_digest_error(value: str) -> None:
    with pytest.raises(DigestError) as info:
        parse_credentials(value)
    assert info.value.reason


def test_client_refuses_auth_int_only() -> None:
    with pytest.raises(DigestError):
        authorization_for(DigestChallenge(realm="r", nonce="n", qop=("auth-int",)), "REGISTER", "sip:a@b",
                          "u", "p")


def test_session_algorithm_round_trip() -> None:
    clock = Clock(1_700_000_000.0)
    auth = DigestAuthenticator("3402000000", b"k" * 32, 300, clock)
    challenge = parse_challenge(auth.challenge("MD5-sess"))
    assert challenge.algorithm is DigestAlgorithm.MD5_SESS
    creds = parse_credentials(authorization_for(challenge, "REGISTER", "sip:x@y", "dev", "pw"))
    assert auth.verify(creds, "REGISTER", "pw", clock.now) is DigestVerdict.OK


# --- server side: stateless nonces ----------------------------------------------------------------

DEVICE = "34020000001320000001"
URI = "sip:34020000002000000001@3402000000"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_750_000_000.0)


@pytest.fixture
def authenticator(clock: Clock) -> DigestAuthenticator:
    return DigestAuthenticator("3402000000", b"secret-of-the-platform", nonce_ttl=300.0, clock=clock)


def answer(auth: DigestAuthenticator, *, algorithm: str = "MD5", password: str = "12345678",
           username: str = DEVICE, legacy: bool = False, method: str = "REGISTER") -> DigestCredentials:
    challenge = parse_challenge(auth.challenge(algorithm))
    if legacy:  # a Hikvision-style answer that ignores qop
        challenge = replace(challenge, qop=())
    return parse_credentials(authorization_for(challenge, method, URI, username, password))


def test_challenge_format(authenticator: DigestAuthenticator) -> None:
    value = authenticator.challenge()
    challenge = parse_challenge(value)
    assert challenge.realm == "3402000000"
    assert challenge.qop == ("auth",)
    assert challenge.algorithm is DigestAlgorithm.MD5
    assert not challenge.stale
    assert parse_challenge(authenticator.challenge("SHA-256", stale=True)).stale
    assert authenticator.challenge() != value  # salted: two challenges in one second differ


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
@pytest.mark.parametrize("legacy", [False, True])
def test_verify_ok(authenticator: DigestAuthenticator, clock: Clock, algorithm: str, legacy: bool) -> None:
    creds = answer(authenticator, algorithm=algorithm, legacy=legacy)
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now + 10) is DigestVerdict.OK


def test_verify_uses_username_from_credentials(authenticator: DigestAuthenticator, clock: Clock) -> None:
    creds = answer(authenticator, username="admin")
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now) is DigestVerdict.OK


def test_wrong_password_or_method_is_mismatch(authenticator: DigestAuthenticator, clock: Clock) -> None:
    creds = answer(authenticator)
    assert authenticator.verify(creds, "REGISTER", "wrong", clock.now) is DigestVerdict.MISMATCH
    assert authenticator.verify(creds, "MESSAGE", "12345678", clock.now) is DigestVerdict.MISMATCH


def test_other_realm_is_mismatch(authenticator: DigestAuthenticator, clock: Clock) -> None:
    challenge = parse_challenge(authenticator.challenge())
    foreign = DigestChallenge(realm="hik", nonce=challenge.nonce)
    creds = parse_credentials(authorization_for(foreign, "REGISTER", URI, DEVICE, "12345678"))
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now) is DigestVerdict.MISMATCH


def test_stale_after_ttl(authenticator: DigestAuthenticator, clock: Clock) -> None:
    creds = answer(authenticator)
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now + 300) is DigestVerdict.OK
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now + 302) is DigestVerdict.STALE
    # a stale nonce with a wrong password is still a mismatch: stale=true only helps honest devices
    assert authenticator.verify(creds, "REGISTER", "nope", clock.now + 302) is DigestVerdict.MISMATCH


def test_nonce_from_the_future_is_stale(authenticator: DigestAuthenticator, clock: Clock) -> None:
    creds = answer(authenticator)
    assert authenticator.verify(creds, "REGISTER", "12345678", clock.now - 1000) is DigestVerdict.STALE


def test_tampered_nonce_is_foreign(authenticator: DigestAuthenticator, clock: Clock) -> None:
    creds = answer(authenticator)
    nonce = creds.nonce
    # push the timestamp forward to extend its life: the HMAC no longer matches
    forged_time = f"{int(nonce[:8], 16) + 3600:08x}" + nonce[8:]
    for forged in (forged_time, nonce[:-1] + ("0" if nonce[-1] != "0" else "1"), nonce.upper()[:-2] + "zz"):
        tampered = replace(creds, nonce=forged)
        verdict = authenticator.verify(tampered, "REGISTER", "12345678", clock.now)
        assert verdict is DigestVerdict.FOREIGN_NONCE


def test_nonce_from_another_platform_or_secret_is_foreign(clock: Clock) -> None:
    ours = DigestAuthenticator("3402000000", b"one", 300, clock)
    theirs = DigestAuthenticator("3402000000", b"two", 300, clock)
    creds = answer(theirs)
    assert ours.verify(creds, "REGISTER", "12345678", clock.now) is DigestVerdict.FOREIGN_NONCE
    fixture_creds = parse_credentials(authorization("04"))
    assert ours.verify(fixture_creds, "REGISTER", "12345678", clock.now) is DigestVerdict.FOREIGN_NONCE


def test_nonce_is_bound_to_realm(clock: Clock) -> None:
    a = DigestAuthenticator("3402000000", b"same", 300, clock)
    b = DigestAuthenticator("4401000000", b"same", 300, clock)
    assert b.nonce_issued_at(a.new_nonce()) is None
    assert a.nonce_issued_at(a.new_nonce()) == int(clock.now)


def test_empty_secret_refused(clock: Clock) -> None:
    with pytest.raises(ValueError):
        DigestAuthenticator("r", b"", 300, clock)
