"""The simulated device's side of live view: answer INVITE, stream PS over RTP after ACK, stop on BYE.

Each stream encodes the channel's test picture (name, clock, PTZ marker) live with `LiveEncoder` in a
worker thread, muxes it with `PsRtpStream` (or, for a channel switched with `payload()`, `TsRtpStream` or
`H264RtpStream`, as devices that deviate from the standard do) and sends it at real-time pace with the
offered ``y=`` SSRC, on the transport of the platform's offer:

* ``RTP/AVP`` (UDP): datagrams to the address and port of the offer.
* ``TCP/RTP/AVP`` with ``a=setup:passive`` (the platform listens): the device answers ``a=setup:active``
  with the port it will connect from, connects after the ACK and sends RFC 4571-framed RTP.
* ``TCP/RTP/AVP`` with ``a=setup:active`` (the platform connects): the device listens, answers
  ``a=setup:passive`` with that port and sends once the platform has connected (one connection only).

Switches for tests: `mute(channel)` answers INVITE but sends no RTP (also mid-stream: sending stops until
unmuted); `reject(channel, status)` answers INVITE with that status; `bye(channel)` ends the channel's
streams with a BYE from the device; `drop_media(channel)` closes the media connections without a BYE;
`payload(channel, "ps" | "ts" | "h264")` picks what the channel's next streams carry (the SDP answer still
says PS, as such devices do).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from clearsight.gb28181.sdp import MediaTransport, SdpError, SessionDescription, TcpSetup, parse_sdp
from clearsight.gb28181.sdp_build import build_answer
from clearsight.media.rtp_framing import frame_rtp
from clearsight.sim.device import SimulatedChannel, SimulatedDevice
from clearsight.sim.rtp_stream import ReplaySource, StreamPayload, rtp_stream_for
from clearsight.sim.video import ClipLibrary, LiveEncoder
from clearsight.sip.dialog import Dialog
from clearsight.sip.endpoint import IncomingRequest, Peer, SipEndpoint, TransactionTimeout
from clearsight.sip.errors import SipError

logger = logging.getLogger(__name__)

SDP_CONTENT_TYPE = "APPLICATION/SDP"  # RFC 4566 §5 media type
LIVE_WIDTH, LIVE_HEIGHT = 320, 180  # small, so that many simulated streams cost little CPU
LIVE_FPS = 25  # GB/T 28181 cameras commonly send 25 fps (PAL regions)
REPLAY_CLIP_SECONDS = 2.0  # the load mode's clip: two GOPs at the encoder's one-second keyframe interval
# Seconds between looks at the mute switch while a stream is muted.
MUTE_POLL_INTERVAL = 0.05
# Seconds the device's own BYE may take to be answered.
BYE_TIMEOUT = 5.0

Emit = Callable[..., None]


class _NullProtocol(asyncio.DatagramProtocol):
    """The sending socket ignores anything sent back to it."""


class _UdpSink:
    """RTP as datagrams to the offered address."""

    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self._transport = transport

    async def open(self) -> None:
        return None

    def send(self, packet: bytes) -> None:
        self._transport.sendto(packet)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self._transport.close()


class _TcpSink:
    """RFC 4571-framed RTP on one TCP connection, opened by us (`sock` bound) or by the platform (`server`)."""

    def __init__(self, *, label: str, connect_to: tuple[str, int] | None = None, sock: socket.socket | None = None,
                 server: asyncio.Server | None = None, accepted: asyncio.Future[asyncio.StreamWriter] | None = None
                 ) -> None:
        self._label = label
        self._connect_to = connect_to
        self._sock = sock
        self._server = server
        self._accepted = accepted
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    def connecting(cls, label: str, local_host: str, remote: tuple[str, int]) -> tuple[_TcpSink, int]:
        """A sink that will connect to `remote` from a port bound now (the port goes into the answer)."""
        sock = socket.socket(socket.AF_INET6 if ":" in local_host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((local_host, 0))
        return cls(label=label, connect_to=remote, sock=sock), int(sock.getsockname()[1])

    @classmethod
    async def listening(cls, label: str, local_host: str) -> tuple[_TcpSink, int]:
        """A sink that waits for the platform to connect to the port returned."""
        accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

        async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if accepted.done():
                logger.warning("stream %s: refusing a second media connection from %s", label,
                               writer.get_extra_info("peername"))
                writer.close()
                return
            accepted.set_result(writer)

        server = await asyncio.start_server(accept, local_host, 0)
        return cls(label=label, server=server, accepted=accepted), int(server.sockets[0].getsockname()[1])

    async def open(self) -> None:
        if self._sock is not None and self._connect_to is not None:
            loop = asyncio.get_running_loop()
            await loop.sock_connect(self._sock, self._connect_to)
            _reader, self._writer = await asyncio.open_connection(sock=self._sock)
        elif self._accepted is not None:
            self._writer = await asyncio.shield(self._accepted)
        logger.debug("stream %s: media connection open", self._label)

    def send(self, packet: bytes) -> None:
        if self._writer is not None:
            if self._writer.is_closing():  # the platform hung up: stop before asyncio warns about lost writes
                raise ConnectionResetError("the platform closed the media connection")
            self._writer.write(frame_rtp(packet))

    async def drain(self) -> None:
        if self._writer is not None:
            await self._writer.drain()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self._sock is not None:
            self._sock.close()
        if self._accepted is not None and self._accepted.done() and not self._accepted.cancelled():
            self._accepted.result().close()
        if self._server is not None:
            self._server.close()


_Sink = _UdpSink | _TcpSink
MediaSink = _Sink  # what `open_media_sink` returns: open(), send(packet), drain(), close()


async def open_media_sink(offer: SessionDescription, local_host: str, label: str
                          ) -> tuple[MediaSink, int, MediaTransport]:
    """The device's media socket for `offer`, the port for the answer and the device's transport role."""
    remote = (offer.host, offer.stream.port)
    if not offer.stream.is_tcp:
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(_NullProtocol, local_addr=(local_host, 0), remote_addr=remote)
        return _UdpSink(udp), int(udp.get_extra_info("sockname")[1]), MediaTransport.UDP
    if offer.setup in (TcpSetup.PASSIVE, TcpSetup.ACTPASS):  # the platform listens: we connect
        sink, port = _TcpSink.connecting(label, local_host, remote)
        return sink, port, MediaTransport.TCP_ACTIVE
    sink, port = await _TcpSink.listening(label, local_host)  # a=setup:active or none (RFC 4145)
    return sink, port, MediaTransport.TCP_PASSIVE


@dataclass(slots=True)
class _Stream:
    call_id: str
    device: SimulatedDevice
    channel: SimulatedChannel
    offer: SessionDescription
    sink: _Sink
    transport: MediaTransport  # the device's side
    dialog: Dialog
    platform: Peer
    task: asyncio.Task[None] | None = None
    payload: StreamPayload = StreamPayload.PS
    frames_sent: int = 0
    packets_sent: int = 0


class LiveStreamer:
    """INVITE/ACK/BYE for every simulated channel of one simulator."""

    def __init__(self, endpoint: SipEndpoint, local_host: str, emit: Emit, *, replay: bool = False) -> None:
        """`replay`: stream a clip encoded once (shared by every stream) instead of encoding each stream live:
        the load mode, in which one process feeds hundreds of streams (the picture's clock then loops)."""
        self._endpoint = endpoint
        self._clips = ClipLibrary() if replay else None
        self._clip_lock = asyncio.Lock()
        self._local_host = local_host
        self._emit = emit
        self._streams: dict[str, _Stream] = {}
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
        """What the channel's streams answered from now on carry: "ps" (the default), "ts" or "h264".

        Raises ValueError for another kind. Streams already running keep theirs.
        """
        payload = StreamPayload(kind)
        if payload is StreamPayload.PS:
            self.payloads.pop(channel_id, None)
        else:
            self.payloads[channel_id] = payload
        return payload

    @property
    def active(self) -> int:
        return len(self._streams)

    def owns(self, call_id: str) -> bool:
        return call_id in self._streams

    def streams_of(self, channel_id: str) -> list[str]:
        """Call-IDs of the channel's live streams."""
        return [s.call_id for s in self._streams.values() if s.channel.channel_id == channel_id]

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
            if offer.stream.is_tcp and offer.setup is TcpSetup.HOLDCONN:
                raise SdpError("a=setup:holdconn: no media would flow")
        except SdpError as exc:
            await incoming.respond(488, f"Bad SDP: {exc.reason}"[:100])
            self._emit("invite", device=device.device_id, channel=channel_id, status=488)
            return
        label = f"{channel_id}/{offer.ssrc.text if offer.ssrc else '?'}"
        sink, port, transport = await self._open_sink(offer, label)
        body = build_answer(offer=offer, device_id=channel_id, media_host=self._local_host, media_port=port)
        tag = self._endpoint.new_tag()
        stream = _Stream(request.call_id, device, channel, offer, sink, transport,
                         Dialog.from_uas_request(request, tag), incoming.peer,
                         payload=self.payloads.get(channel_id, StreamPayload.PS))
        self._streams[request.call_id] = stream
        sip_port = self._endpoint.udp_port or self._endpoint.tcp_port
        await incoming.respond(200, body=body, content_type=SDP_CONTENT_TYPE, to_tag=tag,
                               headers=[("Contact", f"<sip:{channel_id}@{self._endpoint.local_host}:{sip_port}>")])
        self._emit("invite", device=device.device_id, channel=channel_id, status=200,
                   ssrc=offer.ssrc.text if offer.ssrc else None, media=f"{offer.host}:{offer.stream.port}",
                   transport=transport.value, port=port)

    async def _open_sink(self, offer: SessionDescription, label: str) -> tuple[_Sink, int, MediaTransport]:
        return await open_media_sink(offer, self._local_host, label)

    def on_ack(self, call_id: str) -> None:
        stream = self._streams.get(call_id)
        if stream is None or stream.task is not None:
            return
        stream.task = asyncio.create_task(self._stream(stream))
        self._emit("stream_started", device=stream.device.device_id, channel=stream.channel.channel_id,
                   ssrc=stream.offer.ssrc.text if stream.offer.ssrc else None,
                   muted=stream.channel.channel_id in self.muted, transport=stream.transport.value,
                   payload=stream.payload.value)

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
        stream.sink.close()
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
                for packet in rtp.packets_for(frame, pts):
                    stream.sink.send(packet)
                    stream.packets_sent += 1
                stream.frames_sent += 1
                await stream.sink.drain()
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
            for frame in frames:
                for packet in rtp.packets_for(frame, frame.pts_90k):
                    stream.sink.send(packet)
                    stream.packets_sent += 1
                stream.frames_sent += 1
            await stream.sink.drain()
            due = started + encoder.frame_count / LIVE_FPS
            await asyncio.sleep(max(0.0, due - loop.time()))
