"""`GET /metrics`: Prometheus text exposition of the platform's metrics registry.

It needs a bearer token like every other route: configure the scraper with `authorization`
(`credentials_file`) holding a token of a dedicated user.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["metrics"], responses=PROBLEM_RESPONSES)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(services: Services) -> PlainTextResponse:
    body = generate_latest(services.metrics_registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
