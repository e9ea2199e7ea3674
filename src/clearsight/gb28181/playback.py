"""Playback and download of a channel's recordings on its device (GB/T 28181-2016 §9.8), and their control.

`PlaybackManager.open` INVITEs with ``s=Playback``, ``u=<channel>:0`` and ``t=<start> <end>`` (Unix seconds);
`open_download` with ``s=Download`` and ``a=downloadspeed:N``. Both are `LiveSessionManager` sessions of
another kind: the same steps (invite, connect, no-rtp, wrong-ssrc, payload), failures named the same way, an
SSRC from the history pool (first digit 1).

Control goes in the dialog as MANSRTSP over INFO (`clearsight.gb28181.mansrtsp`): `pause` (PAUSE; the media
timeout is held meanwhile), `resume` (PLAY), `seek` (PLAY with ``Range: npt=<s>-``, seconds into the range)
and `set_speed` (PLAY with ``Scale``); as in RTSP, every PLAY leaves the stream playing. Requests of one
session are sent one at a time, each with the next CSeq; a refusal or no answer raises
:class:`PlaybackControlError`.

The device's MediaStatus Notify with NotifyType 121 (`manscdp_media_status`) says the range has been sent:
the platform lets the last packets arrive (until ``end_quiet`` s without RTP, at most ``end_drain`` s),
hands on what the receiver still holds (the demuxer keeps a frame until the next begins), and ends the
dialog with BYE, ``close_reason`` `FILE_ENDED`. The notify is matched to its session by the dialog it came
in; one sent outside the dialog is matched by device and channel (of several, the one nearest its end).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clearsight.gb28181.live import LiveSession, LiveSessionManager
from clearsight.gb28181.live_source import LiveSessionSource
from clearsight.gb28181.manscdp import CmdType, ManscdpError, RootKind, parse_manscdp
from clearsight.gb28181.manscdp_media_status import parse_media_status
from clearsight.gb28181.mansrtsp import (
    CONTENT_TYPE,
    MAX_SCALE,
    MansrtspError,
    build_pause,
    build_play,
    is_mansrtsp,
    parse_response,
)
from clearsight.gb28181.sdp import MediaTransport
from clearsight.gb28181.ssrc import StreamKind
from clearsight.media.rtp_receiver import RtpReceiver
from clearsight.sip.endpoint import IncomingRequest, TransactionTimeout
from clearsight.sip.errors import SipError, SipParseError

logger = logging.getLogger(__name__)

DEFAULT_DOWNLOAD_SPEED = 4  # a=downloadspeed the platform asks for unless told otherwise (devices offer 1-8)
MAX_DOWNLOAD_SPEED = 32
CONTROL_TIMEOUT = 5.0  # seconds a device has to answer a control INFO
END_QUIET = 0.3  # seconds without RTP after MediaStatus 121 before the stream counts as drained
END_DRAIN = 2.0  # at most this many seconds of waiting for the last packets after MediaStatus 121
FILE_ENDED = "the device finished sending the recording (MediaStatus 121)"
SESSION_ID_BYTES = 12  # random bytes of a session ID (16 URL-safe characters): unguessable
MEDIA_STATUS_SCAN = 1024  # bytes of a MESSAGE body searched for a MediaStatus CmdType
_MEDIA_STATUS = re.compile(rb"<\s*CmdType\s*>\s*MediaStatus\s*<", re.IGNORECASE)


class PlaybackAction(StrEnum):
    PAUSE = "pause"
    PLAY = "play"
    SEEK = "seek"
    SPEED = "speed"


class PlaybackControlError(Exception):
    """A control request was refused, unanswered, or made of an ended session; `detail` says which."""

    def __init__(self, session_id: str, action: PlaybackAction, detail: str) -> None:
        super().__init__(f"playback {session_id}: {action} failed: {detail}")
        self.session_id = session_id
        self.action = action
        self.detail = detail


@dataclass(slots=True)
class PlaybackSession:
    """One playback (or download) of `start`..`end` (aware UTC). `media` is the stream; `id` names it outside.

    `position()` estimates seconds into the range from what the device was told and the time since.
    """

    id: str
    media: LiveSession
    start: datetime
    end: datetime
    speed: float = 1.0
    paused: bool = False
    file_ended: bool = False
    _offset: float = 0.0  # position at _offset_at (loop time)
    _offset_at: float = 0.0
    _cseq: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def kind(self) -> StreamKind:
        return self.media.kind

    @property
    def device_id(self) -> str:
        return self.media.device_id

    @property
    def channel_id(self) -> str:
        return self.media.channel_id

    @property
    def closed(self) -> asyncio.Event:
        return self.media.closed

    @property
    def close_reason(self) -> str | None:
        return self.media.close_reason

    @property
    def duration(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def pace(self) -> float:
        """Seconds of the range sent per second: the scale, or the download speed."""
        return float(self.media.download_speed or 1) if self.kind is StreamKind.DOWNLOAD else self.speed

    def position(self, now: float | None = None) -> float:
        """Seconds into the range the device should be at (an estimate: devices do not report it)."""
        if self.paused or self.closed.is_set():
            return self._offset
        now = asyncio.get_running_loop().time() if now is None else now
        return min(self.duration, self._offset + (now - self._offset_at) * self.pace)

    def _rebase(self, position: float | None = None) -> None:
        now = asyncio.get_running_loop().time()
        self._offset = self.position(now) if position is None else position
        self._offset_at = now

    def _next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq


class PlaybackSource(LiveSessionSource):
    """A playback session as a stream hub `MediaSource`."""

    def __init__(self, playback: PlaybackSession) -> None:
        super().__init__(playback.media, transport=playback.media.transport.value)
        self.playback = playback


def unix_range(start: datetime, end: datetime) -> tuple[int, int]:
    """``t=`` seconds covering `start`..`end` (aware; ValueError when naive or empty)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("playback times must be aware datetimes")
    if end <= start:
        raise ValueError(f"playback range {start.isoformat()}..{end.isoformat()} is empty")
    return math.floor(start.timestamp()), math.ceil(end.timestamp())


def check_speed(speed: float) -> float:
    if not math.isfinite(speed) or not 0 < speed <= MAX_SCALE:
        raise ValueError(f"speed {speed} outside (0, {MAX_SCALE:g}]")
    return float(speed)


def finish_stream(receiver: RtpReceiver) -> None:
    """Hand on what `receiver` still holds at the end of a stream: held packets, the frame being assembled.

    The payload decoders differ in how they end a stream: a depacketizer has `flush()`, a demuxer wrapper
    has a `demuxer` with `flush()`; whichever is there is called. (This belongs in `RtpStreamPipeline`.)
    """
    pipeline = receiver.pipeline
    pipeline.poll(math.inf)  # release everything the reorder buffer still waits on
    decoder = pipeline.decoder
    if decoder is None:
        return
    flush = getattr(decoder, "flush", None) or getattr(getattr(decoder, "demuxer", None), "flush", None)
    if callable(flush):
        flush()
    while (frame := decoder.next_frame()) is not None:
        pipeline.counters.frames += 1
        pipeline.on_frame(frame)


class PlaybackManager:
    """Opens, controls and ends playback and download sessions; answers the devices' MediaStatus."""

    def __init__(self, live: LiveSessionManager, *, is_online: Callable[[str], bool],
                 control_timeout: float = CONTROL_TIMEOUT, end_quiet: float = END_QUIET,
                 end_drain: float = END_DRAIN) -> None:
        self._live = live
        self._is_online = is_online
        self.control_timeout = control_timeout
        self.end_quiet = end_quiet
        self.end_drain = end_drain
        self._by_id: dict[str, PlaybackSession] = {}
        self._by_call_id: dict[str, PlaybackSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sessions(self) -> list[PlaybackSession]:
        return list(self._by_id.values())

    def get(self, session_id: str) -> PlaybackSession | None:
        return self._by_id.get(session_id)

    # --- opening ---------------------------------------------------------------------------------
    async def open(self, device_id: str, channel_id: str, start: datetime, end: datetime, *, speed: float = 1.0,
                   transport: MediaTransport | None = None) -> PlaybackSession:
        """Play back `start`..`end` of the channel's recordings; raises LiveViewError naming the failed step
        (DeviceOffline when the device is not online).

        A `speed` other than 1 is asked for once the stream flows; a device refusing it leaves speed 1
        (logged), the stream still plays.
        """
        check_speed(speed)
        media = await self._live.open(device_id, channel_id, transport=transport, kind=StreamKind.PLAYBACK,
                                      time_range=unix_range(start, end))
        session = self._register(media, start, end)
        if speed != 1.0:
            try:
                await self.set_speed(session, speed)
            except PlaybackControlError as exc:
                logger.warning("playback %s of %s (device %s): speed %g refused, playing at 1: %s", session.id,
                               channel_id, device_id, speed, exc.detail)
        return session

    async def open_download(self, device_id: str, channel_id: str, start: datetime, end: datetime, *,
                            download_speed: int = DEFAULT_DOWNLOAD_SPEED,
                            transport: MediaTransport | None = None) -> PlaybackSession:
        """Download `start`..`end`: the device sends it `download_speed` times faster than real time."""
        if not 1 <= download_speed <= MAX_DOWNLOAD_SPEED:
            raise ValueError(f"download speed {download_speed} outside 1..{MAX_DOWNLOAD_SPEED}")
        media = await self._live.open(device_id, channel_id, transport=transport, kind=StreamKind.DOWNLOAD,
                                      time_range=unix_range(start, end), download_speed=download_speed)
        return self._register(media, start, end)

    def _register(self, media: LiveSession, start: datetime, end: datetime) -> PlaybackSession:
        session = PlaybackSession(secrets.token_urlsafe(SESSION_ID_BYTES), media, start, end)
        session._rebase(0.0)
        self._by_id[session.id] = session
        if media.dialog is not None:
            self._by_call_id[media.dialog.call_id] = session
        self._spawn(self._forget_when_closed(session))
        logger.info("%s %s of %s (device %s): %s..%s", media.noun, session.id, media.channel_id, media.device_id,
                    start.isoformat(), end.isoformat())
        return session

    async def _forget_when_closed(self, session: PlaybackSession) -> None:
        await session.closed.wait()
        self._by_id.pop(session.id, None)
        for call_id, known in list(self._by_call_id.items()):
            if known is session:
                del self._by_call_id[call_id]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("playback task failed", exc_info=task.exception())

    # --- control ---------------------------------------------------------------------------------
    async def pause(self, session: PlaybackSession) -> None:
        async with session._lock:
            session.media.hold_media()  # RTP stops as soon as the device reads the PAUSE
            try:
                await self._send(session, PlaybackAction.PAUSE, build_pause(session._next_cseq()))
            except PlaybackControlError:
                if not session.paused:
                    session.media.resume_media()
                raise
            session._rebase()
            session.paused = True

    async def resume(self, session: PlaybackSession) -> None:
        async with session._lock:
            await self._send(session, PlaybackAction.PLAY, build_play(session._next_cseq()))
            self._playing(session)

    async def seek(self, session: PlaybackSession, position: float) -> None:
        """Continue from `position` seconds into the range (0 <= position <= duration)."""
        if not math.isfinite(position) or not 0 <= position <= session.duration:
            raise ValueError(f"position {position} outside 0..{session.duration:g} s")
        async with session._lock:
            await self._send(session, PlaybackAction.SEEK, build_play(session._next_cseq(), position=position))
            self._playing(session, position)

    async def set_speed(self, session: PlaybackSession, speed: float) -> None:
        check_speed(speed)
        async with session._lock:
            await self._send(session, PlaybackAction.SPEED, build_play(session._next_cseq(), scale=speed))
            self._playing(session)
            session.speed = speed

    async def control(self, session: PlaybackSession, action: PlaybackAction, *, position: float | None = None,
                      speed: float | None = None) -> None:
        """One of the four actions by name (what the API asks for); ValueError when its argument is missing."""
        if action is PlaybackAction.PAUSE:
            await self.pause(session)
        elif action is PlaybackAction.PLAY:
            await self.resume(session)
        elif action is PlaybackAction.SEEK:
            if position is None:
                raise ValueError("seek needs a position")
            await self.seek(session, position)
        else:
            if speed is None:
                raise ValueError("speed needs a speed")
            await self.set_speed(session, speed)

    @staticmethod
    def _playing(session: PlaybackSession, position: float | None = None) -> None:
        session._rebase(position)
        session.paused = False
        session.media.resume_media()

    async def _send(self, session: PlaybackSession, action: PlaybackAction, body: bytes) -> None:
        if session.kind is not StreamKind.PLAYBACK:
            raise PlaybackControlError(session.id, action, f"a {session.kind.value} session cannot be controlled")
        if session.closed.is_set():
            raise PlaybackControlError(session.id, action, f"the session has ended: {session.close_reason}")
        try:
            response = await self._live.send_info(session.media, body, CONTENT_TYPE, timeout=self.control_timeout)
        except TransactionTimeout as exc:
            raise PlaybackControlError(session.id, action,
                                       f"no answer to INFO within {self.control_timeout:g} s") from exc
        except SipError as exc:
            raise PlaybackControlError(session.id, action, f"INFO could not be sent: {exc}") from exc
        if not 200 <= response.status < 300:
            raise PlaybackControlError(session.id, action, f"device answered {response.status} {response.reason}")
        if response.body.strip() and is_mansrtsp(response.header("Content-Type")):
            try:
                answer = parse_response(response.body)
            except MansrtspError as exc:
                logger.info("playback %s: unreadable MANSRTSP answer to %s: %s", session.id, action, exc.reason)
            else:
                if not 200 <= answer.status < 300:
                    raise PlaybackControlError(session.id, action, f"device answered MANSRTSP {answer.status} "
                                                                   f"{answer.reason}")
        logger.info("playback %s of %s (device %s): %s done", session.id, session.channel_id, session.device_id,
                    action)

    async def close(self, session: PlaybackSession, reason: str = "closed by the platform") -> None:
        await self._live.close(session.media, reason=reason)

    # --- MediaStatus from devices ----------------------------------------------------------------
    def may_handle(self, incoming: IncomingRequest) -> bool:
        """A MESSAGE in one of our dialogs, or (while sessions exist) one whose body names MediaStatus."""
        request = incoming.request
        if request.method != "MESSAGE" or not self._by_id:
            return False
        return request.call_id in self._by_call_id or _MEDIA_STATUS.search(request.body[:MEDIA_STATUS_SCAN]) is not None

    async def handle_message(self, incoming: IncomingRequest) -> bool:
        """Answer a MediaStatus Notify and act on it; False (nothing answered) for any other MESSAGE."""
        request = incoming.request
        try:
            message = parse_manscdp(request.body)
            device_id = request.from_addr.uri.user or ""
        except (ManscdpError, SipParseError):
            return False
        if message.root_kind is not RootKind.NOTIFY or message.cmd is not CmdType.MEDIA_STATUS:
            return False
        in_dialog = self._by_call_id.get(request.call_id)
        if in_dialog is not None:
            device_id = in_dialog.device_id  # in the dialog, From is the channel the INVITE went to
        elif not self._is_online(device_id):
            await incoming.respond(403, "Not registered")
            return True
        status = parse_media_status(message)
        await incoming.respond(200)
        if not status.file_ended:
            logger.info("device %s: MediaStatus NotifyType %s for %s ignored", device_id, status.notify_type,
                        status.device_id)
            return True
        sessions = self._notified(incoming, device_id, status.device_id)
        if not sessions:
            logger.warning("device %s: MediaStatus 121 for %s matches no playback", device_id, status.device_id)
        for session in sessions:
            self.file_ended(session)
        return True

    def _notified(self, incoming: IncomingRequest, device_id: str, notified_id: str) -> list[PlaybackSession]:
        request = incoming.request
        in_dialog = self._by_call_id.get(request.call_id)
        if in_dialog is not None:
            dialog = in_dialog.media.dialog
            if dialog is not None and not dialog.matches(request):
                logger.info("playback %s: MediaStatus with its Call-ID but other tags; taken as its own",
                            in_dialog.id)
            return [in_dialog]
        open_sessions = [s for s in self._by_id.values() if s.device_id == device_id and not s.file_ended]
        candidates = [s for s in open_sessions if s.channel_id == notified_id]
        if not candidates and notified_id == device_id:
            candidates = open_sessions  # an NVR naming itself, not the channel
        if len(candidates) <= 1:
            return candidates
        now = asyncio.get_running_loop().time()
        return [min(candidates, key=lambda s: s.duration - s.position(now))]

    def file_ended(self, session: PlaybackSession) -> None:
        """The device sent the whole range: drain, flush and end the session (BYE)."""
        if session.file_ended or session.closed.is_set():
            return
        session.file_ended = True
        logger.info("%s %s of %s (device %s): the device sent the whole range", session.media.noun, session.id,
                    session.channel_id, session.device_id)
        self._spawn(self._finish(session))

    async def _finish(self, session: PlaybackSession) -> None:
        receiver = session.media.receiver
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.end_drain
        while not session.closed.is_set():
            now = loop.time()
            last = receiver.last_rtp_at
            quiet_from = (last or now) + self.end_quiet
            if last is None or quiet_from <= now or now >= give_up:
                break
            await asyncio.sleep(min(quiet_from, give_up) - now)
        if session.closed.is_set():
            return
        finish_stream(receiver)
        await self._live.close(session.media, reason=FILE_ENDED)

    async def close_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
