"""`/api/v1/api-tokens`: credentials for machines (`Authorization: Bearer cs_…`), limited by scopes.

Users manage their own; administrators list and revoke anyone's. Creating or revoking one needs a signed-in
session (an API token cannot mint more), and both are audited.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from clearsight.access.api_tokens import ApiTokenRecord
from clearsight.access.users import Role
from clearsight.api.auditing import client_address
from clearsight.api.credential_schemas import ApiTokenCreatedOut, ApiTokenIn, ApiTokenOut
from clearsight.api.deps import ApiServices, Services
from clearsight.api.ports import ApiTokensPort
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.security import InteractiveUser
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api-tokens", tags=["auth"], responses=PROBLEM_RESPONSES)
TokenId = Annotated[str, Path(min_length=1, max_length=64)]


def _store(services: ApiServices) -> ApiTokensPort:
    if services.api_tokens is None:
        raise Problem(503, "API tokens are not available on this server")
    return services.api_tokens


def _out(record: ApiTokenRecord) -> ApiTokenOut:
    return ApiTokenOut(id=record.id, user_id=record.user_id, username=record.username, name=record.name,
                       scopes=sorted(record.scopes), secret_prefix=record.secret_prefix,
                       created_at=record.created_at, expires_at=record.expires_at,
                       last_used_at=record.last_used_at, revoked_at=record.revoked_at, revoked_by=record.revoked_by)


@router.post("", status_code=201)
async def create_api_token(request: Request, services: Services, user: InteractiveUser,
                           body: ApiTokenIn) -> ApiTokenCreatedOut:
    """A new token of the caller's; its secret is in this answer only."""
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise Problem(422, "expires_at is in the past")
    record, secret = await _store(services).create(int(user.user_id), body.name, frozenset(body.scopes),
                                                   body.expires_at)
    await services.audit.record(AuditAction.API_TOKEN_CREATE, actor=user.username, target=f"api_token:{record.id}",
                                client=client_address(request),
                                details={"name": record.name, "scopes": [str(scope) for scope in sorted(record.scopes)],
                                         "expires_at": record.expires_at.isoformat() if record.expires_at else None})
    return ApiTokenCreatedOut(**_out(record).model_dump(), secret=secret)


@router.get("")
async def list_api_tokens(services: Services, user: InteractiveUser,
                          user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Administrators: "
                                                               "this user's (default: everyone's).")] = None,
                          ) -> list[ApiTokenOut]:
    """The caller's tokens (revoked and expired too); administrators see anyone's. Never the secrets."""
    if user.role != Role.ADMINISTRATOR:
        if user_id is not None and str(user_id) != user.user_id:
            raise Problem(403, "only administrators see other users' API tokens")
        user_id = int(user.user_id)
    return [_out(record) for record in await _store(services).list_tokens(user_id)]


@router.delete("/{token_id}")
async def revoke_api_token(request: Request, services: Services, user: InteractiveUser,
                           token_id: TokenId) -> ApiTokenOut:
    """Revoke a token (the caller's own; administrators: anyone's); it is refused from now on."""
    store = _store(services)
    record = await store.get(token_id)
    if record is None or not (user.role == Role.ADMINISTRATOR or str(record.user_id) == user.user_id):
        raise Problem(404, f"no API token {token_id}")
    revoked = await store.revoke(token_id, user.username)
    if revoked is None:
        raise Problem(409, f"API token {token_id} is already revoked")
    await services.audit.record(AuditAction.API_TOKEN_REVOKE, actor=user.username, target=f"api_token:{token_id}",
                                client=client_address(request), details={"owner": record.username})
    return _out(revoked)
