"""JSON shapes of the live-view endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LiveOut(BaseModel):
    channel_id: int
    ws_url: str = Field(description="fMP4 over WebSocket for Media Source Extensions; carries a stream token.")
    hls_url: str = Field(description="HLS (fMP4 segments) fallback; carries a stream token.")
    expires_at: datetime = Field(description="The stream token is refused after this; connections made stay.")
    codec: Literal["h264", "h265"]
    mime: str = Field(description='For MediaSource.isTypeSupported, e.g. video/mp4; codecs="avc1.42c01e".')
    width: int
    height: int


class StreamStatsOut(BaseModel):
    type: Literal["stats"] = "stats"
    channel_id: int
    viewers: int
    packets: int
    lost: int
    loss_rate: float = Field(description="Lost packets over packets expected, 0..1.")
    jitter_ms: float
    bitrate_kbps: float
    fps: float
    width: int
    height: int
    codec: str
    uptime_s: float
    transport: str
