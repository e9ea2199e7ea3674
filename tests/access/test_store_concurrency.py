"""Access writes racing other writers: none may fail with SQLite's "database is locked".

A transaction that reads before it writes cannot upgrade its snapshot once another writer has committed in
between; SQLite then fails at once instead of waiting. The store's writing methods write first.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.access.policy import Action, ChannelClass, ScopeKind
from clearsight.access.store import AccessStore, NewGrant, UnknownDepartment
from clearsight.access.users import Role, UserStore
from clearsight.db import session_factory
from clearsight.registry.models import Department
from tests.access.platform import FAST_HASHER

ROUNDS = 40


async def test_department_changes_and_revocations_survive_concurrent_writers(db_engine: AsyncEngine) -> None:
    sessions = session_factory(db_engine)
    store = AccessStore(sessions)
    users = UserStore(sessions, FAST_HASHER)
    departments = [await store.create_department(f"D{i}", None) for i in range(2)]
    scratch = await store.create_department("scratch", None)
    user = await users.create_user("racer", "racer-password-1", Role.OPERATOR)
    grants = [await store.create_grant(NewGrant(
        department_id=departments[0].id, user_id=None, actions=frozenset({Action.LIVE}),
        scope_kind=ScopeKind.REGION, scope_values=("34",), max_class=ChannelClass.PUBLIC), created_by="t")
        for _ in range(ROUNDS)]

    async def other_writer() -> None:  # commits constantly, as the registry's keepalive batches do
        for i in range(ROUNDS * 4):
            async with sessions.begin() as session:
                await session.execute(update(Department).where(Department.id == scratch.id).values(name=f"s{i}"))
            await asyncio.sleep(0)

    async def department_changes() -> None:
        for i in range(ROUNDS):
            assert await store.set_user_department(int(user.id), departments[i % 2].id)
            with pytest.raises(UnknownDepartment):
                await store.set_user_department(int(user.id), 999_999)

    async def revocations() -> None:
        for grant in grants:
            revoked = await store.revoke_grant(grant.id, "t")
            assert revoked is not None and revoked.revoked_at is not None

    await asyncio.gather(other_writer(), other_writer(), department_changes(), revocations())
    subject = await store.subject(int(user.id))
    assert subject is not None and subject.department_id == departments[(ROUNDS - 1) % 2].id
