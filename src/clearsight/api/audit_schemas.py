"""JSON shapes of the audit endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from clearsight.api.schemas import PageOut, Schema, UtcDatetime


class AuditEntryOut(Schema):
    seq: int = Field(description="Position in the chain, from 1, without gaps.")
    at: UtcDatetime
    actor: str = Field(description="User name, 'system', or a device ID.")
    action: str = Field(description="e.g. login.failure, live.start, ptz, export.create (see docs/audit.md).")
    target: str | None = Field(description="What it was done to: a channel's GB ID, an export ID, a user name.")
    client: str | None = Field(description="The client's address.")
    grant: str | None = Field(description="The permission grant it was allowed under.")
    reason: str | None = Field(description="The reason the user stated.")
    details: dict[str, Any]
    prev_hash: str = Field(description="SHA-256 (hex) of the previous entry.")
    hash: str = Field(description="SHA-256 (hex) over this entry's canonical form, prev_hash included.")


class AuditPageOut(PageOut[AuditEntryOut]):
    pass
