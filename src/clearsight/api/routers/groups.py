"""`/api/v1/groups`: business groups (215) and virtual organisations (216) from device catalogs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from clearsight.api.deps import Services
from clearsight.api.params import DEFAULT_PAGE_SIZE, Limit, Offset
from clearsight.api.problems import PROBLEM_RESPONSES
from clearsight.api.schemas import GroupOut, GroupPage
from clearsight.registry.records import GroupKind

router = APIRouter(prefix="/groups", tags=["groups"], responses=PROBLEM_RESPONSES)


@router.get("")
async def list_groups(
    services: Services,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
    device_id: Annotated[str | None, Query(pattern=r"^[0-9]{18,20}$")] = None,
    kind: Literal["business_group", "virtual_org"] | None = None,
) -> GroupPage:
    page = await services.registry.list_groups(
        offset=offset, limit=limit, device_id=device_id, kind=GroupKind(kind) if kind else None
    )
    items = [GroupOut.model_validate(group) for group in page.items]
    return GroupPage(total=page.total, offset=offset, limit=limit, items=items)
