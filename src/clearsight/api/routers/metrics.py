"""`GET /metrics`: Prometheus text exposition of the platform's metrics registry.

It needs a credential like every other route: configure the scraper with `authorization` (`credentials_file`)
holding an API token with the `metrics:read` scope (docs/security.md), which opens nothing else.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clearsight.api.deps import Services
from clearsight.api.problems import PROBLEM_RESPONSES
from clearsight.api.security import METRICS_PATH

router = APIRouter(tags=["metrics"], responses=PROBLEM_RESPONSES)


@router.get(METRICS_PATH, response_class=PlainTextResponse)
async def metrics(services: Services) -> PlainTextResponse:
    body = generate_latest(services.metrics_registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
