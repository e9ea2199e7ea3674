"""Users: Argon2 hashing, creation, authentication, the first administrator."""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access import users as users_module
from clearsight.access.users import (
    InvalidUsername,
    Role,
    UserExists,
    UserStore,
    WeakPassword,
    hash_password,
    verify_password,
)
from clearsight.db import session_factory
from clearsight.registry.models import User

# Cheap parameters: the tests check behaviour, not the cost of hashing.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def user_store(db_engine: AsyncEngine) -> UserStore:
    return UserStore(session_factory(db_engine), hasher=FAST)


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse", FAST)
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("correct horse", FAST)  # salted
    assert verify_password(hashed, "correct horse", FAST)
    assert not verify_password(hashed, "wrong horse", FAST)
    assert not verify_password("not a hash", "correct horse", FAST)


async def test_create_get_authenticate(user_store: UserStore) -> None:
    created = await user_store.create_user("alice", "correct horse", Role.OPERATOR)
    assert (created.username, created.role, created.is_active) == ("alice", Role.OPERATOR, True)
    assert created.created_at.tzinfo is not None
    assert await user_store.get_user("alice") == created
    assert await user_store.get_user("bob") is None
    assert await user_store.authenticate("alice", "correct horse") == created
    assert await user_store.authenticate("alice", "wrong horse") is None
    assert await user_store.authenticate("bob", "correct horse") is None
    assert await user_store.authenticate("alice", "x" * 5000) is None


async def test_create_user_validation(user_store: UserStore) -> None:
    await user_store.create_user("alice", "correct horse", "viewer")
    with pytest.raises(UserExists):
        await user_store.create_user("alice", "another pass", Role.VIEWER)
    with pytest.raises(WeakPassword):
        await user_store.create_user("bob", "short", Role.VIEWER)
    with pytest.raises(InvalidUsername):
        await user_store.create_user(" bob", "correct horse", Role.VIEWER)
    with pytest.raises(InvalidUsername):
        await user_store.create_user("b" * 65, "correct horse", Role.VIEWER)
    with pytest.raises(ValueError):
        await user_store.create_user("bob", "correct horse", "superuser")


async def test_inactive_user_cannot_sign_in(user_store: UserStore, db_engine: AsyncEngine) -> None:
    await user_store.create_user("alice", "correct horse", Role.AUDITOR)
    async with session_factory(db_engine).begin() as session:
        await session.execute(update(User).where(User.username == "alice").values(is_active=False))
    assert await user_store.authenticate("alice", "correct horse") is None


async def test_outdated_hash_is_rehashed(db_engine: AsyncEngine) -> None:
    weak = UserStore(
        session_factory(db_engine), hasher=PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    )
    await weak.create_user("alice", "correct horse", Role.MAINTAINER)
    stronger = UserStore(session_factory(db_engine), hasher=FAST)
    assert await stronger.authenticate("alice", "correct horse") is not None
    async with session_factory(db_engine)() as session:
        stored = await session.scalar(User.__table__.select().with_only_columns(User.password_hash))
    assert stored is not None and "m=1024" in stored
    assert await stronger.authenticate("alice", "correct horse") is not None


async def test_ensure_admin_is_idempotent(user_store: UserStore) -> None:
    assert await user_store.ensure_admin("admin", "first password")
    assert not await user_store.ensure_admin("admin", "second password")
    assert not await user_store.ensure_admin("root", "another password")
    admin = await user_store.authenticate("admin", "first password")
    assert admin is not None and admin.role is Role.ADMINISTRATOR
    assert await user_store.get_user("root") is None


async def test_ensure_admin_concurrently_creates_one(user_store: UserStore) -> None:
    results = await asyncio.gather(*(user_store.ensure_admin("admin", "first password") for _ in range(4)))
    assert results.count(True) == 1


async def test_ensure_admin_does_nothing_when_users_exist(user_store: UserStore) -> None:
    await user_store.create_user("alice", "correct horse", Role.VIEWER)
    assert not await user_store.ensure_admin("admin", "first password")
    assert await user_store.get_user("admin") is None


async def test_ensure_admin_validates(user_store: UserStore) -> None:
    with pytest.raises(WeakPassword):
        await user_store.ensure_admin("admin", "short")


async def test_hashing_runs_off_the_event_loop(
    user_store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real_hash, real_verify = users_module.hash_password, users_module.verify_password

    def spy_hash(password: str, hasher: PasswordHasher = FAST) -> str:
        threads.append(threading.get_ident())
        return real_hash(password, hasher)

    def spy_verify(password_hash: str, password: str, hasher: PasswordHasher = FAST) -> bool:
        threads.append(threading.get_ident())
        return real_verify(password_hash, password, hasher)

    monkeypatch.setattr(users_module, "hash_password", spy_hash)
    monkeypatch.setattr(users_module, "verify_password", spy_verify)
    await user_store.create_user("alice", "correct horse", Role.VIEWER)
    await user_store.authenticate("alice", "correct horse")
    await user_store.authenticate("nobody", "correct horse")
    assert len(threads) == 3 and loop_thread not in threads
