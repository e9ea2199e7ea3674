"""The simulated device's side of playback and download (GB/T 28181-2016 §9.8): history from its archive.

An INVITE with ``s=Playback`` or ``s=Download`` asks for ``t=<start> <end>`` (Unix seconds). The device
answers from `RecordingArchive` (404 when nothing of the range was recorded; a range reaching into the future
stops at the INVITE), and after the ACK streams its test picture as PS over RTP on the offer's transport,
rendering each frame for the instant it shows: the burnt-in clock reads the historic time played (device
local time), so a test can tell which instant arrived.

* Playback goes at real-time pace times the scale. MANSRTSP over INFO (`clearsight.gb28181.mansrtsp`):
  PAUSE stops sending until a PLAY; ``Range: npt=<s>-`` continues from ``s`` seconds into the range (with a
  keyframe); ``Scale: s`` sends ``s`` times as many frames a second. Timestamps are scaled as devices do at
  speed: they advance with the sending time, so a player at normal rate shows the faster picture smoothly.
  They never jump back (a seek continues them).
* Download goes at ``a=downloadspeed`` times real time (1 when absent) with the recording's own timestamps.
* At the end of the range the device sends MediaStatus (NotifyType 121) in the dialog (as Hikvision NVRs
  do; outside it, a MESSAGE of its own, when `notify_in_dialog` is off) and waits for the platform's BYE.

Switches for tests: `notify_in_dialog` (where MediaStatus goes), `control_rejection` (answer every control
INFO with that status). Events: ``playback_invite``, ``playback_started``, ``playback_control``,
``playback_ended`` (with the first and last clock shown) and ``playback_stopped``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from clearsight.gb28181.manscdp_media_status import build_media_status
from clearsight.gb28181.mansrtsp import (
    CONTENT_TYPE,
    MansrtspError,
    MansrtspMethod,
    build_response,
    is_mansrtsp,
    parse_request,
)
from clearsight.gb28181.requests import MANSCDP_CONTENT_TYPE
from clearsight.gb28181.sdp import SdpError, parse_sdp
from clearsight.gb28181.sdp_build import build_answer
from clearsight.gb28181.ssrc import StreamKind
from clearsight.sim.device import SimulatedChannel, SimulatedDevice
from clearsight.sim.device_streams import DeviceStream, DeviceStreams, Emit
from clearsight.sim.live_stream import LIVE_FPS, LIVE_HEIGHT, LIVE_WIDTH
from clearsight.sim.recordings import RECORDED_BYTES_PER_SECOND, RecordingArchive
from clearsight.sim.rtp_stream import PsRtpStream
from clearsight.sim.video import PTS_CLOCK_HZ, LiveEncoder, clock_text
from clearsight.sip.dialog import Dialog
from clearsight.sip.endpoint import IncomingRequest, SipEndpoint, TransactionTimeout
from clearsight.sip.errors import SipError

logger = logging.getLogger(__name__)

HISTORY_KINDS = (StreamKind.PLAYBACK, StreamKind.DOWNLOAD)
FRAME_SECONDS = 1 / LIVE_FPS  # recorded time each frame shows
# Seconds the MediaStatus MESSAGE may take to be answered.
NOTIFY_TIMEOUT = 5.0

# Sends a MESSAGE body from a device outside any dialog; returns the platform's status (None: no answer).
DeviceMessage = Callable[[SimulatedDevice, bytes], Awaitable[int | None]]


def history_kind(body: bytes) -> StreamKind | None:
    """PLAYBACK or DOWNLOAD when an INVITE body asks for history; None for live view or an unreadable body."""
    try:
        kind = parse_sdp(body).kind
    except SdpError:
        return None
    return kind if kind in HISTORY_KINDS else None


@dataclass(slots=True, kw_only=True)
class _Playback(DeviceStream):
    kind: StreamKind
    start: float  # Unix seconds of the first instant of the range
    end: float
    download_speed: float = 1.0
    position: float = 0.0  # seconds into the range of the next frame
    scale: float = 1.0
    paused: bool = False
    keyframe_wanted: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    first_clock: str | None = None
    last_clock: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def pace(self) -> float:
        """Seconds of the range sent per second of wall-clock time."""
        return self.scale if self.kind is StreamKind.PLAYBACK else self.download_speed

    @property
    def tick_step(self) -> float:
        """90 kHz ticks between frames: scaled to the sending time in playback, the recording's own in download."""
        step = FRAME_SECONDS * PTS_CLOCK_HZ
        return step / self.scale if self.kind is StreamKind.PLAYBACK else step


class PlaybackStreamer(DeviceStreams[_Playback]):
    """INVITE/ACK/INFO/BYE of history streams for every simulated channel of one simulator."""

    def __init__(self, endpoint: SipEndpoint, local_host: str, emit: Emit, archive: RecordingArchive,
                 next_sn: Callable[[], int], send_message: DeviceMessage) -> None:
        super().__init__(endpoint, local_host, emit)
        self.archive = archive
        self._next_sn = next_sn
        self._send_message = send_message
        self.notify_in_dialog = True  # MediaStatus 121 in the INVITE dialog; off: a MESSAGE outside it
        self.control_rejection: int | None = None  # answer MANSRTSP INFO with this status instead of obeying

    # --- SIP ---------------------------------------------------------------------------------------
    async def _answer_invite(self, incoming: IncomingRequest, device: SimulatedDevice,
                             channel: SimulatedChannel) -> None:
        request = incoming.request
        channel_id = channel.channel_id
        offer = await self._read_offer(incoming, device, channel_id, "playback_invite")
        if offer is None:
            return
        kind = offer.kind or StreamKind.PLAYBACK
        recorded = self.archive.clip(float(offer.start), float(offer.end))
        if recorded is None:
            await incoming.respond(404, "No recording in the range")
            self._emit("playback_invite", device=device.device_id, channel=channel_id, status=404, mode=kind.value,
                       start=offer.start, end=offer.end)
            return
        sink, port, transport = await self._open_sink(offer, channel_id)
        filesize = int((recorded[1] - recorded[0]) * RECORDED_BYTES_PER_SECOND) if kind is StreamKind.DOWNLOAD else None
        body = build_answer(offer=offer, device_id=channel_id, media_host=self._local_host, media_port=port,
                            filesize=filesize)
        tag = self._endpoint.new_tag()
        stream = _Playback(request.call_id, device, channel, offer, sink, transport,
                           Dialog.from_uas_request(request, tag), incoming.peer, kind=kind, start=recorded[0],
                           end=recorded[1], download_speed=float(offer.download_speed or 1))
        await self._accept(incoming, stream, tag, body)
        self._emit("playback_invite", device=device.device_id, channel=channel_id, status=200, mode=kind.value,
                   ssrc=offer.ssrc.text if offer.ssrc else None, start=recorded[0], end=recorded[1],
                   download_speed=offer.download_speed, transport=transport.value)

    def on_ack(self, call_id: str) -> None:
        stream = self._start(call_id, self._run)
        if stream is None:
            return
        self._emit("playback_started", device=stream.device.device_id, channel=stream.channel.channel_id,
                   mode=stream.kind.value, transport=stream.transport.value)

    async def on_info(self, incoming: IncomingRequest) -> None:
        """MANSRTSP playback control in a history dialog."""
        request = incoming.request
        stream = self._streams.get(request.call_id)
        if stream is None or not stream.dialog.matches(request):
            await incoming.respond(481)
            return
        if not is_mansrtsp(request.header("Content-Type")):
            await incoming.respond(415, "Unsupported Media Type")
            return
        if self.control_rejection is not None:
            await incoming.respond(self.control_rejection)
            self._emit("playback_control", device=stream.device.device_id, channel=stream.channel.channel_id,
                       status=self.control_rejection)
            return
        try:
            control = parse_request(request.body)
        except MansrtspError as exc:
            await incoming.respond(400, f"Bad MANSRTSP: {exc.reason}"[:100])
            return
        if control.method is MansrtspMethod.PAUSE:
            stream.paused = True
        elif control.method is MansrtspMethod.PLAY:
            if control.scale is not None:
                stream.scale = control.scale
            if control.range_start is not None:
                stream.position = min(control.range_start, stream.duration)
                stream.keyframe_wanted = True
            stream.paused = False
        stream.changed.set()
        await incoming.respond(200, body=build_response(control.cseq), content_type=CONTENT_TYPE)
        self._emit("playback_control", device=stream.device.device_id, channel=stream.channel.channel_id,
                   method=control.method.value, scale=control.scale, range_start=control.range_start,
                   position=round(stream.position, 3), frames=stream.frames_sent)
        if control.method is MansrtspMethod.TEARDOWN:
            await self._stop(stream, "teardown")

    # --- media -------------------------------------------------------------------------------------
    async def _stop(self, stream: _Playback, reason: str) -> None:
        if not await self._end(stream):
            return
        self._emit("playback_stopped", device=stream.device.device_id, channel=stream.channel.channel_id,
                   mode=stream.kind.value, reason=reason, frames=stream.frames_sent, packets=stream.packets_sent)

    async def _run(self, stream: _Playback) -> None:
        channel = stream.channel
        try:
            await stream.sink.open()
            await self._send_range(stream)
        except OSError as exc:  # the platform's port refused us, or the connection broke: the dialog stays
            logger.info("channel %s: %s media stopped: %s", channel.channel_id, stream.kind.value, exc)
            self._emit("media_error", device=stream.device.device_id, channel=channel.channel_id, detail=str(exc))
            return
        await self._notify_file_ended(stream)

    async def _send_range(self, stream: _Playback) -> None:
        ssrc = stream.offer.ssrc.value if stream.offer.ssrc else 0
        rtp = PsRtpStream(ssrc)
        encoder = LiveEncoder(LIVE_WIDTH, LIVE_HEIGHT, LIVE_FPS)
        loop = asyncio.get_running_loop()
        ticks = 0.0
        anchor, sent_since_anchor = loop.time(), 0
        while stream.position < stream.duration - 1e-9:
            if stream.changed.is_set() or stream.paused:
                stream.changed.clear()
                while stream.paused:
                    await stream.changed.wait()
                    stream.changed.clear()
                anchor, sent_since_anchor = loop.time(), 0  # pace afresh from here, without a burst
                if stream.keyframe_wanted:
                    stream.keyframe_wanted = False
                    encoder.request_keyframe()
                continue
            shown = datetime.fromtimestamp(stream.start + stream.position).astimezone()
            frames = await asyncio.to_thread(encoder.encode_test_picture, channel_name=stream.channel.name,
                                             now=shown, marker=(stream.channel.ptz.pan, stream.channel.ptz.tilt))
            await stream.send(rtp, [(frame, int(ticks)) for frame in frames])
            if frames:
                stream.first_clock = stream.first_clock or clock_text(shown)
                stream.last_clock = clock_text(shown)
            ticks += stream.tick_step
            stream.position += FRAME_SECONDS
            sent_since_anchor += 1
            due = anchor + sent_since_anchor * FRAME_SECONDS / stream.pace
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _notify_file_ended(self, stream: _Playback) -> None:
        """MediaStatus 121: the whole range was sent. The platform answers with a BYE."""
        body = build_media_status(self._next_sn(), stream.channel.channel_id)
        in_dialog = self.notify_in_dialog
        status: int | None
        if not in_dialog:
            status = await self._send_message(stream.device, body)
        else:
            request = stream.dialog.create_request("MESSAGE", body=body, content_type=MANSCDP_CONTENT_TYPE)
            try:
                status = (await self._endpoint.send_request(request, stream.platform, timeout=NOTIFY_TIMEOUT)).status
            except TransactionTimeout:
                status = 408
            except SipError as exc:
                logger.warning("channel %s: MediaStatus could not be sent: %s", stream.channel.channel_id, exc)
                status = None
        self._emit("playback_ended", device=stream.device.device_id, channel=stream.channel.channel_id,
                   mode=stream.kind.value, frames=stream.frames_sent, first_clock=stream.first_clock,
                   last_clock=stream.last_clock, notify_status=status, in_dialog=in_dialog)
