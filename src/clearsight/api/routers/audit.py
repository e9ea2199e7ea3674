"""`/api/v1/audit`: search and export the audit log — administrators and auditors only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import StreamingResponse

from clearsight.access.users import Role
from clearsight.api.audit_schemas import AuditEntryOut, AuditPageOut
from clearsight.api.auditing import client_address
from clearsight.api.deps import Services
from clearsight.api.params import DEFAULT_PAGE_SIZE, Limit, Offset
from clearsight.api.problems import PROBLEM_RESPONSES
from clearsight.api.schemas import UtcDatetime
from clearsight.api.security import RoleRequirement
from clearsight.api.tokens import Principal
from clearsight.audit import AuditAction, AuditQuery
from clearsight.audit.entry import ACTOR_LENGTH, TARGET_LENGTH
from clearsight.audit.export import MEDIA_TYPES, ExportFormat, export_chunks
from clearsight.registry.models import utc_now

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
require_audit_reader = RoleRequirement({Role.ADMINISTRATOR, Role.AUDITOR})
AuditReaderUser = Annotated[Principal, Depends(require_audit_reader)]

ActorFilter = Annotated[str | None, Query(min_length=1, max_length=ACTOR_LENGTH, description="Exactly this actor.")]
ActionFilter = Annotated[AuditAction | None, Query(description="Exactly this action.")]
TargetFilter = Annotated[str | None, Query(min_length=1, max_length=TARGET_LENGTH,
                                           description="Exactly this target, e.g. a channel's GB ID.")]
Since = Annotated[UtcDatetime | None, Query(description="At or after this time (ISO 8601; no offset: UTC).")]
Until = Annotated[UtcDatetime | None, Query(description="Before this time (ISO 8601; no offset: UTC).")]
FormatParam = Annotated[ExportFormat, Query(alias="format", description="csv or json.")]


@router.get("")
async def search_audit(
    services: Services,
    _user: AuditReaderUser,
    actor: ActorFilter = None,
    action: ActionFilter = None,
    target: TargetFilter = None,
    since: Since = None,
    until: Until = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> AuditPageOut:
    """Audit entries matching every given filter, newest first."""
    query = AuditQuery(actor=actor, action=action, target=target, since=since, until=until)
    page = await services.audit_reader.search(query, offset=offset, limit=limit)
    items = [AuditEntryOut.model_validate(entry) for entry in page.items]
    return AuditPageOut(total=page.total, offset=offset, limit=limit, items=items)


@router.get("/export", response_class=StreamingResponse, responses={200: {
    "content": {"text/csv": {}, "application/json": {}},
    "description": "Matching entries oldest first: CSV (details as JSON text) or a JSON array."}})
async def export_audit(
    request: Request,
    services: Services,
    user: AuditReaderUser,
    format_: FormatParam,
    actor: ActorFilter = None,
    action: ActionFilter = None,
    target: TargetFilter = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    """Download the matching entries; the export itself is audited (`audit.export`)."""
    query = AuditQuery(actor=actor, action=action, target=target, since=since, until=until)
    filters = {name: value for name, value in (("actor", actor), ("action", action), ("target", target),
                                                ("since", since.isoformat() if since else None),
                                                ("until", until.isoformat() if until else None)) if value}
    await services.audit.record(AuditAction.AUDIT_EXPORT, actor=user.username, client=client_address(request),
                                details={"format": format_.value, **filters})
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(_encoded(export_chunks(services.audit_reader.iter_entries(query), format_)),
                             media_type=MEDIA_TYPES[format_],
                             headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{format_.value}"',
                                      "Cache-Control": "no-store"})


async def _encoded(chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk.encode("utf-8")
