"""The simulated device's side of live view: answer INVITE, stream PS over RTP/UDP after ACK, stop on BYE.

Each stream encodes the channel's test picture (name, clock, PTZ marker) live with `LiveEncoder` in a
worker thread, muxes it with `PsRtpStream` and sends it at real-time pace to the address and port of the
platform's offer, with the offered ``y=`` SSRC. Switches for tests: `mute(channel)` answers INVITE but never
sends RTP; `reject(channel, status)` answers INVITE with that status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from clearsight.gb28181.sdp import SdpError, SessionDescription, parse_sdp
from clearsight.gb28181.sdp_build import build_answer
from clearsight.sim.device import SimulatedChannel, SimulatedDevice
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import LiveEncoder
from clearsight.sip.endpoint import IncomingRequest, SipEndpoint

logger = logging.getLogger(__name__)

SDP_CONTENT_TYPE = "APPLICATION/SDP"  # RFC 4566 §5 media type
LIVE_WIDTH, LIVE_HEIGHT = 320, 180  # small, so that many simulated streams cost little CPU
LIVE_FPS = 25  # GB/T 28181 cameras commonly send 25 fps (PAL regions)

Emit = Callable[..., None]


class _NullProtocol(asyncio.DatagramProtocol):
    """The sending socket ignores anything sent back to it."""


@dataclass(slots=True)
class _Stream:
    call_id: str
    device: SimulatedDevice
    channel: SimulatedChannel
    offer: SessionDescription
    transport: asyncio.DatagramTransport
    task: asyncio.Task[None] | None = None
    frames_sent: int = 0
    packets_sent: int = 0


class LiveStreamer:
    """INVITE/ACK/BYE for every simulated channel of one simulator."""

    def __init__(self, endpoint: SipEndpoint, local_host: str, emit: Emit) -> None:
        self._endpoint = endpoint
        self._local_host = local_host
        self._emit = emit
        self._streams: dict[str, _Stream] = {}
        self.muted: set[str] = set()  # channels that answer INVITE but send no RTP
        self.rejections: dict[str, int] = {}  # channel → status to answer INVITE with

    def mute(self, channel_id: str, muted: bool = True) -> None:
        if muted:
            self.muted.add(channel_id)
        else:
            self.muted.discard(channel_id)

    def reject(self, channel_id: str, status: int | None) -> None:
        if status is None:
            self.rejections.pop(channel_id, None)
        else:
            self.rejections[channel_id] = status

    @property
    def active(self) -> int:
        return len(self._streams)

    def owns(self, call_id: str) -> bool:
        return call_id in self._streams

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await self._stop(stream, "simulator stopping")

    # --- SIP ---------------------------------------------------------------------------------------
    async def on_invite(self, incoming: IncomingRequest, device: SimulatedDevice) -> None:
        request = incoming.request
        channel_id = request.to_addr.uri.user or ""
        channel = device.channel(channel_id)
        if channel is None:
            await incoming.respond(404, "No such channel")
            return
        rejection = self.rejections.get(channel_id)
        if rejection is not None:
            await incoming.respond(rejection)
            self._emit("invite", device=device.device_id, channel=channel_id, status=rejection)
            return
        try:
            offer = parse_sdp(request.body)
        except SdpError as exc:
            await incoming.respond(488, f"Bad SDP: {exc.reason}"[:100])
            return
        if offer.stream.is_tcp:
            await incoming.respond(488, "TCP media not simulated yet")
            self._emit("invite", device=device.device_id, channel=channel_id, status=488)
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            _NullProtocol, local_addr=(self._local_host, 0), remote_addr=(offer.host, offer.stream.port))
        port = int(transport.get_extra_info("sockname")[1])
        body = build_answer(offer=offer, device_id=channel_id, media_host=self._local_host, media_port=port)
        stream = _Stream(request.call_id, device, channel, offer, transport)
        self._streams[request.call_id] = stream
        sip_port = self._endpoint.udp_port or self._endpoint.tcp_port
        await incoming.respond(200, body=body, content_type=SDP_CONTENT_TYPE,
                               headers=[("Contact", f"<sip:{channel_id}@{self._endpoint.local_host}:{sip_port}>")])
        self._emit("invite", device=device.device_id, channel=channel_id, status=200,
                   ssrc=offer.ssrc.text if offer.ssrc else None, media=f"{offer.host}:{offer.stream.port}")

    def on_ack(self, call_id: str) -> None:
        stream = self._streams.get(call_id)
        if stream is None or stream.task is not None:
            return
        muted = stream.channel.channel_id in self.muted
        stream.task = asyncio.create_task(self._stream(stream, muted))
        self._emit("stream_started", device=stream.device.device_id, channel=stream.channel.channel_id,
                   ssrc=stream.offer.ssrc.text if stream.offer.ssrc else None, muted=muted)

    async def on_bye(self, incoming: IncomingRequest) -> None:
        stream = self._streams.get(incoming.request.call_id)
        await incoming.respond(200)
        if stream is not None:
            await self._stop(stream, "bye")

    # --- media -------------------------------------------------------------------------------------
    async def _stop(self, stream: _Stream, reason: str) -> None:
        if self._streams.pop(stream.call_id, None) is None:
            return
        task = stream.task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        stream.transport.close()
        self._emit("stream_stopped", device=stream.device.device_id, channel=stream.channel.channel_id,
                   reason=reason, frames=stream.frames_sent, packets=stream.packets_sent)

    async def _stream(self, stream: _Stream, muted: bool) -> None:
        if muted:
            await asyncio.Event().wait()  # answered, acknowledged, and silent until BYE
        ssrc = stream.offer.ssrc.value if stream.offer.ssrc else 0
        rtp = PsRtpStream(ssrc)
        encoder = LiveEncoder(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS)
        loop = asyncio.get_running_loop()
        started = loop.time()
        channel = stream.channel
        while True:
            frames = await asyncio.to_thread(
                encoder.encode_test_picture, channel_name=channel.name, now=datetime.now().astimezone(),
                marker=(channel.ptz.pan, channel.ptz.tilt))
            for frame in frames:
                for packet in rtp.packets_for(frame, frame.pts_90k):
                    stream.transport.sendto(packet)
                    stream.packets_sent += 1
                stream.frames_sent += 1
            due = started + encoder.frame_count / LIVE_FPS
            await asyncio.sleep(max(0.0, due - loop.time()))
