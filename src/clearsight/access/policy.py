"""Who may do what to which channel: grants, and the one decision made from them.

A `Grant` gives a department or a user some `Action`s on a scope (a region subtree by code prefix, a
business group, or a list of channels) up to a `ChannelClass`, optionally only within hours of the day
and/or between two moments. Administrators may do everything; everyone else only what a grant allows.

`authorize` is the only place a single access is decided; `visible_scope` turns the same grants into a
`ChannelScope` that `clearsight.access.channel_filter` renders as the SQL filter of channel lists. Both
are pure: the caller loads the grants (`clearsight.access.store`) and says what time it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from clearsight.access.users import Role

logger = logging.getLogger(__name__)

MINUTES_PER_DAY = 24 * 60


class Action(StrEnum):
    """What a grant may allow on a channel."""

    LIVE = "live"  # live view and snapshots
    PLAYBACK = "playback"  # recordings: timeline, thumbnails, device playback
    EXPORT = "export"  # evidence exports
    PTZ = "ptz"  # pan, tilt, zoom, presets
    LIFT_MASK = "lift_mask"  # see behind privacy masks
    MANAGE = "manage"  # recording policy, legal holds


class ChannelClass(StrEnum):
    """How sensitive a channel's picture is; a grant reaches up to one class."""

    PUBLIC = "public"
    RESTRICTED = "restricted"
    SENSITIVE = "sensitive"

    @property
    def rank(self) -> int:
        return _CLASS_ORDER.index(self)

    def up_to(self) -> tuple[ChannelClass, ...]:
        """This class and every less sensitive one."""
        return _CLASS_ORDER[: self.rank + 1]


_CLASS_ORDER = (ChannelClass.PUBLIC, ChannelClass.RESTRICTED, ChannelClass.SENSITIVE)


class ScopeKind(StrEnum):
    REGION = "region"  # values: region codes; each covers its subtree (a code prefix)
    BUSINESS_GROUP = "business_group"  # values: business group GB IDs
    CHANNELS = "channels"  # values: channel surrogate keys


@dataclass(frozen=True, slots=True)
class HoursOfDay:
    """A daily window [start, end) in `zone`; one whose end is not after its start runs past midnight."""

    start_minute: int
    end_minute: int
    zone: str = "UTC"

    def __post_init__(self) -> None:
        if not (0 <= self.start_minute < MINUTES_PER_DAY and 0 <= self.end_minute <= MINUTES_PER_DAY):
            raise ValueError(f"hours must lie within a day, got {self.start_minute}-{self.end_minute} minutes")
        ZoneInfo(self.zone)  # raises for an unknown zone

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    @staticmethod
    def of(start: time, end: time, zone: str = "UTC") -> HoursOfDay:
        return HoursOfDay(start.hour * 60 + start.minute, end.hour * 60 + end.minute or MINUTES_PER_DAY, zone)


@dataclass(frozen=True, slots=True)
class Grant:
    """Actions on a scope for a department or a user (exactly one of the two)."""

    id: str
    department_id: int | None
    user_id: int | None
    actions: frozenset[Action]
    scope_kind: ScopeKind
    scope_values: tuple[str, ...]
    max_class: ChannelClass
    created_by: str
    created_at: datetime
    hours: HoursOfDay | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    share_request_id: int | None = None
    note: str | None = None

    def applies_to(self, subject: Subject) -> bool:
        if self.user_id is not None:
            return self.user_id == subject.user_id
        return self.department_id is not None and self.department_id == subject.department_id

    def in_force(self, now: datetime) -> bool:
        """Not revoked, within its period (ignoring hours of day)."""
        if self.revoked_at is not None:
            return False
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until

    def active_at(self, now: datetime) -> bool:
        """In force, and within its hours of day if it has any."""
        return self.in_force(now) and (self.hours is None or self.hours.contains(now))

    def covers(self, channel: ChannelFacts) -> bool:
        """The channel lies in the grant's scope and its class is within reach."""
        if ChannelClass(channel.channel_class).rank > self.max_class.rank:
            return False
        return _scope_admits(self.scope_kind, self.scope_values, channel)


class ChannelFacts(Protocol):
    """What a decision needs to know of a channel."""

    @property
    def id(self) -> int: ...
    @property
    def region_code(self) -> str | None: ...
    @property
    def business_group_id(self) -> str | None: ...
    @property
    def channel_class(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Subject:
    """The user asking, as access control sees them."""

    user_id: int
    username: str
    role: Role
    department_id: int | None

    @property
    def is_administrator(self) -> bool:
        return self.role is Role.ADMINISTRATOR


@dataclass(frozen=True, slots=True)
class GrantDecision:
    """The outcome of `authorize`: allowed or not, under which grant (None for administrators), and why."""

    allowed: bool
    action: Action
    channel_id: int
    grant_id: str | None
    reason: str


def authorize(subject: Subject, action: Action, channel: ChannelFacts, grants: Iterable[Grant],
              now: datetime) -> GrantDecision:
    """Whether `subject` may do `action` to `channel` now, and under which grant.

    `grants` may hold anyone's grants; only those applying to the subject count. When several allow it,
    the one expiring last is named (ties: the lowest ID), so a decision is reproducible.
    """
    if subject.is_administrator:
        return GrantDecision(True, action, channel.id, None, "administrator")
    candidates = [g for g in grants if g.applies_to(subject) and action in g.actions and g.covers(channel)]
    allowing = [g for g in candidates if g.active_at(now)]
    if allowing:
        chosen = min(allowing, key=lambda g: (-(g.valid_until.timestamp()) if g.valid_until else float("-inf"), g.id))
        return GrantDecision(True, action, channel.id, chosen.id, f"grant {chosen.id}")
    if any(g.in_force(now) for g in candidates):
        reason = "outside the hours of the grant"
    elif candidates:
        reason = "the grant has expired, was revoked or is not yet valid"
    else:
        reason = f"no grant allows {action.value} on this channel"
    logger.info("user %s refused %s on channel %d: %s", subject.username, action, channel.id, reason)
    return GrantDecision(False, action, channel.id, None, reason)


@dataclass(frozen=True, slots=True)
class ScopeClause:
    """Channels of one kind of scope, up to a class: one OR-term of a channel list's filter."""

    kind: ScopeKind
    values: frozenset[str]
    max_class: ChannelClass

    def admits(self, channel: ChannelFacts) -> bool:
        if ChannelClass(channel.channel_class).rank > self.max_class.rank:
            return False
        return _scope_admits(self.kind, tuple(self.values), channel)


@dataclass(frozen=True, slots=True)
class ChannelScope:
    """The channels a subject may see: those admitted by any clause (none when there is no clause)."""

    clauses: tuple[ScopeClause, ...]

    def admits(self, channel: ChannelFacts) -> bool:
        return any(clause.admits(channel) for clause in self.clauses)


def visible_scope(subject: Subject, grants: Iterable[Grant], now: datetime,
                  action: Action | None = None) -> ChannelScope | None:
    """The channels `subject` may see in lists (any action, or only `action`); None: all of them.

    Clauses of the same kind and class are merged, so a thousand grants make a handful of SQL terms.
    """
    if subject.is_administrator:
        return None
    merged: dict[tuple[ScopeKind, ChannelClass], set[str]] = {}
    for grant in grants:
        if not grant.applies_to(subject) or not grant.active_at(now):
            continue
        if action is not None and action not in grant.actions:
            continue
        merged.setdefault((grant.scope_kind, grant.max_class), set()).update(grant.scope_values)
    return ChannelScope(tuple(ScopeClause(kind, frozenset(values), max_class)
                              for (kind, max_class), values in sorted(merged.items())))


def _scope_admits(kind: ScopeKind, values: tuple[str, ...], channel: ChannelFacts) -> bool:
    if kind is ScopeKind.REGION:
        code = channel.region_code
        return code is not None and any(code.startswith(prefix) for prefix in values)
    if kind is ScopeKind.BUSINESS_GROUP:
        return channel.business_group_id is not None and channel.business_group_id in values
    return str(channel.id) in values
