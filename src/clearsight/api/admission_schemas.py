"""Bodies of `/api/v1/devices/pending`: unknown devices held for approval, and rejected ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clearsight.api.schemas import Schema, UtcDatetime
from clearsight.registry.admission_store import AdmissionRecord


class PendingDeviceOut(Schema):
    device_id: str = Field(description="The ID the device registered with.")
    state: Literal["pending", "rejected", "approved"] = Field(
        description="pending: refused until approved; rejected: refused for good (approving undoes it); approved: "
        "only in the answer to an approval, the device is now in the registry.")
    transport: str = Field(description="udp or tcp, of the latest attempt.")
    remote_host: str = Field(description="Source address of the latest attempt.")
    remote_port: int
    user_agent: str | None = Field(description="The device's User-Agent header, as sent (cleaned, cut at 255).")
    attempts: int = Field(description="REGISTERs refused since first seen.")
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    decided_by: str | None = Field(description="Who rejected it.")
    decided_at: UtcDatetime | None

    @classmethod
    def of(cls, record: AdmissionRecord, *, state: str | None = None) -> PendingDeviceOut:
        out = cls.model_validate(record)
        return out if state is None else out.model_copy(update={"state": state})


class DeviceApprovalIn(Schema):
    password: str | None = Field(
        default=None, min_length=8, max_length=64,
        description="The device's own SIP digest password; omitted or null: the platform default.")
