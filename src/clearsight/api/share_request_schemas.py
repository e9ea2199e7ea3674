"""Request and response bodies of share requests (`/api/v1/share-requests`)."""

from __future__ import annotations

from pydantic import Field, model_validator

from clearsight.access.policy import Action, ChannelClass
from clearsight.access.share_discovery import ShareableChannel, ShareableChannelPage
from clearsight.access.share_requests import MAX_CHANNELS, ShareRecord, ShareState
from clearsight.api.access_schemas import GrantOut
from clearsight.api.params import RowKey
from clearsight.api.schemas import Schema, UtcDatetime

MAX_TEXT = 1000


class ShareAskIn(Schema):
    channel_ids: list[RowKey] = Field(min_length=1, max_length=MAX_CHANNELS,
                                   description="Channels of one other department.")
    actions: list[Action] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=MAX_TEXT)
    period_start: UtcDatetime | None = Field(None, description="Default: now.")
    period_end: UtcDatetime | None = Field(None, description="Default: 7 days after the start; at most 30 days.")
    department_id: RowKey | None = Field(None, description="Requesting department (administrators only; "
                                                               "default: the caller's).")

    @model_validator(mode="after")
    def _check(self) -> ShareAskIn:
        if not self.purpose.strip():
            raise ValueError("state the purpose")
        if self.period_start and self.period_end and self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        if any(c < 1 or c > 2**31 - 1 for c in self.channel_ids):
            raise ValueError("channel IDs are positive integers")
        return self


class ShareApproveIn(Schema):
    channel_ids: list[int] | None = Field(None, min_length=1, max_length=MAX_CHANNELS,
                                          description="Approve only these (some of the requested ones).")
    actions: list[Action] | None = Field(None, min_length=1, description="Approve only these actions.")
    period_start: UtcDatetime | None = Field(None, description="Begin later than requested.")
    period_end: UtcDatetime | None = Field(None, description="End earlier than requested.")
    max_class: ChannelClass = Field(ChannelClass.SENSITIVE, description="Highest class the grant reaches.")
    note: str | None = Field(None, max_length=MAX_TEXT)


class ShareRejectIn(Schema):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _check(self) -> ShareRejectIn:
        if not self.reason.strip():
            raise ValueError("state the reason")
        return self


class ShareRevokeIn(Schema):
    reason: str | None = Field(None, max_length=MAX_TEXT)


class ShareOut(Schema):
    id: int
    requester_department_id: int
    owner_department_id: int
    requested_by: str
    purpose: str
    channel_ids: list[int]
    actions: list[Action]
    period_start: UtcDatetime
    period_end: UtcDatetime
    state: ShareState = Field(description="pending, approved, rejected, revoked, or expired (approved, over).")
    decided_by: str | None
    decided_at: UtcDatetime | None
    decision_note: str | None
    grant_id: str | None
    grant: GrantOut | None = Field(description="What was approved (channels, actions, period), once decided.")
    created_at: UtcDatetime
    revoked_by: str | None = Field(description="Who revoked the share (or its grant, revoked directly).")
    revoked_at: UtcDatetime | None
    revoke_reason: str | None = Field(description="The reason given when revoking the share, if any.")

    @staticmethod
    def of(record: ShareRecord) -> ShareOut:
        return ShareOut(id=record.id, requester_department_id=record.requester_department_id,
                        owner_department_id=record.owner_department_id, requested_by=record.requested_by,
                        purpose=record.purpose, channel_ids=list(record.channel_ids),
                        actions=sorted(record.actions), period_start=record.period_start,
                        period_end=record.period_end, state=record.state, decided_by=record.decided_by,
                        decided_at=record.decided_at, decision_note=record.decision_note,
                        grant_id=record.grant_id, grant=GrantOut.of(record.grant) if record.grant else None,
                        created_at=record.created_at, revoked_by=record.revoked_by, revoked_at=record.revoked_at,
                        revoke_reason=record.revoke_reason)


class ShareableChannelOut(Schema):
    """What asking for a channel needs, and nothing more (no stream, no device, no position)."""

    id: int
    gb_id: str
    name: str
    owner_department_id: int
    owner_department_name: str
    channel_class: ChannelClass = Field(description="public or restricted: sensitive channels are never listed.")
    region_code: str | None

    @staticmethod
    def of(channel: ShareableChannel) -> ShareableChannelOut:
        return ShareableChannelOut(id=channel.id, gb_id=channel.gb_id, name=channel.name,
                                   owner_department_id=channel.owner_department_id,
                                   owner_department_name=channel.owner_department_name,
                                   channel_class=channel.channel_class, region_code=channel.region_code)


class ShareableChannelPageOut(Schema):
    items: list[ShareableChannelOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null on the last one.")

    @staticmethod
    def of(page: ShareableChannelPage) -> ShareableChannelPageOut:
        return ShareableChannelPageOut(items=[ShareableChannelOut.of(c) for c in page.items],
                                       next_cursor=page.next_cursor)
