"""What the simulated device's live (`live_stream`) and history (`playback`) streams share: the streams of one
kind by Call-ID, the INVITE's SDP offer read and answered, frames sent as RTP, and the stop."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from clearsight.gb28181.sdp import MediaTransport, SdpError, SessionDescription, TcpSetup, parse_sdp
from clearsight.sim.device import SimulatedChannel, SimulatedDevice
from clearsight.sim.media_sink import MediaSink, open_media_sink
from clearsight.sim.rtp_stream import RtpStream
from clearsight.sim.video import EncodedFrame
from clearsight.sip.dialog import Dialog
from clearsight.sip.endpoint import IncomingRequest, Peer, SipEndpoint

SDP_CONTENT_TYPE = "APPLICATION/SDP"  # RFC 4566 §5 media type

Emit = Callable[..., None]


@dataclass(slots=True)
class DeviceStream:
    """One stream the device sends: its dialog, its media sink and how much went out on it."""

    call_id: str
    device: SimulatedDevice
    channel: SimulatedChannel
    offer: SessionDescription
    sink: MediaSink
    transport: MediaTransport  # the device's side
    dialog: Dialog
    platform: Peer
    task: asyncio.Task[None] | None = None
    frames_sent: int = 0
    packets_sent: int = 0

    async def send(self, rtp: RtpStream, frames: Iterable[tuple[EncodedFrame, int]]) -> None:
        """Each frame with its 90 kHz PTS as RTP packets to the sink, then wait until the sink has taken them."""
        for frame, pts_90k in frames:
            for packet in rtp.packets_for(frame, pts_90k):
                self.sink.send(packet)
                self.packets_sent += 1
            self.frames_sent += 1
        await self.sink.drain()


StreamT = TypeVar("StreamT", bound=DeviceStream)


class DeviceStreams(abc.ABC, Generic[StreamT]):
    """The device's streams of one kind by Call-ID, and the parts of INVITE, ACK and BYE they handle alike."""

    def __init__(self, endpoint: SipEndpoint, local_host: str, emit: Emit) -> None:
        self._endpoint = endpoint
        self._local_host = local_host
        self._emit = emit
        self._streams: dict[str, StreamT] = {}

    @property
    def active(self) -> int:
        return len(self._streams)

    def owns(self, call_id: str) -> bool:
        return call_id in self._streams

    def streams_of(self, channel_id: str) -> list[str]:
        """Call-IDs of the channel's streams."""
        return [s.call_id for s in self._streams.values() if s.channel.channel_id == channel_id]

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await self._stop(stream, "simulator stopping")

    async def on_invite(self, incoming: IncomingRequest, device: SimulatedDevice) -> None:
        channel = device.channel(incoming.request.to_addr.uri.user or "")
        if channel is None:
            await incoming.respond(404, "No such channel")
            return
        await self._answer_invite(incoming, device, channel)

    async def on_bye(self, incoming: IncomingRequest) -> None:
        stream = self._streams.get(incoming.request.call_id)
        await incoming.respond(200)
        if stream is not None:
            await self._stop(stream, "bye")

    @abc.abstractmethod
    async def _answer_invite(self, incoming: IncomingRequest, device: SimulatedDevice,
                             channel: SimulatedChannel) -> None:
        """Answer an INVITE for one of the device's channels."""

    @abc.abstractmethod
    async def _stop(self, stream: StreamT, reason: str) -> None:
        """End the stream (`_end`) and say so."""

    async def _read_offer(self, incoming: IncomingRequest, device: SimulatedDevice, channel_id: str, event: str
                          ) -> SessionDescription | None:
        """The INVITE's SDP offer; None once an unusable one has been answered with 488 and `event` emitted."""
        try:
            offer = parse_sdp(incoming.request.body)
            if offer.stream.is_tcp and offer.setup is TcpSetup.HOLDCONN:
                raise SdpError("a=setup:holdconn: no media would flow")
        except SdpError as exc:
            await incoming.respond(488, f"Bad SDP: {exc.reason}"[:100])
            self._emit(event, device=device.device_id, channel=channel_id, status=488)
            return None
        return offer

    async def _open_sink(self, offer: SessionDescription, channel_id: str) -> tuple[MediaSink, int, MediaTransport]:
        """The media socket for `offer`, the port for the answer and the device's transport role."""
        label = f"{channel_id}/{offer.ssrc.text if offer.ssrc else '?'}"
        return await open_media_sink(offer, self._local_host, label)

    async def _accept(self, incoming: IncomingRequest, stream: StreamT, tag: str, answer: bytes) -> None:
        """Keep `stream` (so that the ACK finds it) and answer its INVITE with 200 and the SDP `answer`."""
        self._streams[stream.call_id] = stream
        sip_port = self._endpoint.udp_port or self._endpoint.tcp_port
        contact = f"<sip:{stream.channel.channel_id}@{self._endpoint.local_host}:{sip_port}>"
        await incoming.respond(200, body=answer, content_type=SDP_CONTENT_TYPE, to_tag=tag,
                               headers=[("Contact", contact)])

    def _start(self, call_id: str, run: Callable[[StreamT], Coroutine[Any, Any, None]]) -> StreamT | None:
        """Start sending on the ACK of the stream's INVITE; None when there is no such stream or it runs already."""
        stream = self._streams.get(call_id)
        if stream is None or stream.task is not None:
            return None
        stream.task = asyncio.create_task(run(stream))
        return stream

    async def _end(self, stream: StreamT) -> bool:
        """Forget the stream, cancel its sending and close its sink; False when it had ended already."""
        if self._streams.pop(stream.call_id, None) is None:
            return False
        task = stream.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        stream.sink.close()
        return True
