"""`/api/v1/regions`: the administrative region tree with channel counts."""

from __future__ import annotations

from fastapi import APIRouter

from clearsight.api.channel_access import list_scope
from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES
from clearsight.api.schemas import RegionOut
from clearsight.api.security import CurrentUser

router = APIRouter(prefix="/regions", tags=["regions"], responses=PROBLEM_RESPONSES)


@router.get("")
async def region_tree(services: Services, user: CurrentUser) -> list[RegionOut]:
    """The tree with the counts of the channels the caller may see (every node is listed)."""
    scope = await list_scope(services, user)
    return [RegionOut.model_validate(node) for node in await services.registry.region_tree(scope=scope)]
