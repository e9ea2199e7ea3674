"""Persistence models of access control: grants and share requests (departments live with users in
`clearsight.registry.models`). Every change here needs a migration in `clearsight/migrations/versions/`.

A grant is never deleted: revoking it stamps `revoked_at`/`revoked_by`, so the audit's grant IDs always
resolve to what was allowed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.registry.models import TEXT_LENGTH, Base, UtcDateTime, utc_now

GRANT_ID_LENGTH = 32  # uuid4 hex
USERNAME_LENGTH = 64
ACTIONS_LENGTH = 128  # comma-separated `Action` values
ZONE_LENGTH = 64  # an IANA time zone name
PURPOSE_LENGTH = 1000


class AccessGrant(Base):
    """Actions on a scope for a department or a user; see `clearsight.access.policy.Grant`."""

    __tablename__ = "access_grants"

    id: Mapped[str] = mapped_column(String(GRANT_ID_LENGTH), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    actions: Mapped[str] = mapped_column(String(ACTIONS_LENGTH))
    scope_kind: Mapped[str] = mapped_column(String(16))  # region | business_group | channels
    scope_values: Mapped[list[Any]] = mapped_column(JSON)  # list of strings
    max_class: Mapped[str] = mapped_column(String(16))
    hours_start: Mapped[int | None] = mapped_column(Integer)  # minute of the day, in hours_zone
    hours_end: Mapped[int | None] = mapped_column(Integer)
    hours_zone: Mapped[str | None] = mapped_column(String(ZONE_LENGTH))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    share_request_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("share_requests.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    created_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class ShareRequest(Base):
    """A department asking another for access to some of its channels, and the owner's decision."""

    __tablename__ = "share_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requester_department_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    owner_department_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    purpose: Mapped[str] = mapped_column(Text)
    channel_ids: Mapped[list[Any]] = mapped_column(JSON)  # list of ints
    actions: Mapped[str] = mapped_column(String(ACTIONS_LENGTH))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected | revoked
    decided_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[str | None] = mapped_column(String(GRANT_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # A revocation of the share (by the owner or an administrator): who, when, and the reason they gave.
    revoked_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
