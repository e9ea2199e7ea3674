"""From a channel to its running hub stream: the opener the hub calls, and failures as problem details."""

from __future__ import annotations

import logging
import time

from clearsight.api.deps import ApiServices
from clearsight.api.live_schemas import StreamStatsOut
from clearsight.api.ports import DeviceOffline, LiveViewError
from clearsight.api.problems import DEVICE_OFFLINE, LIVE_VIEW_FAILED, Problem
from clearsight.channel_streams import UnknownChannel
from clearsight.media.hub import HubStream, StreamNotReady

logger = logging.getLogger(__name__)

# Steps at which a stream failure means "the device sent nothing in time" rather than "it refused".
TIMEOUT_STEPS = frozenset({"no-rtp", "keyframe"})


def _failure(channel_id: int, step: str, detail: str) -> Problem:
    status = 504 if step in TIMEOUT_STEPS else 502
    # `detail` is the device-facing cause ("device answered 486 Busy Here"); `step` says where it failed.
    return Problem(status, detail, type_=LIVE_VIEW_FAILED, title=f"Live view failed at {step}",
                   extensions={"channel_id": channel_id, "step": step})


async def channel_stream(services: ApiServices, channel_id: int) -> HubStream:
    """The channel's running stream, opened when none runs; raises a Problem saying which step failed."""
    try:
        return await services.streams.open(channel_id)
    except UnknownChannel as exc:
        raise Problem(404, str(exc)) from exc
    except DeviceOffline as exc:
        raise Problem(409, str(exc), type_=DEVICE_OFFLINE, title="Device offline",
                      extensions={"device_id": exc.device_id, "channel_id": channel_id, "step": "offline"}) from exc
    except LiveViewError as exc:
        raise _failure(channel_id, str(exc.step), exc.detail) from exc
    except StreamNotReady as exc:
        raise _failure(channel_id, exc.step, exc.detail) from exc


def stream_stats(channel_id: int, stream: HubStream) -> StreamStatsOut:
    source = stream.source.stats()
    parameters = stream.parameters
    fps, kbps = stream.rates()
    expected = source.packets + source.lost
    return StreamStatsOut(
        channel_id=channel_id, viewers=len(stream.consumers), packets=source.packets, lost=source.lost,
        loss_rate=source.lost / expected if expected else 0.0, jitter_ms=round(source.jitter_ms, 2),
        bitrate_kbps=round(kbps, 1), fps=round(fps, 1), width=parameters.width if parameters else 0,
        height=parameters.height if parameters else 0,
        codec=parameters.codec_string if parameters else "", uptime_s=round(time.monotonic() - stream.started_at, 1),
        transport=source.transport)
