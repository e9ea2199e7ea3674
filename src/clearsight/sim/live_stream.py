"""The simulated device's side of live view: answer INVITE, stream PS over RTP after ACK, stop on BYE.

Each stream encodes the channel's test picture (name, clock, PTZ marker) live with `LiveEncoder` in a
worker thread, muxes it with `PsRtpStream` (or, for a channel switched with `payload()`, `TsRtpStream` or
`H264RtpStream`, as devices that deviate from the standard do) and sends it at real-time pace with the
offered ``y=`` SSRC, on the transport of the platform's offer (UDP, or TCP in either role: `media_sink`).

Switches for tests: `mute(channel)` answers INVITE but sends no RTP (also mid-stream: sending stops until
unmuted); `reject(channel, status)` answers INVITE with that status; `bye(channel)` ends the channel's
streams with a BYE from the device; `drop_media(channel)` closes the media connections without a BYE;
`payload(channel, "ps" | "ts" | "h264" | "h264-sprop")` picks what the channel's next streams carry (the SDP
answer still says PS, as such devices do; for "h264-sprop", raw H.264 without SPS/PPS in band, the answer says
H264 and gives them in ``sprop-parameter-sets``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from clearsight.gb28181.sdp_build import build_answer
from clearsight.sim.device import SimulatedChannel, SimulatedDevice
from clearsight.sim.device_streams import DeviceStream, DeviceStreams, Emit
from clearsight.sim.rtp_stream import (
    H264_PARAMETER_SET_TYPES,
    ReplaySource,
    StreamPayload,
    nal_units,
    rtp_stream_for,
)
from clearsight.sim.video import ClipLibrary, LiveEncoder
from clearsight.sip.dialog import Dialog
from clearsight.sip.endpoint import IncomingRequest, SipEndpoint, TransactionTimeout
from clearsight.sip.errors import SipError

logger = logging.getLogger(__name__)

LIVE_WIDTH, LIVE_HEIGHT = 320, 180  # small, so that many simulated streams cost little CPU
LIVE_FPS = 25  # GB/T 28181 cameras commonly send 25 fps (PAL regions)
REPLAY_CLIP_SECONDS = 2.0  # the load mode's clip: two GOPs at the encoder's one-second keyframe interval
# Seconds between looks at the mute switch while a stream is muted.
MUTE_POLL_INTERVAL = 0.05
# Seconds the device's own BYE may take to be answered.
BYE_TIMEOUT = 5.0


@functools.cache
def live_parameter_sets() -> tuple[bytes, ...]:
    """The SPS and PPS of every live stream (and replay clip): they depend only on the encoder's settings, so one
    picture encoded here tells them. Blocking: call it in a worker thread."""
    encoder = LiveEncoder(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS)
    frames = encoder.encode_test_picture(channel_name="", now=datetime.now().astimezone(), marker=(0.0, 0.0))
    keyframe = next(frame for frame in [*frames, *encoder.flush()] if frame.keyframe)
    return tuple(nal for nal in nal_units(keyframe.data) if nal[0] & 0x1F in H264_PARAMETER_SET_TYPES)


@dataclass(slots=True)
class _Stream(DeviceStream):
    payload: StreamPayload = StreamPayload.PS


class LiveStreamer(DeviceStreams[_Stream]):
    """INVITE/ACK/BYE for every simulated channel of one simulator."""

    def __init__(self, endpoint: SipEndpoint, local_host: str, emit: Emit, *, replay: bool = False) -> None:
        """`replay`: stream a clip encoded once (shared by every stream) instead of encoding each stream live:
        the load mode, in which one process feeds hundreds of streams (the picture's clock then loops)."""
        super().__init__(endpoint, local_host, emit)
        self._clips = ClipLibrary() if replay else None
        self._clip_lock = asyncio.Lock()
        self.muted: set[str] = set()  # channels that answer INVITE but send no RTP
        self.rejections: dict[str, int] = {}  # channel → status to answer INVITE with
        self.payloads: dict[str, StreamPayload] = {}  # channel → what its streams carry, when not PS

    def mute(self, channel_id: str, muted: bool = True) -> None:
        """Stop (or resume) sending RTP on the channel's streams, those running and those to come."""
        if muted:
            self.muted.add(channel_id)
        else:
            self.muted.discard(channel_id)

    def reject(self, channel_id: str, status: int | None) -> None:
        if status is None:
            self.rejections.pop(channel_id, None)
        else:
            self.rejections[channel_id] = status

    def payload(self, channel_id: str, kind: StreamPayload | str) -> StreamPayload:
        """What the channel's streams answered from now on carry: "ps" (the default), "ts", "h264" or "h264-sprop".

        Raises ValueError for another kind. Streams already running keep theirs.
        """
        payload = StreamPayload(kind)
        if payload is StreamPayload.PS:
            self.payloads.pop(channel_id, None)
        else:
            self.payloads[channel_id] = payload
        return payload

    async def bye(self, channel_id: str) -> int:
        """End every live stream of the channel with a BYE from the device; returns how many."""
        streams = [s for s in self._streams.values() if s.channel.channel_id == channel_id]
        for stream in streams:
            await self._stop(stream, "device-bye")
            status: int | None
            try:
                response = await self._endpoint.send_request(stream.dialog.create_bye(), stream.platform,
                                                             timeout=BYE_TIMEOUT)
                status = response.status
            except TransactionTimeout:
                status = 408
            except SipError as exc:
                logger.warning("channel %s: BYE could not be sent: %s", channel_id, exc)
                status = None
            self._emit("bye", device=stream.device.device_id, channel=channel_id, status=status)
        return len(streams)

    def drop_media(self, channel_id: str) -> int:
        """Close the channel's media sockets without a BYE (a device whose TCP connection breaks)."""
        streams = [s for s in self._streams.values() if s.channel.channel_id == channel_id]
        for stream in streams:
            if stream.task is not None:
                stream.task.cancel()
            stream.sink.close()
            self._emit("media_dropped", device=stream.device.device_id, channel=channel_id)
        return len(streams)

    # --- SIP ---------------------------------------------------------------------------------------
    async def _answer_invite(self, incoming: IncomingRequest, device: SimulatedDevice,
                             channel: SimulatedChannel) -> None:
        request = incoming.request
        channel_id = channel.channel_id
        rejection = self.rejections.get(channel_id)
        if rejection is not None:
            await incoming.respond(rejection)
            self._emit("invite", device=device.device_id, channel=channel_id, status=rejection)
            return
        offer = await self._read_offer(incoming, device, channel_id, "invite")
        if offer is None:
            return
        payload = self.payloads.get(channel_id, StreamPayload.PS)
        sprop = await asyncio.to_thread(live_parameter_sets) if payload is StreamPayload.H264_SPROP else ()
        sink, port, transport = await self._open_sink(offer, channel_id)
        body = build_answer(offer=offer, device_id=channel_id, media_host=self._local_host, media_port=port,
                            h264_parameter_sets=sprop)
        tag = self._endpoint.new_tag()
        stream = _Stream(request.call_id, device, channel, offer, sink, transport,
                         Dialog.from_uas_request(request, tag), incoming.peer, payload=payload)
        await self._accept(incoming, stream, tag, body)
        self._emit("invite", device=device.device_id, channel=channel_id, status=200,
                   ssrc=offer.ssrc.text if offer.ssrc else None, media=f"{offer.host}:{offer.stream.port}",
                   transport=transport.value, port=port)

    def on_ack(self, call_id: str) -> None:
        stream = self._start(call_id, self._stream)
        if stream is None:
            return
        self._emit("stream_started", device=stream.device.device_id, channel=stream.channel.channel_id,
                   ssrc=stream.offer.ssrc.text if stream.offer.ssrc else None,
                   muted=stream.channel.channel_id in self.muted, transport=stream.transport.value,
                   payload=stream.payload.value)

    # --- media -------------------------------------------------------------------------------------
    async def _stop(self, stream: _Stream, reason: str) -> None:
        if not await self._end(stream):
            return
        self._emit("stream_stopped", device=stream.device.device_id, channel=stream.channel.channel_id,
                   reason=reason, frames=stream.frames_sent, packets=stream.packets_sent)

    async def _stream(self, stream: _Stream) -> None:
        channel = stream.channel
        try:
            await stream.sink.open()
        except OSError as exc:  # the platform's port refused us, or the socket was dropped
            logger.warning("channel %s: no %s media connection: %s", channel.channel_id, stream.transport.value, exc)
            self._emit("media_error", device=stream.device.device_id, channel=channel.channel_id, detail=str(exc))
            return
        try:
            await self._send_live(stream)
        except ConnectionError as exc:  # reset or broken pipe: the stream stays until a BYE
            logger.info("channel %s: media %s stopped: %s", channel.channel_id, stream.transport.value, exc)

    async def _send_replay(self, stream: _Stream, clips: ClipLibrary) -> None:
        async with self._clip_lock:  # the first stream encodes the clip; the others wait and share it
            clip = await asyncio.to_thread(clips.encode_clip, LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS, REPLAY_CLIP_SECONDS)
        source = ReplaySource(clip, LIVE_FPS)
        rtp = rtp_stream_for(stream.payload, stream.offer.ssrc.value if stream.offer.ssrc else 0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for frame, pts in source:
            if stream.channel.channel_id not in self.muted:
                await stream.send(rtp, [(frame, pts)])
            await asyncio.sleep(max(0.0, started + source.frame_count / LIVE_FPS - loop.time()))

    async def _send_live(self, stream: _Stream) -> None:
        if self._clips is not None:
            await self._send_replay(stream, self._clips)
            return
        channel = stream.channel
        ssrc = stream.offer.ssrc.value if stream.offer.ssrc else 0
        rtp = rtp_stream_for(stream.payload, ssrc)
        encoder: LiveEncoder | None = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            if channel.channel_id in self.muted:
                await asyncio.sleep(MUTE_POLL_INTERVAL)
                frame_count = encoder.frame_count if encoder is not None else 0
                started = loop.time() - frame_count / LIVE_FPS  # resume at real-time pace, without a burst
                continue
            if encoder is None:  # not before the first unmuted moment: a muted stream costs no encoding
                encoder = LiveEncoder(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS)
            frames = await asyncio.to_thread(
                encoder.encode_test_picture, channel_name=channel.name, now=datetime.now().astimezone(),
                marker=(channel.ptz.pan, channel.ptz.tilt))
            await stream.send(rtp, [(frame, frame.pts_90k) for frame in frames])
            due = started + encoder.frame_count / LIVE_FPS
            await asyncio.sleep(max(0.0, due - loop.time()))
