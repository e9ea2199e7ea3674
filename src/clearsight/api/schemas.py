"""Request and response bodies of the HTTP API (separate from the registry's records)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from clearsight.gb28181.ptz import MAX_PRESET, MAX_SPEED, MAX_ZOOM_SPEED, MIN_PRESET

DEFAULT_PAN_TILT_SPEED = 0x80  # half of the 0-255 range of GB/T 28181-2016 A.3.2
DEFAULT_ZOOM_SPEED = 0x08  # half of the 4-bit zoom speed


def _as_utc(value: datetime) -> datetime:
    """Times are stored in UTC; a naive value (SQLite drops the zone) is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

ItemT = TypeVar("ItemT", bound=BaseModel)


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(Schema, Generic[ItemT]):
    total: int = Field(ge=0, description="Number of matches across all pages.")
    offset: int = Field(ge=0)
    limit: int = Field(ge=1)
    items: list[ItemT]


class CursorPageOut(PageOut[ItemT], Generic[ItemT]):
    """A page of a list that also pages by cursor (`api/list_pages.py`)."""

    total: int | None = Field(  # type: ignore[assignment]
        ge=0, description="Number of matches across all pages; null on a `cursor` page unless `count=true`.")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page (cheaper than a deep `offset`); null on the last.")


class TokenOut(Schema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class DeviceOut(Schema):
    id: str = Field(description="The device's 20-digit GB/T 28181 ID.")
    name: str | None
    online: bool
    channel_count: int
    last_keepalive: UtcDatetime | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    transport: str = Field(description="SIP transport the device registered over (UDP or TCP).")
    remote_host: str | None
    remote_port: int | None
    registered_at: UtcDatetime | None
    expires_at: UtcDatetime | None


class DevicePage(CursorPageOut[DeviceOut]):
    pass


class ChannelOut(Schema):
    id: int = Field(description="Surrogate key used in channel URLs.")
    gb_id: str = Field(description="The channel's 20-digit GB/T 28181 ID.")
    device_id: str
    name: str | None
    online: bool
    civil_code: str | None
    longitude: float | None
    latitude: float | None
    ptz_type: int | None = Field(description="GB/T 28181 PTZType: 1 dome, 2 semi-dome, 3 fixed, 4 remote.")
    parent_id: str | None
    business_group_id: str | None
    manufacturer: str | None
    model: str | None
    address: str | None
    channel_class: str = Field("public", description="public, restricted or sensitive (docs/access.md).")


class ChannelPage(CursorPageOut[ChannelOut]):
    pass


class GroupOut(Schema):
    id: int
    device_id: str = Field(description="The device (usually an NVR or a lower platform) whose catalog has it.")
    gb_id: str
    kind: Literal["business_group", "virtual_org"] = Field(description="Type 215 or 216.")
    name: str
    parent_id: str | None
    business_group_id: str | None


class GroupPage(PageOut[GroupOut]):
    pass


class RegionOut(Schema):
    code: str = Field(description="Administrative division code (GB/T 2260, extended to 8 digits).")
    name: str
    level: str = Field(description="province, city, county or unit.")
    channel_count: int
    online_count: int
    children: list[RegionOut]


class PtzMove(BaseModel):
    """Move continuously until a `stop`; -1/0/1 per axis (pan right, tilt up, zoom in are +1)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["move"]
    pan: Literal[-1, 0, 1] = 0
    tilt: Literal[-1, 0, 1] = 0
    zoom: Literal[-1, 0, 1] = 0
    speed: int = Field(default=DEFAULT_PAN_TILT_SPEED, ge=0, le=MAX_SPEED)
    zoom_speed: int = Field(default=DEFAULT_ZOOM_SPEED, ge=0, le=MAX_ZOOM_SPEED)

    @model_validator(mode="after")
    def _some_axis(self) -> PtzMove:
        if self.pan == 0 and self.tilt == 0 and self.zoom == 0:
            raise ValueError("move needs at least one of pan, tilt, zoom to be -1 or 1")
        return self


class PtzStop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["stop"]


class PtzPreset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["preset_set", "preset_call", "preset_delete"]
    preset: int = Field(ge=MIN_PRESET, le=MAX_PRESET)


PtzRequest = Annotated[PtzMove | PtzStop | PtzPreset, Field(discriminator="action")]


class CommandSent(Schema):
    status: Literal["sent"] = "sent"


class CatalogQueried(Schema):
    status: Literal["queried"] = "queried"
    sn: int = Field(description="The SN of the Catalog query; the answer arrives asynchronously.")


class DevicePasswordIn(Schema):
    password: str | None = Field(
        min_length=8, max_length=64,
        description="The device's own SIP digest password; null returns it to the platform default.")


class DeviceStatusOut(Schema):
    """A device's own report, asked live by a DeviceStatus query."""

    device_id: str
    online: bool = Field(description="The device says it is ONLINE.")
    status_ok: bool = Field(description="The device reports its status as OK.")
    result: str | None
    encode: str | None = Field(description="ON when encoding")
    record: str | None = Field(description="ON when recording")
    device_time: str | None = Field(description="The device's local clock as it sent it.")
    alarms: list[str] = Field(description="Alarm inputs and their duty status, as DeviceID:status.")


CheckState = Literal["ok", "error"]


class HealthOut(Schema):
    status: CheckState
    database: CheckState
    sip: CheckState
