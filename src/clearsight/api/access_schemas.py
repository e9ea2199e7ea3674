"""Request and response bodies of departments, grants, channel classes and share requests."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from clearsight.access.policy import Action, ChannelClass, Grant, ScopeKind
from clearsight.api.params import RowKey
from clearsight.api.schemas import Schema, UtcDatetime
from clearsight.gb28181.regions import InvalidCivilCode, region_path

MAX_SCOPE_VALUES = 1000
MAX_NOTE = 255
MAX_PURPOSE = 1000
HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def region_node(code: str) -> str:
    """A region code as the tree stores it ("340200" → "3402"); ValueError when it is none."""
    if not code.isdigit() or len(code) not in (2, 4, 6, 8):
        raise ValueError(f"region code {code!r}: expected 2, 4, 6 or 8 digits")
    try:
        return region_path(code)[-1]
    except InvalidCivilCode as exc:
        raise ValueError(f"region code {code!r}: {exc.reason}") from None


class DepartmentIn(Schema):
    name: str = Field(min_length=1, max_length=255)
    home_region_code: str | None = Field(None, description="Region whose channels the department owns.")

    @field_validator("home_region_code")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return region_node(value) if value is not None else None


class DepartmentOut(Schema):
    id: int
    name: str
    home_region_code: str | None
    created_at: UtcDatetime


class UserDepartmentIn(Schema):
    department_id: RowKey | None = Field(description="None takes the user out of every department.")


class ChannelClassIn(Schema):
    channel_class: ChannelClass


class ChannelClassOut(Schema):
    channel_id: int
    channel_class: ChannelClass


class GrantIn(Schema):
    department_id: RowKey | None = Field(None, description="The department granted (or give user_id).")
    user_id: RowKey | None = Field(None, description="The user granted (or give department_id).")
    actions: list[Action] = Field(min_length=1)
    scope_kind: ScopeKind
    scope_values: list[str] = Field(min_length=1, max_length=MAX_SCOPE_VALUES,
                                    description="Region codes, business group IDs or channel IDs.")
    max_class: ChannelClass = ChannelClass.PUBLIC
    hours: str | None = Field(None, description="Daily window 'HH:MM-HH:MM' (past midnight when end <= start).")
    hours_zone: str = Field("UTC", max_length=64, description="IANA zone of `hours`.")
    valid_from: UtcDatetime | None = None
    valid_until: UtcDatetime | None = None
    note: str | None = Field(None, max_length=MAX_NOTE)

    @model_validator(mode="after")
    def _check(self) -> GrantIn:
        if (self.department_id is None) == (self.user_id is None):
            raise ValueError("give exactly one of department_id and user_id")
        if self.hours is not None and not HOURS.match(self.hours):
            raise ValueError("hours must be 'HH:MM-HH:MM'")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.scope_kind is ScopeKind.REGION:
            self.scope_values = [region_node(v) for v in self.scope_values]
        elif self.scope_kind is ScopeKind.CHANNELS and not all(v.isdigit() and len(v) < 19 for v in self.scope_values):
            raise ValueError("channel scope values are channel IDs")
        elif any(not v or len(v) > 20 for v in self.scope_values):
            raise ValueError("business group IDs are 1 to 20 characters")
        return self


class GrantOut(Schema):
    id: str
    department_id: int | None
    user_id: int | None
    actions: list[Action]
    scope_kind: ScopeKind
    scope_values: list[str]
    max_class: ChannelClass
    hours: str | None
    hours_zone: str | None
    valid_from: UtcDatetime | None
    valid_until: UtcDatetime | None
    revoked_at: UtcDatetime | None
    share_request_id: int | None
    note: str | None
    created_by: str
    created_at: UtcDatetime

    @staticmethod
    def of(grant: Grant) -> GrantOut:
        hours = None
        if grant.hours is not None:
            start, end = grant.hours.start_minute, grant.hours.end_minute
            hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        return GrantOut(id=grant.id, department_id=grant.department_id, user_id=grant.user_id,
                        actions=sorted(grant.actions), scope_kind=grant.scope_kind,
                        scope_values=list(grant.scope_values), max_class=grant.max_class, hours=hours,
                        hours_zone=grant.hours.zone if grant.hours else None, valid_from=grant.valid_from,
                        valid_until=grant.valid_until, revoked_at=grant.revoked_at,
                        share_request_id=grant.share_request_id, note=grant.note, created_by=grant.created_by,
                        created_at=grant.created_at)


def parse_hours(text: str) -> tuple[int, int]:
    match = HOURS.match(text)
    assert match is not None
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    return start_h * 60 + start_m, min(end_h * 60 + end_m, 24 * 60)


class ShareRequestIn(Schema):
    channel_ids: list[RowKey] = Field(min_length=1, max_length=MAX_SCOPE_VALUES)
    actions: list[Action] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=MAX_PURPOSE)
    period_start: UtcDatetime
    period_end: UtcDatetime
    department_id: RowKey | None = Field(None, description="Requesting department (administrators only; "
                                                          "default: the caller's).")

    @model_validator(mode="after")
    def _check(self) -> ShareRequestIn:
        if not self.purpose.strip():
            raise ValueError("state the purpose")
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


class ShareDecisionIn(Schema):
    note: str | None = Field(None, max_length=MAX_PURPOSE)
    channel_ids: list[RowKey] | None = Field(None, description="Approve only these (a subset of the request).")
    actions: list[Action] | None = Field(None, description="Approve only these actions (a subset).")
    period_end: UtcDatetime | None = Field(None, description="End the grant earlier than requested.")
    max_class: ChannelClass = Field(ChannelClass.SENSITIVE, description="Highest class the grant reaches.")


class ShareRequestOut(Schema):
    id: int
    requester_department_id: int
    owner_department_id: int
    requested_by: str
    purpose: str
    channel_ids: list[int]
    actions: list[Action]
    period_start: UtcDatetime
    period_end: UtcDatetime
    state: str
    decided_by: str | None
    decided_at: UtcDatetime | None
    decision_note: str | None
    grant_id: str | None
    created_at: UtcDatetime


