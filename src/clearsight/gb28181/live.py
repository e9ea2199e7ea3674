"""Live view (GB/T 28181-2016 §9.2): INVITE a channel, receive its RTP over UDP or TCP, hand out its frames.

The same machinery opens history streams (§9.8, `clearsight.gb28181.playback`): ``kind`` PLAYBACK or
DOWNLOAD puts ``s=Playback``/``s=Download``, ``u=``, ``t=<start> <end>`` (and ``a=downloadspeed``) in the offer
and takes the SSRC from the history pool; everything else below applies alike.

`LiveSessionManager.open` walks the steps a stream needs and says which one failed when it does (a device that is
not online raises `DeviceOffline` before the first, so that "offline" stays distinct from "refused"):

1. ``invite``: SSRC and receive port allocated, INVITE with ``Subject`` and an SDP offer sent; the device
   must answer 2xx (a non-2xx answer, no answer or an unusable SDP answer fail here). ACK follows.
2. ``connect``: TCP active only (the device answered ``a=setup:passive``): the platform connects to the
   device's answered address and port within ``connect_timeout`` seconds.
3. ``no-rtp``: the first RTP packet must arrive within ``no_rtp_timeout`` seconds (TCP passive: the device
   must connect to the offered port first; the detail says which of the two did not happen).
4. ``wrong-ssrc``: RTP arrived but none of it with the SSRC expected.
5. ``payload``: the payload must be recognised: MPEG-PS (the standard), MPEG-TS, or H.264/H.265 directly in
   RTP (devices that deviate); a payload of none of these kinds fails here.

The offer's transport is the caller's (``transport=``, else the manager's ``default_transport``): UDP
(``RTP/AVP``), TCP passive (``TCP/RTP/AVP``, ``a=setup:passive``: the platform listens, the device
connects) or TCP active (``a=setup:active``: the platform connects). The receiver listens on UDP and TCP
on the same port whatever was offered, so the device's answer decides (`sdp_negotiate.MediaPlan`), and the
transport not chosen is closed; `LiveSession.transport` is what was negotiated.

After that the session's `frames` queue fills with `EsFrame`s until `close()` (BYE from us), a BYE from the
device, ``media_timeout`` seconds without RTP (BYE, ``close_reason`` "no RTP for 10 s") or the end of the
TCP media connection (BYE, the reason says how it ended). `LiveSession.closed` is set in every case. A paused
playback holds the media timeout (`LiveSession.hold_media`); `send_info` carries control in the dialog.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from clearsight.gb28181.commander import DeviceCommander
from clearsight.gb28181.requests import RequestFactory
from clearsight.gb28181.sdp import MediaTransport, SdpError, parse_sdp
from clearsight.gb28181.sdp_build import build_offer, subject_header
from clearsight.gb28181.sdp_negotiate import MediaPlan, negotiate
from clearsight.gb28181.ssrc import Ssrc, SsrcAllocator, SsrcExhausted, StreamKind
from clearsight.media.es import EsFrame
from clearsight.media.payload import PayloadKind
from clearsight.media.rtp_receiver import RtpReceiver
from clearsight.media.rtp_tcp import CONNECT_TIMEOUT, MediaConnectError, format_peer
from clearsight.sip.dialog import Dialog, DialogError
from clearsight.sip.endpoint import IncomingRequest, Peer, SipEndpoint, TransactionTimeout
from clearsight.sip.errors import SipError
from clearsight.sip.message import SipResponse

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SDP_CONTENT_TYPE = "APPLICATION/SDP"  # RFC 4566 §5 media type, as GB/T 28181 devices write it
# Seconds a device has to answer the INVITE with a final response.
INVITE_TIMEOUT = 10.0
# Seconds from ACK to the first RTP packet before the stream is declared missing.
NO_RTP_TIMEOUT = 5.0
# Seconds from the first RTP packet until the payload kind must be known.
PAYLOAD_TIMEOUT = 5.0
# Frames a session queues for a slow consumer; beyond this the oldest are dropped.
FRAME_QUEUE_SIZE = 512
# Seconds a BYE may take to be answered when we end a session.
BYE_TIMEOUT = 5.0
# Seconds without RTP, once streaming, before the session is ended with a BYE.
MEDIA_TIMEOUT = 10.0
# Seconds an in-dialog INFO (playback control) may take to be answered.
INFO_TIMEOUT = 5.0
# What the log and errors call a session of each kind.
SESSION_NOUNS = {StreamKind.PLAY: "live view", StreamKind.PLAYBACK: "playback", StreamKind.DOWNLOAD: "download"}


class LiveStep(enum.StrEnum):
    """The step of opening a live stream that failed."""

    INVITE = "invite"
    CONNECT = "connect"
    NO_RTP = "no-rtp"
    WRONG_SSRC = "wrong-ssrc"
    PAYLOAD = "payload"


class LiveViewError(Exception):
    """Opening a stream (live view, or playback/download: `kind`) failed at `step`; `detail` says what happened."""

    def __init__(self, step: LiveStep, detail: str, *, device_id: str = "", channel_id: str = "",
                 kind: StreamKind = StreamKind.PLAY) -> None:
        super().__init__(f"{SESSION_NOUNS[kind]} of {channel_id or '?'} (device {device_id or '?'}) failed at "
                         f"{step}: {detail}")
        self.step = step
        self.detail = detail
        self.device_id = device_id
        self.channel_id = channel_id
        self.kind = kind


@dataclass(slots=True)
class LiveSession:
    """One open stream. Read frames from `frames`; `closed` is set when it ends, `close_reason` says why.

    `kind` is PLAY for live view; PLAYBACK and DOWNLOAD sessions also carry their `time_range` (Unix seconds).
    """

    device_id: str
    channel_id: str
    ssrc: Ssrc
    receiver: RtpReceiver
    peer: Peer
    transport: MediaTransport = MediaTransport.UDP  # offered, then the platform's side as negotiated
    kind: StreamKind = StreamKind.PLAY
    time_range: tuple[int, int] | None = None
    download_speed: int | None = None
    media_held: bool = False  # no RTP expected (a paused playback): the media timeout does not run
    dialog: Dialog | None = None
    payload_kind: PayloadKind | None = None
    frames: asyncio.Queue[EsFrame] = field(default_factory=lambda: asyncio.Queue(FRAME_QUEUE_SIZE))
    frames_dropped: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_reason: str | None = None
    _manager: LiveSessionManager | None = field(default=None, repr=False)
    _watchdog: asyncio.Task[None] | None = field(default=None, repr=False)
    _resumed_at: float | None = field(default=None, repr=False)

    @property
    def noun(self) -> str:
        """What log lines and errors call this session: live view, playback or download."""
        return SESSION_NOUNS[self.kind]

    def hold_media(self) -> None:
        """Expect no RTP until `resume_media` (the device was told to pause): the media timeout waits."""
        self.media_held = True

    def resume_media(self) -> None:
        """RTP is expected again; the media timeout counts from now."""
        self.media_held = False
        self._resumed_at = asyncio.get_running_loop().time()

    def deliver(self, frame: EsFrame) -> None:
        if self.frames.full():
            self.frames.get_nowait()
            self.frames_dropped += 1
        self.frames.put_nowait(frame)

    async def close(self) -> None:
        """End the stream: BYE to the device, SSRC and port released. Closing twice does nothing."""
        if self._manager is not None:
            await self._manager.close(self)


class LiveSessionManager:
    """Opens and tracks live sessions for `Gb28181Service`; routes the device's BYE to its session."""

    def __init__(self, endpoint: SipEndpoint, factory: RequestFactory, commander: DeviceCommander, *,
                 media_host: str, ssrcs: SsrcAllocator, default_transport: MediaTransport = MediaTransport.UDP,
                 invite_timeout: float = INVITE_TIMEOUT, no_rtp_timeout: float = NO_RTP_TIMEOUT,
                 payload_timeout: float = PAYLOAD_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT,
                 media_timeout: float = MEDIA_TIMEOUT) -> None:
        self._endpoint = endpoint
        self._factory = factory
        self._commander = commander
        self.media_host = media_host
        self.ssrcs = ssrcs
        self.invite_timeout = invite_timeout
        self.no_rtp_timeout = no_rtp_timeout
        self.payload_timeout = payload_timeout
        self.default_transport = default_transport
        self.connect_timeout = connect_timeout
        self.media_timeout = media_timeout
        self._by_call_id: dict[str, LiveSession] = {}

    @property
    def sessions(self) -> list[LiveSession]:
        return list(self._by_call_id.values())

    def owns(self, incoming: IncomingRequest) -> bool:
        """Whether a request from a device belongs to one of our live dialogs."""
        return incoming.request.call_id in self._by_call_id

    # --- opening ---------------------------------------------------------------------------------
    async def open(self, device_id: str, channel_id: str, *, transport: MediaTransport | None = None,
                   kind: StreamKind = StreamKind.PLAY, time_range: tuple[int, int] | None = None,
                   download_speed: int | None = None) -> LiveSession:
        """Open a stream of `channel_id` on `device_id`; raises LiveViewError naming the failed step, or
        DeviceOffline when the device is not online (nothing is sent then).

        `transport` is the platform's side offered (default: `default_transport`); the device may answer
        another, which `LiveSession.transport` then names. `kind` PLAYBACK or DOWNLOAD needs `time_range`
        (Unix seconds, start <= end); DOWNLOAD may ask for a `download_speed` (a multiple of real time).
        """
        if (kind is StreamKind.PLAY) != (time_range is None):
            raise ValueError(f"{kind.value} {'takes no' if kind is StreamKind.PLAY else 'needs a'} time range")
        device_peer = self._commander.peer_of(device_id)  # DeviceOffline as it is: no step was reached
        try:
            ssrc = self.ssrcs.allocate(kind)
        except SsrcExhausted as exc:
            raise LiveViewError(LiveStep.INVITE, str(exc), device_id=device_id, channel_id=channel_id,
                                kind=kind) from exc
        label = f"{channel_id}/{ssrc}"
        receiver = RtpReceiver(expected_ssrc=ssrc.value, label=label)
        session = LiveSession(device_id, channel_id, ssrc, receiver,
                              Peer(device_peer.transport, device_peer.host, device_peer.port),
                              transport=transport or self.default_transport, kind=kind, time_range=time_range,
                              download_speed=download_speed, _manager=self)
        receiver.on_frame = session.deliver
        try:
            await self._establish(session)
        except LiveViewError:
            await self.close(session, reason="setup failed")
            raise
        except BaseException:
            await self.close(session, reason="setup abandoned")
            raise
        logger.info("%s %s (device %s): streaming %s over %s, SSRC %s", session.noun, channel_id, device_id,
                    session.payload_kind.value if session.payload_kind else "?", session.transport.value, ssrc)
        session._watchdog = asyncio.create_task(self._watch(session), name=f"media-watch {label}")
        session._watchdog.add_done_callback(_log_watch_failure)
        return session

    def _fail(self, session: LiveSession, step: LiveStep, detail: str) -> LiveViewError:
        logger.warning("%s %s (device %s): failed at %s: %s", session.noun, session.channel_id, session.device_id,
                       step, detail)
        return LiveViewError(step, detail, device_id=session.device_id, channel_id=session.channel_id,
                             kind=session.kind)

    async def _establish(self, session: LiveSession) -> None:
        receiver = session.receiver
        offered = session.transport
        port = await receiver.start(self.media_host, 0, udp=True, tcp=True)
        start, end = session.time_range or (None, None)
        offer = build_offer(session=session.kind, channel_id=session.channel_id, media_host=self.media_host,
                            media_port=port, ssrc=session.ssrc, transport=offered, start=start, end=end,
                            download_speed=session.download_speed, origin_user=self._factory.platform_id)
        device_peer = self._commander.peer_of(session.device_id)
        invite = self._factory.request(
            "INVITE", session.channel_id, device_peer, body=offer, content_type=SDP_CONTENT_TYPE,
            extra=[("Subject", subject_header(session.channel_id, session.ssrc, self._factory.platform_id))])
        self._by_call_id[invite.call_id] = session
        try:
            response = await self._endpoint.send_request(invite, session.peer, timeout=self.invite_timeout)
        except TransactionTimeout as exc:
            raise self._fail(session, LiveStep.INVITE, f"no answer to INVITE within {self.invite_timeout:g} s") from exc
        except SipError as exc:
            raise self._fail(session, LiveStep.INVITE, f"INVITE could not be sent: {exc}") from exc
        if not 200 <= response.status < 300:
            raise self._fail(session, LiveStep.INVITE, f"device answered {response.status} {response.reason}")
        try:
            session.dialog = Dialog.from_uac_response(invite, response)
        except DialogError as exc:
            raise self._fail(session, LiveStep.INVITE, f"unusable 2xx: {exc}") from exc
        await self._endpoint.send_ack(session.dialog, session.peer)
        try:
            plan = negotiate(parse_sdp(response.body), parse_sdp(offer))
        except SdpError as exc:
            raise self._fail(session, LiveStep.INVITE, f"unusable SDP answer: {exc.reason}") from exc
        for note in plan.notes:
            logger.info("%s %s (device %s): %s", session.noun, session.channel_id, session.device_id, note)
        session.transport = plan.transport
        if plan.transport is not offered:
            logger.info("%s %s (device %s): offered %s media, the device chose %s", session.noun,
                        session.channel_id, session.device_id, offered.value, plan.transport.value)
        if plan.expected_ssrc is not None and plan.ssrc_changed:
            receiver.expect_ssrc(plan.expected_ssrc.value)
        if plan.parameter_sets:  # raw H.264/H.265 whose device sends SPS/PPS only in the SDP can still start
            receiver.remember_parameter_sets(plan.parameter_sets)
        await self._open_media(session, plan)
        await self._await_media(session)

    async def _open_media(self, session: LiveSession, plan: MediaPlan) -> None:
        """Keep the transport the plan chose: close the other, connect to the device in TCP active."""
        receiver = session.receiver
        if plan.transport is MediaTransport.UDP:
            receiver.stop_listening()
            return
        receiver.stop_udp()
        if not plan.platform_connects:
            return  # TCP passive: the device connects to the port offered
        try:
            await receiver.connect(plan.remote_host, plan.remote_port, within=self.connect_timeout)
        except MediaConnectError as exc:
            raise self._fail(session, LiveStep.CONNECT, f"could not open the TCP media connection to the device's "
                             f"answered {exc.host}:{exc.port}: {exc.reason}") from exc

    async def _arrives(self, session: LiveSession, future: asyncio.Future[_T], within: float, step: LiveStep) -> bool:
        """Wait up to `within` s for `future`; False on timeout. LiveViewError when media or session end first."""
        receiver = session.receiver
        ended = receiver.tcp_ended if session.transport is not MediaTransport.UDP else None
        waits: set[asyncio.Future[Any]] = {future} if ended is None else {future, ended}
        done, _ = await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if future in done and not future.cancelled():
            return True
        if session.closed.is_set():
            raise self._fail(session, step, f"session ended before streaming: {session.close_reason}")
        if ended is not None and ended in done and not ended.cancelled():
            raise self._fail(session, step, f"{ended.result()} ({receiver.counters.datagrams} packets received)")
        return False

    def _no_rtp_detail(self, session: LiveSession) -> str:
        receiver = session.receiver
        within = f"within {self.no_rtp_timeout:g} s of the ACK"
        tcp = receiver.tcp
        if session.transport is MediaTransport.UDP or tcp is None:
            return f"no RTP reached {receiver.host}:{receiver.port} (UDP) {within}"
        if tcp.connection is None:
            return f"the device did not connect to TCP {receiver.host}:{receiver.port} {within}"
        return f"no RTP on the TCP media connection with {format_peer(tcp.connection.peer)} {within}"

    async def _await_media(self, session: LiveSession) -> None:
        receiver = session.receiver
        assert receiver.first_packet is not None and receiver.payload_detected is not None
        if not await self._arrives(session, receiver.first_packet, self.no_rtp_timeout, LiveStep.NO_RTP):
            raise self._fail(session, LiveStep.NO_RTP, self._no_rtp_detail(session))
        if not await self._arrives(session, receiver.payload_detected, self.payload_timeout, LiveStep.PAYLOAD):
            mismatch = receiver.stats.ssrc_mismatch_message
            if mismatch is not None or (receiver.counters.wrong_ssrc and not receiver.stats.packets):
                detail = mismatch or f"{receiver.counters.wrong_ssrc} packets, none with SSRC {session.ssrc}"
                raise self._fail(session, LiveStep.WRONG_SSRC, detail)
            raise self._fail(session, LiveStep.PAYLOAD, f"payload not recognised within {self.payload_timeout:g} s "
                             f"({receiver.stats.packets} packets)")
        kind = receiver.payload_detected.result()
        session.payload_kind = kind
        if kind is PayloadKind.UNKNOWN:
            scores = receiver.pipeline.payload_scores
            seen = (f"; of {scores.examined} payloads, {scores.mpeg_ps} looked like PS, {scores.mpeg_ts} like TS, "
                    f"{scores.h264} like H.264 RTP, {scores.h265} like H.265 RTP") if scores is not None else ""
            raise self._fail(session, LiveStep.PAYLOAD, f"payload unknown is undecodable: neither MPEG-PS, MPEG-TS "
                             f"nor H.264/H.265 RTP{seen}")

    # --- while streaming -------------------------------------------------------------------------
    async def _watch(self, session: LiveSession) -> None:
        """End the session (BYE) after `media_timeout` s without RTP, or when its TCP connection ends.

        While the session's media is held (a paused playback) the timeout does not run; it restarts when
        the media is resumed.
        """
        receiver = session.receiver
        loop = asyncio.get_running_loop()
        streaming_since = loop.time()
        ended = receiver.tcp_ended if session.transport is not MediaTransport.UDP else None
        while True:
            timeout = self.media_timeout
            last = receiver.last_rtp_at
            since = max(streaming_since if last is None else last, session._resumed_at or 0.0)
            remaining = timeout if session.media_held else since + timeout - loop.time()
            if remaining <= 0:
                reason = f"no RTP for {timeout:g} s"
                break
            if ended is None:
                await asyncio.sleep(remaining)
                continue
            done, _ = await asyncio.wait({ended}, timeout=remaining)
            if ended in done:
                if ended.cancelled():
                    return  # the receiver was closed: the session is ending anyway
                reason = ended.result()
                break
        logger.warning("%s %s (device %s): %s; ending the session", session.noun, session.channel_id,
                       session.device_id, reason)
        await self.close(session, reason=reason)

    # --- ending ----------------------------------------------------------------------------------
    async def close(self, session: LiveSession, reason: str = "closed by the platform") -> None:
        """BYE (when a dialog exists and the device did not end it), then release SSRC and port."""
        if session.closed.is_set():
            return
        self._finish(session, reason)
        dialog = session.dialog
        if dialog is not None:
            try:
                response = await self._endpoint.send_request(dialog.create_bye(), session.peer, timeout=BYE_TIMEOUT)
                if not 200 <= response.status < 300:
                    logger.info("%s %s: BYE answered %d", session.noun, session.channel_id, response.status)
            except SipError as exc:
                logger.warning("%s %s (device %s): BYE failed: %s", session.noun, session.channel_id,
                               session.device_id, exc)

    def _finish(self, session: LiveSession, reason: str) -> None:
        session.close_reason = reason
        session.closed.set()
        watchdog = session._watchdog
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        session.receiver.close()
        self.ssrcs.release(session.ssrc)
        for call_id, known in list(self._by_call_id.items()):
            if known is session:
                del self._by_call_id[call_id]
        logger.info("%s %s (device %s): closed (%s); %d frames", session.noun, session.channel_id, session.device_id,
                    reason, session.receiver.counters.frames)

    async def send_info(self, session: LiveSession, body: bytes, content_type: str, *,
                        timeout: float = INFO_TIMEOUT) -> SipResponse:  # noqa: ASYNC109 - a SIP transaction timeout
        """Send INFO in the session's dialog (playback control) and return the device's final answer.

        Raises DialogError when the session has no dialog (not established, or ended), SipError when the
        request cannot be sent, TransactionTimeout when the device does not answer within `timeout`.
        """
        dialog = session.dialog
        if dialog is None or session.closed.is_set():
            raise DialogError(f"{session.noun} of {session.channel_id} has no open dialog")
        return await self._endpoint.send_request(dialog.create_info(body, content_type), session.peer,
                                                 timeout=timeout)

    async def close_all(self) -> None:
        for session in self.sessions:
            with contextlib.suppress(SipError):
                await self.close(session, reason="platform stopping")

    # --- requests from devices in our dialogs ----------------------------------------------------
    async def handle(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        session = self._by_call_id.get(request.call_id)
        if request.method == "ACK":
            return  # we are the UAC of live dialogs: an ACK here is stray
        if session is None or session.dialog is None or not session.dialog.matches(request):
            await incoming.respond(481)
            return
        if request.method == "BYE":
            await incoming.respond(200)
            logger.info("%s %s (device %s): device sent BYE", session.noun, session.channel_id, session.device_id)
            self._finish(session, "device sent BYE")
            return
        await incoming.respond(501, f"{request.method} not implemented in {session.noun}")


def _log_watch_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("media watchdog failed", exc_info=task.exception())
