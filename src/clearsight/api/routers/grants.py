"""`/api/v1/grants`: explicit permissions (administrators); every change is audited as permission.change."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request

from clearsight.access.policy import HoursOfDay
from clearsight.access.service import AccessControl
from clearsight.access.store import AccessError, NewGrant
from clearsight.api.access_schemas import GrantIn, GrantOut, parse_hours
from clearsight.api.auditing import client_address
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import RowKeyFilter
from clearsight.api.problems import PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.security import Administrator

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/grants", tags=["access"], responses=PROBLEM_RESPONSES)
GrantId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The grant's ID.")]


def access_of(services: ApiServices) -> AccessControl:
    if services.access is None:
        raise Problem(503, "access control is not configured on this platform")
    return services.access


@router.get("")
async def list_grants(services: Services, _user: Administrator,
                      department_id: RowKeyFilter = None,
                      user_id: RowKeyFilter = None,
                      include_revoked: bool = False) -> list[GrantOut]:
    grants = await access_of(services).store.list_grants(department_id=department_id, user_id=user_id,
                                                         include_revoked=include_revoked)
    return [GrantOut.of(grant) for grant in grants]


@router.post("", status_code=201)
async def create_grant(request: Request, services: Services, user: Administrator, body: GrantIn) -> GrantOut:
    access = access_of(services)
    hours = None
    try:
        if body.hours is not None:
            start, end = parse_hours(body.hours)
            hours = HoursOfDay(start, end, body.hours_zone)
        grant = NewGrant(actions=frozenset(body.actions), scope_kind=body.scope_kind,
                         scope_values=tuple(dict.fromkeys(body.scope_values)), max_class=body.max_class,
                         department_id=body.department_id, user_id=body.user_id, hours=hours,
                         valid_from=body.valid_from, valid_until=body.valid_until, note=body.note)
        created = await access.create_grant(grant, user.username, client_address(request))
    except (ValueError, AccessError) as exc:  # an unknown zone, department or user
        raise Problem(422, str(exc), type_=VALIDATION_FAILED, title="Request validation failed") from exc
    logger.info("grant %s created by %s", created.id, user.username)
    return GrantOut.of(created)


@router.get("/{grant_id}")
async def get_grant(services: Services, _user: Administrator, grant_id: GrantId) -> GrantOut:
    grant = await access_of(services).store.get_grant(grant_id)
    if grant is None:
        raise Problem(404, f"no grant {grant_id}")
    return GrantOut.of(grant)


@router.delete("/{grant_id}")
async def revoke_grant(request: Request, services: Services, user: Administrator, grant_id: GrantId) -> GrantOut:
    """Revoke at once: open streams under the grant are ended. The grant is kept, stamped revoked."""
    revoked = await access_of(services).revoke_grant(grant_id, user.username, client_address(request))
    if revoked is None:
        raise Problem(404, f"no grant {grant_id}")
    return GrantOut.of(revoked)
