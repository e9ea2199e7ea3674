"""`/api/v1/users`: the signed-in user (`/users/me`, anyone) and users for administrators (`PUT
/users/{id}/active`, which also ends the account's sessions, is in `users.py`).

Creating goes through `UserStore.create_user` (its password policy applies); every creation and change is
audited as permission.change, never with the password. Disabling ends the user's sessions, and
`api/caller_state.py` refuses any credential of a disabled user; a changed role applies to the next request.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from clearsight.access.store import UnknownDepartment
from clearsight.access.user_directory import MAX_PAGE, UserChange, UserDirectory, UserProfile
from clearsight.access.users import InvalidUsername, UserExists, WeakPassword
from clearsight.api.auditing import client_address
from clearsight.api.deps import ApiServices, Services
from clearsight.api.problems import PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.routers.grants import access_of
from clearsight.api.security import Administrator, CurrentUser
from clearsight.api.user_schemas import UserCreateIn, UserOut, UserPageOut, UserPatchIn
from clearsight.audit import AuditAction, JsonValue

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/users", tags=["access"], responses=PROBLEM_RESPONSES)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The user's ID.")]


def _directory(services: ApiServices) -> UserDirectory:
    return UserDirectory(access_of(services).store.sessions)


def _invalid(detail: str) -> Problem:
    return Problem(422, detail, type_=VALIDATION_FAILED, title="Request validation failed")


@router.get("/me")
async def read_me(services: Services, user: CurrentUser) -> UserOut:
    """The signed-in user: role and department (with its home region), as stored now."""
    profile = await _directory(services).profile(int(user.user_id))
    if profile is None:
        raise Problem(401, "the user of this token no longer exists",
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return UserOut.of(profile)


@router.get("")
async def list_users(services: Services, _user: Administrator,
                     limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                     cursor: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None) -> UserPageOut:
    """Users by ascending ID, `limit` at a time."""
    return UserPageOut.of(await _directory(services).list(limit=limit, cursor=cursor))


@router.post("", status_code=201)
async def create_user(request: Request, services: Services, user: Administrator, body: UserCreateIn) -> UserOut:
    """Create an active user (the password policy of the platform applies), optionally in a department."""
    access = access_of(services)
    if body.department_id is not None and await access.store.get_department(body.department_id) is None:
        raise _invalid(f"no department {body.department_id}")
    try:
        created = await services.users.create_user(body.username, body.password, body.role)
    except UserExists as exc:
        raise Problem(409, str(exc)) from exc
    except (InvalidUsername, WeakPassword) as exc:
        raise _invalid(str(exc)) from exc
    directory = _directory(services)
    profile = await directory.update(int(created.id), UserChange(set_department=True,
                                                                 department_id=body.department_id))
    assert profile is not None
    await _audit(request, services, user.username, profile, {"change": "user.create"})
    return UserOut.of(profile)


@router.patch("/{user_id}")
async def update_user(request: Request, services: Services, user: Administrator, user_id: UserId,
                      body: UserPatchIn) -> UserOut:
    """Change a user's role, department or whether they may sign in (disabling refuses their tokens)."""
    if user_id == int(user.user_id) and (body.active is False or body.role not in (None, user.role)):
        raise Problem(409, "administrators do not disable or demote themselves: ask another administrator")
    change = UserChange(role=body.role, active=body.active, set_department="department_id" in body.model_fields_set,
                        department_id=body.department_id)
    try:
        profile = await _directory(services).update(user_id, change)
    except UnknownDepartment as exc:
        raise _invalid(str(exc)) from exc
    if profile is None:
        raise Problem(404, f"no user {user_id}")
    if body.active is not None:  # as PUT /users/{id}/active does: disabling ends the sessions and streams for good
        await services.sessions.set_account_active(user_id, profile.username, body.active, user.username)
    await _audit(request, services, user.username, profile, {"change": "user.update", **change.fields()})
    return UserOut.of(profile)


async def _audit(request: Request, services: ApiServices, actor: str, profile: UserProfile,
                 details: dict[str, JsonValue]) -> None:
    described: dict[str, JsonValue] = {"username": profile.username, "role": profile.role.value,
                                       "active": profile.is_active,
                                       "department_id": profile.department.id if profile.department else None}
    await services.audit.record(AuditAction.PERMISSION_CHANGE, actor=actor, target=f"user:{profile.id}",
                                client=client_address(request), details={**described, **details})
