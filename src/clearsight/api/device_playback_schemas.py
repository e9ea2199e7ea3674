"""JSON shapes of the device-playback endpoints: recordings on a device, playback sessions and their control."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from clearsight.api.schemas import UtcDatetime

PLAYBACK_SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)  # the Scale values devices commonly honour
MAX_RECORDINGS_SPAN_DAYS = 31  # a RecordInfo query over more is refused: NVRs answer thousands of items slowly
MAX_PLAYBACK_HOURS = 24  # one playback INVITE covers at most a day


class DeviceRecordingOut(BaseModel):
    start: datetime
    end: datetime
    name: str | None = None
    file_path: str | None = None
    address: str | None = None
    secrecy: int | None = None
    type: str | None = Field(default=None, description="time, alarm or manual, as the device says.")
    recorder_id: str | None = None
    file_size: int | None = Field(default=None, description="Bytes, when the device says.")


class DeviceRecordingsOut(BaseModel):
    channel_id: int
    start: datetime
    end: datetime
    complete: bool = Field(description="False when the device announced more items (SumNum) than arrived.")
    sum_num: int = Field(description="How many items the device announced.")
    requeries: int = Field(description="Times the query was sent again because the answer stalled.")
    rejected: int = Field(description="Items left out because their times were unreadable.")
    items: list[DeviceRecordingOut]


class PlaybackIn(BaseModel):
    start: UtcDatetime = Field(description="First instant to play (a time without zone is UTC).")
    end: UtcDatetime
    speed: float = Field(default=1.0, description=f"One of {', '.join(f'{s:g}' for s in PLAYBACK_SPEEDS)}.")

    @model_validator(mode="after")
    def _check(self) -> PlaybackIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).total_seconds() > MAX_PLAYBACK_HOURS * 3600:
            raise ValueError(f"a playback covers at most {MAX_PLAYBACK_HOURS} hours")
        if self.speed not in PLAYBACK_SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(f'{s:g}' for s in PLAYBACK_SPEEDS)}")
        return self


class PlaybackOut(BaseModel):
    session_id: str = Field(description="Names this playback in the control, state and stream URLs.")
    channel_id: int
    ws_url: str = Field(description="fMP4 over WebSocket for Media Source Extensions; carries a stream token.")
    hls_url: str = Field(description="HLS (fMP4 segments); carries a stream token.")
    control_url: str = Field(description="POST {action: pause|play|seek|speed} here (bearer token).")
    expires_at: datetime = Field(description="The stream token is refused after this; connections made stay.")
    codec: Literal["h264", "h265"]
    mime: str
    width: int
    height: int
    start: datetime
    end: datetime
    speed: float


class PlaybackControlIn(BaseModel):
    action: Literal["pause", "play", "seek", "speed"]
    position: float | None = Field(default=None, ge=0, description="seek: seconds after the start of the range.")
    speed: float | None = Field(default=None, description="speed: the new speed.")

    @model_validator(mode="after")
    def _check(self) -> PlaybackControlIn:
        if self.action == "seek" and self.position is None:
            raise ValueError("seek needs a position")
        if self.action == "speed" and self.speed not in PLAYBACK_SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(f'{s:g}' for s in PLAYBACK_SPEEDS)}")
        return self


class PlaybackStateOut(BaseModel):
    session_id: str
    channel_id: int
    state: Literal["playing", "paused", "ended"]
    speed: float
    position: float = Field(description="Seconds into the range the device should be at (an estimate).")
    start: datetime
    end: datetime
    end_reason: str | None = None
