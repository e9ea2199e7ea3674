"""The API's side of the audit log: recording a channel access in one call, and auditors changing nothing.

Routers record through `services.audit` (an `AuditRecorder`). For anything done to a channel:

    await audit_channel(services, AuditAction.SNAPSHOT, user.username, channel_id, request)

which names the channel by its GB ID (what operators and auditors know it by), keeps the surrogate key and
device in `details`, and takes the client address from the request or WebSocket. See docs/audit.md.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection

from clearsight.access.users import Role
from clearsight.api.channel_access import stated_reason
from clearsight.api.deps import ApiServices
from clearsight.api.problems import Problem
from clearsight.api.security import SAFE_METHODS, authenticate
from clearsight.audit import AuditAction, JsonValue
from clearsight.channel_streams import ChannelAddress

logger = logging.getLogger(__name__)

# Signing in and out, the caller's own password, sessions and API tokens: auditors manage their own credentials
# too (an auditor's API token is as read-only as the auditor).
OWN_CREDENTIALS_PATHS = ("/api/v1/auth/", "/api/v1/api-tokens")


def client_address(connection: HTTPConnection) -> str | None:
    """The peer's address as the server saw it (behind a proxy: as uvicorn's proxy headers set it)."""
    return connection.client.host if connection.client else None


async def audit_channel(
    services: ApiServices,
    action: AuditAction,
    actor: str,
    channel_id: int,
    connection: HTTPConnection,
    *,
    channel: ChannelAddress | None = None,
    grant: str | None = None,
    reason: str | None = None,
    **details: JsonValue,
) -> None:
    """Record `actor` doing `action` to a channel; looks the channel up unless given. Raises AuditUnavailable.

    `reason` defaults to the one the request stated to its `ChannelPermission` check (`?reason=`)."""
    if reason is None:
        reason = stated_reason(connection)
    if channel is None:
        channel = await services.registry.get_channel(channel_id)
    known: dict[str, JsonValue] = {"channel_id": channel_id}
    if channel is not None:
        known["device_id"] = channel.device_id
    await services.audit.record(action, actor=actor, target=channel.gb_id if channel else f"channel:{channel_id}",
                                client=client_address(connection), grant=grant, reason=reason,
                                details={**known, **details})


async def auditors_read_only(connection: HTTPConnection) -> None:
    """Router dependency: an auditor (whatever the credential) is refused (403) on every method that may change
    state, but for their own credentials. Other callers pass; the route's own dependencies authenticate them.
    WebSockets only read.
    """
    if connection.scope["type"] != "http" or connection.scope["method"] in SAFE_METHODS:
        return
    if connection.url.path.startswith(OWN_CREDENTIALS_PATHS):
        return
    try:
        principal = await authenticate(connection)
    except Problem:
        return  # the route answers 401 (or 403 for a missing scope)
    if principal.role == Role.AUDITOR:
        logger.info("auditor %s refused: %s %s", principal.username, connection.scope["method"], connection.url.path)
        raise Problem(403, "auditors may read but not change anything")
