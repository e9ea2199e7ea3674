"""Login throttling: lockout with backoff per user name and per address, 429 with Retry-After, success resets."""

from __future__ import annotations

import httpx
import pytest

from clearsight.api.login_guard import LoginThrottle, ThrottlePolicy
from clearsight.api.ports import LoginThrottled
from clearsight.audit import InMemoryAuditLog
from tests.api.fakes import PASSWORD
from tests.api.session import BASE_URL, assert_problem, login
from tests.audit.api_app import audit_api

ADDRESS = "192.0.2.10"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(ThrottlePolicy(window=900, user_failures=5, client_failures=20, first_lockout=30,
                                        max_lockout=900), clock=clock)


async def fail(throttle: LoginThrottle, username: str = "oper", client: str | None = ADDRESS, times: int = 1) -> None:
    for _ in range(times):
        await throttle.check(username, client)
        await throttle.record(username, client, success=False)


async def retry_after(throttle: LoginThrottle, username: str = "oper", client: str | None = ADDRESS) -> int:
    with pytest.raises(LoginThrottled) as refused:
        await throttle.check(username, client)
    return refused.value.retry_after


async def test_fifth_failure_locks_and_each_further_one_doubles(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, times=4)
    await throttle.check("oper", ADDRESS)  # four are free
    await fail(throttle)
    assert await retry_after(throttle) == 30
    clock.now += 30
    await fail(throttle)
    assert await retry_after(throttle) == 60
    clock.now += 60
    await fail(throttle)
    assert await retry_after(throttle) == 120
    assert [throttle.policy.lockout(n, 5) for n in (4, 5, 9, 10, 10_000)] == [0, 30, 480, 900, 900]  # capped


async def test_success_resets_the_user_name(throttle: LoginThrottle) -> None:
    await fail(throttle, times=4)
    await throttle.record("oper", ADDRESS, success=True)
    await fail(throttle, times=4)
    await throttle.check("oper", ADDRESS)


async def test_failures_are_forgotten_after_the_window(throttle: LoginThrottle, clock: Clock) -> None:
    await fail(throttle, times=4)
    clock.now += 901
    await fail(throttle)
    await throttle.check("oper", ADDRESS)


async def test_an_address_spraying_user_names_is_locked(throttle: LoginThrottle) -> None:
    for n in range(20):
        await fail(throttle, f"user{n}")
    assert await retry_after(throttle, "admin") == 30
    await throttle.check("admin", "192.0.2.99")  # other addresses are not affected
    await throttle.check("admin", None)


async def test_a_success_does_not_launder_failures_against_other_names(throttle: LoginThrottle) -> None:
    for n in range(16):
        await fail(throttle, f"user{n}")
    await fail(throttle, "mine", times=3)  # 19 from the address
    await throttle.record("mine", ADDRESS, success=True)  # takes away the 3 against "mine" only
    for n in range(16, 19):
        await fail(throttle, f"user{n}")
    await throttle.check("user0", ADDRESS)  # 19
    await fail(throttle, "user19")
    assert await retry_after(throttle, "anyone") == 30


async def test_memory_is_bounded(clock: Clock) -> None:
    throttle = LoginThrottle(clock=clock, max_tracked=100)
    for n in range(1000):
        await throttle.record(f"user{n}", f"10.0.{n // 250}.{n % 250}", success=False)
    assert len(throttle._users) == 100 and len(throttle._clients) <= 100


def test_policy_is_checked() -> None:
    with pytest.raises(ValueError):
        ThrottlePolicy(user_failures=0)
    with pytest.raises(ValueError):
        ThrottlePolicy(first_lockout=60, max_lockout=30)


async def test_the_api_answers_429_with_retry_after_and_audits_it(throttle: LoginThrottle, clock: Clock) -> None:
    audit = InMemoryAuditLog()
    app = audit_api(audit, login_guard=throttle)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        for _ in range(5):
            assert (await login(client, "oper", "wrong password")).status_code == 401
        refused = await login(client, "oper")  # even the right password, while locked
        body = assert_problem(refused, 429)
        assert refused.headers["retry-after"] == "30" and body["type"] == "/problems/login-throttled"
        clock.now += 30
        assert (await login(client, "oper", PASSWORD)).status_code == 200
        assert (await login(client, "oper", "wrong password")).status_code == 401  # the count starts again
    assert audit.actions() == ["login.failure"] * 6 + ["login.success", "login.failure"]
    assert audit.entries[5].details == {"throttled": True, "retry_after": 30}
