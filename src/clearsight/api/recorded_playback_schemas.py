"""JSON shapes of playback of the platform's own recordings: the request, the session, the WebSocket's messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

Speed = Literal[1, 2, 4, 8]


class RecordedPlaybackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="The instant to play from, ISO 8601 with a UTC offset.")
    speed: Speed = Field(1, description="1, 2, 4 or 8 times real time.")


class RecordedPlaybackOut(BaseModel):
    session_id: str
    channel_id: int
    ws_url: str = Field(description="fMP4 over WebSocket for Media Source Extensions, with its controls; "
                                    "carries a stream token.")
    hls_url: str = Field(description="HLS (fMP4 segments) of the recordings from `start`; carries a stream token.")
    start: datetime = Field(description="Where playback actually begins: the keyframe at or before the instant "
                                        "asked, or the first recorded instant after it when it fell in a gap.")
    speed: Speed
    expires_at: datetime = Field(description="The stream token is refused after this; connections made stay.")
    mime: str = Field(description='For MediaSource.isTypeSupported, e.g. video/mp4; codecs="avc1.42c01e".')


# --- the WebSocket's client messages ---------------------------------------------------------------
class SeekMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["seek"]
    time: AwareDatetime


class SpeedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["speed"]
    speed: Speed


class PauseMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["pause"]


class ResumeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resume"]


ClientMessage = Annotated[SeekMessage | SpeedMessage | PauseMessage | ResumeMessage, Field(discriminator="type")]
CLIENT_MESSAGES: TypeAdapter[SeekMessage | SpeedMessage | PauseMessage | ResumeMessage] = TypeAdapter(ClientMessage)


def iso(moment: datetime) -> str:
    """An instant as the WebSocket's messages write it: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
