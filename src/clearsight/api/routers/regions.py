"""`/api/v1/regions`: the administrative region tree with channel counts."""

from __future__ import annotations

from fastapi import APIRouter

from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES
from clearsight.api.schemas import RegionOut

router = APIRouter(prefix="/regions", tags=["regions"], responses=PROBLEM_RESPONSES)


@router.get("")
async def region_tree(services: Services) -> list[RegionOut]:
    return [RegionOut.model_validate(node) for node in await services.registry.region_tree()]
