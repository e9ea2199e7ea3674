"""The password policy: each rule, named; applied on every path that sets a password; the setting."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.password_policy import COMMON_PASSWORDS, PasswordPolicy, PasswordRule, WeakPassword
from clearsight.access.users import Role, UserStore
from clearsight.config import SettingsError, load_settings
from clearsight.db import session_factory

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.mark.parametrize(("username", "password", "rule"), [
    ("alice", "eleven char", PasswordRule.MIN_LENGTH),
    ("alice", "x" * 1025, PasswordRule.MAX_LENGTH),
    ("operator.one", "Operator.One", PasswordRule.NOT_USERNAME),
    ("alice", "Password1234", PasswordRule.NOT_COMMON),
    ("alice", "1Q2W3E4R5T6Y", PasswordRule.NOT_COMMON),
])
def test_each_rule_refuses_and_names_itself(username: str, password: str, rule: PasswordRule) -> None:
    with pytest.raises(WeakPassword) as refused:
        PasswordPolicy().check(username, password)
    assert refused.value.rule is rule


def test_a_good_password_passes_and_the_length_is_a_setting() -> None:
    PasswordPolicy().check("alice", "twelve chars")
    with pytest.raises(WeakPassword):
        PasswordPolicy(min_length=16).check("alice", "fifteen chars!!")
    assert all(p == p.casefold() for p in COMMON_PASSWORDS)  # compared folded


async def test_every_path_that_sets_a_password_applies_the_policy(db_engine: AsyncEngine) -> None:
    users = UserStore(session_factory(db_engine), FAST, PasswordPolicy(min_length=14))
    with pytest.raises(WeakPassword):
        await users.ensure_admin("admin", "thirteen char")
    with pytest.raises(WeakPassword):
        await users.create_user("alice", "thirteen char", Role.VIEWER)
    created = await users.create_user("alice", "fourteen chars", Role.VIEWER)
    with pytest.raises(WeakPassword) as refused:
        await users.change_password(int(created.id), "administrator1")
    assert refused.value.rule is PasswordRule.NOT_COMMON

    assert await users.change_password(int(created.id), "a better passphrase") is not None
    assert await users.authenticate("alice", "a better passphrase") is not None
    assert await users.authenticate("alice", "fourteen chars") is None
    assert await users.change_password(999, "a better passphrase") is None


def test_the_first_administrators_configured_password_is_checked_at_load() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(admin_password="Password1234")  # 12 characters, but common
    assert "common" in str(refused.value) and "Password1234" not in str(refused.value)
    with pytest.raises(SettingsError, match="shorter than 20"):
        load_settings(admin_password="correct horse", password_min_length=20)
    assert load_settings(admin_password="correct horse").admin_password == "correct horse"
