"""`GET /healthz`: liveness of the database and the SIP stack, for load balancers (no auth)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response

from clearsight.api.deps import Services
from clearsight.api.schemas import CheckState, HealthOut

logger = logging.getLogger(__name__)

DB_PING_TIMEOUT = 2.0  # seconds; a probe must answer well within the usual 5-10 s probe timeout

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"model": HealthOut, "description": "A check failed."}})
async def healthz(services: Services, response: Response) -> HealthOut:
    """200 when every check passes, else 503 with the same body naming the failed check."""
    database: CheckState = "ok" if await _database_ok(services) else "error"
    sip: CheckState = "ok" if services.control.sip_healthy() else "error"
    healthy = database == "ok" and sip == "ok"
    if not healthy:
        logger.warning("health check failed: database %s, sip %s", database, sip)
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return HealthOut(status="ok" if healthy else "error", database=database, sip=sip)


async def _database_ok(services: Services) -> bool:
    try:
        async with asyncio.timeout(DB_PING_TIMEOUT):
            return await services.db_ping()
    except TimeoutError:
        logger.warning("database ping took longer than %.1f s", DB_PING_TIMEOUT)
        return False
    except Exception:
        logger.exception("database ping failed")
        return False
