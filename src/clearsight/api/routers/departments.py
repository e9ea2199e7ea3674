"""`/api/v1/departments`, users' departments and channel classes (administrators)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request

from clearsight.access.store import DepartmentExists, UnknownDepartment
from clearsight.api.access_schemas import ChannelClassIn, ChannelClassOut, DepartmentIn, DepartmentOut, UserDepartmentIn
from clearsight.api.auditing import client_address
from clearsight.api.deps import Services
from clearsight.api.params import ChannelPk
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.routers.grants import access_of
from clearsight.api.security import Administrator, CurrentUser
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

router = APIRouter(tags=["access"], responses=PROBLEM_RESPONSES)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/departments")
async def list_departments(services: Services, _user: CurrentUser) -> list[DepartmentOut]:
    """Every department (anyone signed in: share requests name them)."""
    return [DepartmentOut.model_validate(d) for d in await access_of(services).store.list_departments()]


@router.post("/departments", status_code=201)
async def create_department(request: Request, services: Services, user: Administrator,
                            body: DepartmentIn) -> DepartmentOut:
    access = access_of(services)
    try:
        created = await access.store.create_department(body.name, body.home_region_code)
    except DepartmentExists as exc:
        raise Problem(409, str(exc)) from exc
    await services.audit.record(AuditAction.PERMISSION_CHANGE, actor=user.username, target=f"department:{created.id}",
                                client=client_address(request),
                                details={"change": "department.create", "name": created.name,
                                         "home_region_code": created.home_region_code})
    return DepartmentOut.model_validate(created)


@router.put("/users/{user_id}/department", status_code=204)
async def set_user_department(request: Request, services: Services, user: Administrator, user_id: UserId,
                              body: UserDepartmentIn) -> None:
    access = access_of(services)
    try:
        found = await access.store.set_user_department(user_id, body.department_id)
    except UnknownDepartment as exc:
        raise Problem(422, str(exc)) from exc
    if not found:
        raise Problem(404, f"no user {user_id}")
    await services.audit.record(AuditAction.PERMISSION_CHANGE, actor=user.username, target=f"user:{user_id}",
                                client=client_address(request),
                                details={"change": "user.department", "department_id": body.department_id})


@router.put("/channels/{channel_id}/class")
async def set_channel_class(request: Request, services: Services, user: Administrator, channel_id: ChannelPk,
                            body: ChannelClassIn) -> ChannelClassOut:
    """Classify a channel public, restricted or sensitive; grants reach up to a class."""
    if not await access_of(services).set_channel_class(channel_id, body.channel_class, user.username,
                                                       client_address(request)):
        raise Problem(404, f"no channel {channel_id}")
    return ChannelClassOut(channel_id=channel_id, channel_class=body.channel_class)
