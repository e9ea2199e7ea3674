"""Request and response bodies of `/api/v1/exports`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clearsight.api.params import RowKey
from clearsight.api.schemas import PageOut, Schema, UtcDatetime

MAX_EXPORT_CHANNELS = 16
MAX_EXPORT_RANGE = timedelta(hours=24)
MAX_REASON_LENGTH = 255  # the exports table's reason column

ExportStateName = Literal["pending", "running", "done", "failed"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON_LENGTH)]
ChannelKey = RowKey


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelKey] = Field(min_length=1, max_length=MAX_EXPORT_CHANNELS,
                                       description="Channel surrogate keys (`id`), each once.")
    start: AwareDatetime = Field(description="Start of the range, with a UTC offset.")
    end: AwareDatetime = Field(description="End of the range (after start, at most 24 h later).")
    reason: Reason = Field(description="Why the video is exported (case number, request); kept in the manifest.")
    watermark: bool = Field(default=False, description="Burn the exporter's name and the time into the video "
                            "(re-encodes it); without it the recorded video is copied as it is.")

    @model_validator(mode="after")
    def _check_range(self) -> ExportCreate:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if self.end - self.start > MAX_EXPORT_RANGE:
            raise ValueError(f"the range may be at most {MAX_EXPORT_RANGE.total_seconds() / 3600:g} h")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("each channel may be named once")
        return self


class ExportOut(Schema):
    id: str
    state: ExportStateName
    created_by: str
    reason: str
    channels: list[int]
    start: UtcDatetime = Field(validation_alias="start_at")
    end: UtcDatetime = Field(validation_alias="end_at")
    watermark: bool
    detail: str | None = Field(description="What failed, or a summary once done.")
    size: int | None = Field(description="Bytes of the package, once done.")
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    download_url: str | None = Field(default=None, description="The package (.zip), once done.")


class ExportPageOut(PageOut[ExportOut]):
    pass


class SigningKeyOut(BaseModel):
    algorithm: Literal["Ed25519"] = "Ed25519"
    fingerprint: str = Field(description="SHA-256 of the raw public key, hex: "
                             "`clearsight verify-export --fingerprint` takes it.")
    public_key_pem: str
