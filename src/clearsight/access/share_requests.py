"""Share requests: a department asks the department owning some channels for access; the owner decides.

    shares = ShareRequests(access, audit)
    request = await shares.create(subject, ShareAsk(...), client)   # audited share.request
    approved = await shares.approve(owner, request.id, ShareApproval(channel_ids=(...)), client)
    await shares.revoke(owner, request.id, client)                   # ends the grant's open streams

A request names channels all owned by one department other than the requester's (ownership:
`AccessStore.owner_of`), actions, a purpose and a period that always ends (default and at most
`MAX_PERIOD`). The owner department's operators and administrators, or a platform administrator, approve
(possibly narrowing channels, actions, class and period) or reject with a reason. Approval creates a grant
to the requesting department on exactly the approved channels, valid from the period's start until its end,
in the same transaction as the decision. Revoking the share revokes that grant through
`AccessControl.revoke_grant`, which ends its open streams at once. Each decision is audited as
`share.decision`, each grant change as `permission.change`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clearsight.access.models import AccessGrant, ShareRequest
from clearsight.access.policy import Action, ChannelClass, Grant, ScopeKind, Subject
from clearsight.access.service import AccessControl
from clearsight.access.store import AccessError, NewGrant, _grant
from clearsight.access.users import Role
from clearsight.audit import AuditAction, AuditRecorder, JsonValue

logger = logging.getLogger(__name__)

DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=30)
MAX_CHANNELS = 1000
DECIDING_ROLES = frozenset({Role.ADMINISTRATOR, Role.OPERATOR})


class ShareState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"  # derived: approved, and the period is over (never stored)


class ShareError(AccessError):
    """Base of share request errors; `status` is the HTTP status the API answers with."""

    status = 422


class ShareInvalid(ShareError):
    status = 422


class ShareNotFound(ShareError):
    status = 404

    def __init__(self, request_id: int) -> None:
        super().__init__(f"no share request {request_id}")


class ShareForbidden(ShareError):
    status = 403


class ShareConflict(ShareError):
    status = 409


@dataclass(frozen=True, slots=True)
class ShareAsk:
    """What a department asks for; period_start defaults to now, period_end to start + DEFAULT_PERIOD."""

    channel_ids: tuple[int, ...]
    actions: frozenset[Action]
    purpose: str
    period_start: datetime | None = None
    period_end: datetime | None = None
    department_id: int | None = None  # the requesting department; only administrators name one


@dataclass(frozen=True, slots=True)
class ShareApproval:
    """What the owner allows: each field narrows the request (None: as requested)."""

    channel_ids: tuple[int, ...] | None = None
    actions: frozenset[Action] | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    max_class: ChannelClass = ChannelClass.SENSITIVE
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ShareRecord:
    id: int
    requester_department_id: int
    owner_department_id: int
    requested_by: str
    purpose: str
    channel_ids: tuple[int, ...]
    actions: frozenset[Action]
    period_start: datetime
    period_end: datetime
    state: ShareState
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    grant_id: str | None
    created_at: datetime
    grant: Grant | None = field(default=None, compare=False)
    revoked_by: str | None = None  # who revoked the share (or its grant, revoked directly)
    revoked_at: datetime | None = None
    revoke_reason: str | None = None  # only for a revocation of the share: DELETE /grants takes no reason


class ShareRequests:
    def __init__(self, access: AccessControl, audit: AuditRecorder) -> None:
        self._access = access
        self._store = access.store
        self._sessions = access.store.sessions
        self._audit = audit

    # --- asking ---

    async def create(self, subject: Subject, ask: ShareAsk, client: str | None) -> ShareRecord:
        if subject.role not in DECIDING_ROLES:
            raise ShareForbidden("only operators and administrators request shares")
        requester = subject.department_id
        if ask.department_id is not None and ask.department_id != requester:
            if not subject.is_administrator:
                raise ShareForbidden("a share is requested for the caller's own department")
            requester = ask.department_id
        if requester is None:
            raise ShareInvalid("the requesting department is unknown: join a department or name one")
        if await self._store.get_department(requester) is None:
            raise ShareInvalid(f"no department {requester}")
        channel_ids = tuple(dict.fromkeys(ask.channel_ids))
        if not channel_ids or len(channel_ids) > MAX_CHANNELS:
            raise ShareInvalid(f"name 1 to {MAX_CHANNELS} channels")
        if not ask.actions:
            raise ShareInvalid("name at least one action")
        purpose = ask.purpose.strip()
        if not purpose:
            raise ShareInvalid("state the purpose")
        now = self._access.now()
        start = ask.period_start or now
        end = ask.period_end or start + DEFAULT_PERIOD
        _check_period(start, end, now)
        owner = await self._owner_of(channel_ids)
        if owner == requester:
            raise ShareInvalid("the channels belong to the requesting department already")
        row = ShareRequest(requester_department_id=requester, owner_department_id=owner,
                           requested_by=subject.username, purpose=purpose, channel_ids=list(channel_ids),
                           actions=_actions_text(ask.actions), period_start=start, period_end=end,
                           state=ShareState.PENDING.value, created_at=now)
        async with self._sessions.begin() as session:
            session.add(row)
            await session.flush()
            record = _record(row, now)
        await self._audit.record(AuditAction.SHARE_REQUEST, actor=subject.username, target=f"share:{record.id}",
                                 client=client, reason=purpose, details=_details(record))
        logger.info("share request %d: department %d asks department %d for %d channel(s)", record.id,
                    requester, owner, len(channel_ids))
        return record

    async def _owner_of(self, channel_ids: Sequence[int]) -> int:
        owners: set[int] = set()
        for channel_id in channel_ids:
            facts = await self._store.channel_facts(channel_id)
            if facts is None:
                raise ShareInvalid(f"no channel {channel_id}")
            owner = await self._store.owner_of(facts)
            if owner is None:
                raise ShareInvalid(f"channel {channel_id} belongs to no department")
            owners.add(owner)
        if len(owners) > 1:
            raise ShareInvalid("the channels belong to several departments: make one request per owner")
        return owners.pop()

    # --- reading ---

    async def get(self, subject: Subject, request_id: int) -> ShareRecord:
        """The request when the caller's department is a party to it (or they administer); else ShareNotFound."""
        async with self._sessions() as session:
            row = await session.get(ShareRequest, request_id)
            if row is None or not _party(subject, row):
                raise ShareNotFound(request_id)
            grant = await session.get(AccessGrant, row.grant_id) if row.grant_id else None
            return _record(row, self._access.now(), grant)

    async def list(self, subject: Subject, *, direction: str | None = None, department_id: int | None = None,
                   state: ShareState | None = None) -> list[ShareRecord]:
        """`incoming` (asked of the department), `outgoing` (asked by it) or both; administrators may name
        any department, or none for every request."""
        department = subject.department_id
        if department_id is not None and department_id != department:
            if not subject.is_administrator:
                raise ShareForbidden("only administrators list other departments' share requests")
            department = department_id
        query = select(ShareRequest).order_by(ShareRequest.created_at.desc(), ShareRequest.id.desc())
        if department is None:
            if not subject.is_administrator:
                return []
        elif direction == "incoming":
            query = query.where(ShareRequest.owner_department_id == department)
        elif direction == "outgoing":
            query = query.where(ShareRequest.requester_department_id == department)
        else:
            query = query.where(or_(ShareRequest.owner_department_id == department,
                                    ShareRequest.requester_department_id == department))
        now = self._access.now()
        if state is ShareState.EXPIRED:
            query = query.where(ShareRequest.state == ShareState.APPROVED.value, ShareRequest.period_end <= now)
        elif state is ShareState.APPROVED:
            query = query.where(ShareRequest.state == ShareState.APPROVED.value, ShareRequest.period_end > now)
        elif state is not None:
            query = query.where(ShareRequest.state == state.value)
        async with self._sessions() as session:
            rows = list(await session.scalars(query.limit(1000)))
            grant_ids = [row.grant_id for row in rows if row.grant_id]
            grants = {g.id: g for g in await session.scalars(
                select(AccessGrant).where(AccessGrant.id.in_(grant_ids)))} if grant_ids else {}
            return [_record(row, now, grants.get(row.grant_id) if row.grant_id else None) for row in rows]

    # --- deciding ---

    async def approve(self, subject: Subject, request_id: int, approval: ShareApproval,
                      client: str | None) -> ShareRecord:
        now = self._access.now()
        async with self._sessions.begin() as session:
            row = await _claim(session, request_id)
            if row is None or not _party(subject, row):
                raise ShareNotFound(request_id)
            self._check_decider(subject, row)
            if row.state != ShareState.PENDING.value:
                raise ShareConflict(f"share request {request_id} is {row.state}, not pending")
            requested_channels = [int(c) for c in row.channel_ids]
            channels = tuple(dict.fromkeys(approval.channel_ids)) if approval.channel_ids is not None \
                else tuple(requested_channels)
            if not channels or not set(channels) <= set(requested_channels):
                raise ShareInvalid("approved channels must be some of the requested ones")
            requested_actions = _actions(row.actions)
            actions = approval.actions if approval.actions is not None else requested_actions
            if not actions or not actions <= requested_actions:
                raise ShareInvalid("approved actions must be some of the requested ones")
            start = max(approval.period_start or row.period_start, row.period_start)
            end = approval.period_end or row.period_end
            if end > row.period_end:
                raise ShareInvalid("the approved period cannot end after the requested one")
            if approval.period_start is not None and approval.period_start < row.period_start:
                raise ShareInvalid("the approved period cannot begin before the requested one")
            _check_period(start, end, now)
            grant = await self._store.create_grant(
                NewGrant(actions=frozenset(actions), scope_kind=ScopeKind.CHANNELS,
                         scope_values=tuple(str(c) for c in channels), max_class=approval.max_class,
                         department_id=row.requester_department_id, valid_from=start, valid_until=end,
                         share_request_id=row.id, note=f"share request {row.id}"),
                subject.username, session=session)
            row.state, row.decided_by, row.decided_at = ShareState.APPROVED.value, subject.username, now
            row.decision_note, row.grant_id = approval.note, grant.id
            await session.flush()
            record = replace(_record(row, now), grant=grant)
        narrowed = (set(channels) != set(requested_channels) or actions != requested_actions
                    or start != record.period_start or end != record.period_end)
        details: dict[str, JsonValue] = {
            **_details(record), "decision": "approve", "narrowed": narrowed,
            "approved_channel_ids": [*channels], "approved_actions": [a.value for a in sorted(actions)],
            "approved_period_start": start.isoformat(), "approved_period_end": end.isoformat(),
            "max_class": approval.max_class.value}
        await self._audit.record(AuditAction.SHARE_DECISION, actor=subject.username, target=f"share:{record.id}",
                                 client=client, grant=grant.id, reason=approval.note, details=details)
        await self._access.audit_grant("create", grant, subject.username, client)
        logger.info("share request %d approved by %s: grant %s", record.id, subject.username, grant.id)
        return record

    async def reject(self, subject: Subject, request_id: int, reason: str, client: str | None) -> ShareRecord:
        reason = reason.strip()
        if not reason:
            raise ShareInvalid("state the reason for the rejection")
        now = self._access.now()
        async with self._sessions.begin() as session:
            row = await _claim(session, request_id)
            if row is None or not _party(subject, row):
                raise ShareNotFound(request_id)
            self._check_decider(subject, row)
            if row.state != ShareState.PENDING.value:
                raise ShareConflict(f"share request {request_id} is {row.state}, not pending")
            row.state, row.decided_by, row.decided_at = ShareState.REJECTED.value, subject.username, now
            row.decision_note = reason
            await session.flush()
            record = _record(row, now)
        await self._audit.record(AuditAction.SHARE_DECISION, actor=subject.username, target=f"share:{record.id}",
                                 client=client, reason=reason, details={**_details(record), "decision": "reject"})
        return record

    async def revoke(self, subject: Subject, request_id: int, client: str | None,
                     reason: str | None = None) -> ShareRecord:
        """End an approved share at once: its grant is revoked and the grant's open streams end.

        The grant is revoked first (`AccessControl.revoke_grant`: stamped, streams ended, audited), then the
        request marked: should the second step fail, access has ended all the same, and the request reads
        `revoked` from its grant."""
        async with self._sessions() as session:
            row = await session.get(ShareRequest, request_id)
            if row is None or not _party(subject, row):
                raise ShareNotFound(request_id)
            self._check_decider(subject, row)
            if row.state != ShareState.APPROVED.value:
                raise ShareConflict(f"share request {request_id} is {row.state}, not approved")
            grant_id = row.grant_id
        grant = None
        if grant_id is not None:  # ends its streams and records permission.change
            grant = await self._access.revoke_grant(grant_id, subject.username, client)
        now = self._access.now()
        reason = (reason or "").strip() or None
        async with self._sessions.begin() as session:
            row = await _claim(session, request_id)
            if row is None:
                raise ShareNotFound(request_id)
            row.state = ShareState.REVOKED.value
            row.revoked_by, row.revoke_reason = subject.username, reason
            row.revoked_at = grant.revoked_at if grant is not None and grant.revoked_at is not None else now
            await session.flush()
            record = replace(_record(row, now), grant=grant)
        await self._audit.record(AuditAction.SHARE_DECISION, actor=subject.username, target=f"share:{record.id}",
                                 client=client, grant=grant_id, reason=reason,
                                 details={**_details(record), "decision": "revoke"})
        logger.info("share request %d revoked by %s", record.id, subject.username)
        return record

    def _check_decider(self, subject: Subject, row: ShareRequest) -> None:
        if subject.is_administrator:
            return
        if subject.department_id != row.owner_department_id or subject.role not in DECIDING_ROLES:
            raise ShareForbidden("only the owning department's operators and administrators decide")


async def _claim(session: AsyncSession, request_id: int) -> ShareRequest | None:
    """The request row, after a write on it as the transaction's first statement: on SQLite that takes the
    write lock up front (upgrading a stale read snapshot fails at once with "database is locked"); on
    PostgreSQL it locks the row, so two decisions on one request are serialised."""
    await session.execute(update(ShareRequest).where(ShareRequest.id == request_id)
                          .values(state=ShareRequest.state))
    return await session.get(ShareRequest, request_id)


def _check_period(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise ShareInvalid("the period must end after it begins")
    if end <= now:
        raise ShareInvalid("the period is over already")
    if end - start > MAX_PERIOD:
        raise ShareInvalid(f"a share lasts at most {MAX_PERIOD.days} days")


def _party(subject: Subject, row: ShareRequest) -> bool:
    return subject.is_administrator or subject.department_id in (row.owner_department_id,
                                                                 row.requester_department_id)


def _actions_text(actions: frozenset[Action]) -> str:
    return ",".join(sorted(a.value for a in actions))


def _actions(text: str) -> frozenset[Action]:
    return frozenset(Action(a) for a in text.split(",") if a)


def _record(row: ShareRequest, now: datetime, grant_row: AccessGrant | None = None) -> ShareRecord:
    """The request as read now; `grant_row` (the grant it created) tells a direct revocation and the end."""
    grant = _grant(grant_row) if grant_row is not None else None
    state = ShareState(row.state)
    ends = grant.valid_until if grant is not None and grant.valid_until is not None else row.period_end
    revoked_by, revoked_at = row.revoked_by, row.revoked_at
    if grant_row is not None and grant_row.revoked_at is not None:
        revoked_by, revoked_at = revoked_by or grant_row.revoked_by, revoked_at or grant_row.revoked_at
    if state is ShareState.APPROVED and grant is not None and grant.revoked_at is not None:
        state = ShareState.REVOKED  # its grant was revoked directly (DELETE /grants/{id})
    elif state is ShareState.APPROVED and ends <= now:
        state = ShareState.EXPIRED
    return ShareRecord(id=row.id, requester_department_id=row.requester_department_id,
                       owner_department_id=row.owner_department_id, requested_by=row.requested_by,
                       purpose=row.purpose, channel_ids=tuple(int(c) for c in row.channel_ids),
                       actions=_actions(row.actions), period_start=row.period_start, period_end=row.period_end,
                       state=state, decided_by=row.decided_by, decided_at=row.decided_at,
                       decision_note=row.decision_note, grant_id=row.grant_id, created_at=row.created_at,
                       grant=grant, revoked_by=revoked_by, revoked_at=revoked_at, revoke_reason=row.revoke_reason)


def _details(record: ShareRecord) -> dict[str, JsonValue]:
    details: dict[str, JsonValue] = {"requester_department_id": record.requester_department_id,
            "owner_department_id": record.owner_department_id, "channel_ids": list(record.channel_ids),
            "actions": [a.value for a in sorted(record.actions)], "period_start": record.period_start.isoformat(),
            "period_end": record.period_end.isoformat(), "state": record.state.value}
    return details
