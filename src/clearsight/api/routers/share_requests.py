"""`/api/v1/share-requests`: a department asks another for access to its channels; the owner decides.

Operators and administrators only (viewers, maintainers and auditors neither ask nor decide). Each decision
is audited as share.decision and the grant it creates or revokes as permission.change (docs/access.md).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from clearsight.access.policy import Subject
from clearsight.access.share_discovery import MAX_NAME_FILTER, MAX_PAGE, ShareableChannels
from clearsight.access.share_requests import ShareApproval, ShareAsk, ShareError, ShareRequests, ShareState
from clearsight.api.auditing import client_address
from clearsight.api.channel_access import subject_of
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import MAX_ROW_KEY, RowKeyFilter
from clearsight.api.problems import PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.routers.grants import access_of
from clearsight.api.security import Operator
from clearsight.api.share_request_schemas import (
    ShareableChannelPageOut,
    ShareApproveIn,
    ShareAskIn,
    ShareOut,
    ShareRejectIn,
    ShareRevokeIn,
)
from clearsight.api.tokens import Principal

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/share-requests", tags=["access"], responses=PROBLEM_RESPONSES)
ShareId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The share request's ID.")]


async def _shares(services: ApiServices, user: Principal) -> tuple[ShareRequests, Subject]:
    access = access_of(services)
    subject = await subject_of(services, user)
    assert subject is not None
    return ShareRequests(access, services.audit), subject


def _problem(exc: ShareError) -> Problem:
    if exc.status == 422:
        return Problem(422, str(exc), type_=VALIDATION_FAILED, title="Request validation failed")
    return Problem(exc.status, str(exc))


@router.post("", status_code=201)
async def create_share_request(request: Request, services: Services, user: Operator, body: ShareAskIn) -> ShareOut:
    """Ask the department owning the channels for actions on them, for a purpose and a period."""
    shares, subject = await _shares(services, user)
    ask = ShareAsk(channel_ids=tuple(body.channel_ids), actions=frozenset(body.actions), purpose=body.purpose,
                   period_start=body.period_start, period_end=body.period_end, department_id=body.department_id)
    try:
        record = await shares.create(subject, ask, client_address(request))
    except ShareError as exc:
        raise _problem(exc) from exc
    return ShareOut.of(record)


@router.get("")
async def list_share_requests(services: Services, user: Operator,
                              direction: Literal["incoming", "outgoing"] | None = None,
                              department_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                              state: ShareState | None = None) -> list[ShareOut]:
    """Requests asked of the caller's department (`incoming`), asked by it (`outgoing`), or both."""
    shares, subject = await _shares(services, user)
    try:
        records = await shares.list(subject, direction=direction, department_id=department_id, state=state)
    except ShareError as exc:
        raise _problem(exc) from exc
    return [ShareOut.of(r) for r in records]


@router.get("/channels")
async def list_shareable_channels(
        services: Services, user: Operator,
        name: Annotated[str | None, Query(max_length=MAX_NAME_FILTER, description="Contained in the name.")] = None,
        region: Annotated[str | None, Query(pattern=r"^[0-9]{2,8}$", description="Region code prefix.")] = None,
        owner_department_id: RowKeyFilter = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[int | None, Query(ge=0, le=MAX_ROW_KEY, description="The last page's `next_cursor`.")
                          ] = None,
) -> ShareableChannelPageOut:
    """Channels of other departments the caller's department may ask for: ID, name, owner, class, region.

    No stream and no other detail; sensitive channels are not listed (their owner gives their IDs). Not
    audited: a search hands out no video (the request naming the channels is audited)."""
    access = access_of(services)
    subject = await subject_of(services, user)
    assert subject is not None
    page = await ShareableChannels(access.store).search(subject, name=name or None, region=region,
                                                        owner_department_id=owner_department_id,
                                                        limit=limit, cursor=cursor)
    return ShareableChannelPageOut.of(page)


@router.get("/{request_id}")
async def get_share_request(services: Services, user: Operator, request_id: ShareId) -> ShareOut:
    shares, subject = await _shares(services, user)
    try:
        return ShareOut.of(await shares.get(subject, request_id))
    except ShareError as exc:
        raise _problem(exc) from exc


@router.post("/{request_id}/approve")
async def approve_share_request(request: Request, services: Services, user: Operator, request_id: ShareId,
                                body: ShareApproveIn) -> ShareOut:
    """Approve, possibly narrowed: a grant to the requesting department, ending with the period."""
    shares, subject = await _shares(services, user)
    approval = ShareApproval(
        channel_ids=tuple(body.channel_ids) if body.channel_ids is not None else None,
        actions=frozenset(body.actions) if body.actions is not None else None,
        period_start=body.period_start, period_end=body.period_end, max_class=body.max_class, note=body.note)
    try:
        record = await shares.approve(subject, request_id, approval, client_address(request))
    except ShareError as exc:
        raise _problem(exc) from exc
    return ShareOut.of(record)


@router.post("/{request_id}/reject")
async def reject_share_request(request: Request, services: Services, user: Operator, request_id: ShareId,
                               body: ShareRejectIn) -> ShareOut:
    shares, subject = await _shares(services, user)
    try:
        record = await shares.reject(subject, request_id, body.reason, client_address(request))
    except ShareError as exc:
        raise _problem(exc) from exc
    return ShareOut.of(record)


@router.post("/{request_id}/revoke")
async def revoke_share_request(request: Request, services: Services, user: Operator, request_id: ShareId,
                               body: ShareRevokeIn | None = None) -> ShareOut:
    """End an approved share at once: its grant is revoked and open streams under it end."""
    shares, subject = await _shares(services, user)
    try:
        record = await shares.revoke(subject, request_id, client_address(request),
                                     body.reason if body is not None else None)
    except ShareError as exc:
        raise _problem(exc) from exc
    return ShareOut.of(record)
