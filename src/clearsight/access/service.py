"""Access control as the API uses it: decisions for a caller, grant changes (audited), open streams.

`AccessControl.authorize` loads the caller and their grants and asks `policy.authorize`; `scope` does the
same for channel lists. Every viewer connection handed out under a grant is registered with
`StreamsByGrant`, so revoking a grant ends its streams at once, and a sweep ends those whose grant ran
out (its period or its hours of day).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from clearsight.access.policy import Action, ChannelClass, ChannelScope, Grant, GrantDecision, Subject, authorize
from clearsight.access.policy import visible_scope as policy_scope
from clearsight.access.store import AccessStore, ChannelAccessFacts, NewGrant
from clearsight.audit import AuditAction, AuditRecorder, JsonValue
from clearsight.media.consumer import Consumer, StreamEnd

logger = logging.getLogger(__name__)

GRANT_REVOKED = "grant revoked"
GRANT_EXPIRED = "grant expired"
SWEEP_INTERVAL = 5.0  # seconds between checks that open streams' grants are still active


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StreamsByGrant:
    """Open viewer connections per grant, so that a grant's end ends them."""

    def __init__(self) -> None:
        self._open: dict[str, dict[Consumer, Grant]] = {}

    @contextlib.contextmanager
    def watching(self, grant: Grant | None, consumer: Consumer) -> Iterator[None]:
        """Register `consumer` under `grant` while the block runs (administrators' streams have none)."""
        if grant is None:
            yield
            return
        self._open.setdefault(grant.id, {})[consumer] = grant
        try:
            yield
        finally:
            consumers = self._open.get(grant.id, {})
            consumers.pop(consumer, None)
            if not consumers:
                self._open.pop(grant.id, None)

    def end(self, grant_id: str, reason: str) -> int:
        consumers = self._open.pop(grant_id, {})
        for consumer in consumers:
            consumer.offer(StreamEnd(reason))
        if consumers:
            logger.info("grant %s: %d open stream(s) ended: %s", grant_id, len(consumers), reason)
        return len(consumers)

    def end_inactive(self, now: datetime) -> int:
        ended = 0
        for grant_id, consumers in list(self._open.items()):
            grant = next(iter(consumers.values()))
            if not grant.active_at(now):
                ended += self.end(grant_id, GRANT_EXPIRED)
        return ended

    def count(self, grant_id: str) -> int:
        return len(self._open.get(grant_id, {}))


class AccessControl:
    def __init__(self, store: AccessStore, audit: AuditRecorder, *,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self._audit = audit
        self._clock = clock
        self.streams = StreamsByGrant()
        self._sweeper: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._clock()

    # --- decisions ---

    async def subject(self, user_id: int | str) -> Subject | None:
        try:
            return await self.store.subject(int(user_id))
        except ValueError:
            return None

    async def authorize(self, subject: Subject, action: Action, channel: ChannelAccessFacts) -> GrantDecision:
        grants = [] if subject.is_administrator else await self.store.grants_for(subject, self.now())
        return authorize(subject, action, channel, grants, self.now())

    async def scope(self, subject: Subject, action: Action | None = None) -> ChannelScope | None:
        """What `subject` sees in channel lists; None: everything."""
        if subject.is_administrator:
            return None
        return policy_scope(subject, await self.store.grants_for(subject, self.now()), self.now(), action)

    async def active_grant(self, grant_id: str) -> Grant | None:
        """The grant if it allows anything right now (a stream token's grant is checked with this)."""
        grant = await self.store.get_grant(grant_id)
        return grant if grant is not None and grant.active_at(self.now()) else None

    # --- changes (each audited as permission.change) ---

    async def create_grant(self, grant: NewGrant, actor: str, client: str | None) -> Grant:
        created = await self.store.create_grant(grant, actor)
        await self.audit_grant("create", created, actor, client)
        return created

    async def revoke_grant(self, grant_id: str, actor: str, client: str | None) -> Grant | None:
        revoked = await self.store.revoke_grant(grant_id, actor)
        if revoked is None:
            return None
        ended = self.streams.end(grant_id, GRANT_REVOKED)
        await self.audit_grant("revoke", revoked, actor, client, streams_ended=ended)
        return revoked

    async def set_channel_class(self, channel_id: int, channel_class: ChannelClass, actor: str,
                                client: str | None) -> bool:
        if not await self.store.set_channel_class(channel_id, channel_class):
            return False
        await self._audit.record(AuditAction.PERMISSION_CHANGE, actor=actor, target=f"channel:{channel_id}",
                                 client=client, details={"change": "channel_class", "channel_id": channel_id,
                                                         "channel_class": channel_class.value})
        return True

    async def audit_grant(self, change: str, grant: Grant, actor: str, client: str | None,
                          **extra: JsonValue) -> None:
        details: dict[str, JsonValue] = {
            "change": change, "department_id": grant.department_id, "user_id": grant.user_id,
            "actions": [a.value for a in sorted(grant.actions)], "scope_kind": grant.scope_kind.value,
            "scope_values": [*grant.scope_values], "max_class": grant.max_class.value,
            "valid_until": grant.valid_until.isoformat() if grant.valid_until else None,
            "share_request_id": grant.share_request_id, **extra}
        await self._audit.record(AuditAction.PERMISSION_CHANGE, actor=actor, target=f"grant:{grant.id}",
                                 client=client, grant=grant.id, details=details)

    # --- the sweep of open streams ---

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="access-stream-sweep")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.streams.end_inactive(self.now())
