"""The GB/T 28181 platform: one SIP endpoint, registration, keepalive, catalog, device commands.

It keeps online state in memory (`PresenceTracker`) and writes it to the registry in batches: online
and offline changes within `URGENT_FLUSH_INTERVAL`, keepalive timestamps every `KEEPALIVE_FLUSH_INTERVAL`
in slices of `FLUSH_SLICE` spread `KEEPALIVE_SLICE_PAUSE` apart (each slice takes the urgent changes first,
so they are not held back by a long keepalive flush).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from clearsight.gb28181.admission import DeviceAdmission, UnknownDevicePolicy
from clearsight.gb28181.catalog_records import split_catalog, to_events
from clearsight.gb28181.commander import CatalogResult, DeviceCommander
from clearsight.gb28181.errors import DeviceCommandError
from clearsight.gb28181.live import MEDIA_TIMEOUT, LiveSession, LiveSessionManager
from clearsight.gb28181.live_source import LiveSessionSource
from clearsight.gb28181.manscdp import CatalogItem, DeviceStatus, parse_device_info, parse_device_status
from clearsight.gb28181.message_router import MessageRouter
from clearsight.gb28181.playback import (
    DEFAULT_DOWNLOAD_SPEED,
    PlaybackAction,
    PlaybackManager,
    PlaybackSession,
    PlaybackSource,
)
from clearsight.gb28181.presence import PresenceChange, PresenceTracker, utc_now
from clearsight.gb28181.record_info import RecordInfoResult
from clearsight.gb28181.register_limiter import LimitOutcome, RegisterLimiter, RegisterLimits
from clearsight.gb28181.registrar import Registrar
from clearsight.gb28181.requests import RequestFactory
from clearsight.gb28181.sdp import MediaTransport
from clearsight.gb28181.ssrc import SsrcAllocator
from clearsight.registry.admission_store import AdmissionStore
from clearsight.registry.records import PresenceUpdate, RegistrationRecord
from clearsight.registry.store import RegistryStore
from clearsight.sip.digest import DigestAuthenticator
from clearsight.sip.endpoint import IncomingRequest, SipEndpoint, SipObserver
from clearsight.sip.gate import DROP, Refusal
from clearsight.sip.message import SipRequest
from clearsight.sip.transport import Peer, TcpLimits

logger = logging.getLogger(__name__)

USER_AGENT = "Clearsight/0.1"
# Online/offline changes reach the database within this many seconds.
URGENT_FLUSH_INTERVAL = 0.5
# Keepalive timestamps are written in one batch this often (a keepalive alone costs no write).
KEEPALIVE_FLUSH_INTERVAL = 30.0
# Presence changes written per slice of a flush; between slices the event loop serves signalling.
FLUSH_SLICE = 250
# Pause between slices of a keepalive-time flush, so that the database work does not come in one burst.
KEEPALIVE_SLICE_PAUSE = 0.02
# How often registrations and keepalives are checked for expiry.
SWEEP_INTERVAL = 1.0
# Devices whose DeviceInfo and catalog are fetched at once after they come online; a site restart
# brings thousands of devices back together and must not flood them or the database.
SYNC_CONCURRENCY = 32
# Catalog subscriptions are renewed when this fraction of their lifetime has passed.
SUBSCRIPTION_RENEWAL_FRACTION = 0.8
MIN_SUBSCRIPTION_RENEWAL = 10.0


class Gb28181Service:
    def __init__(self, *, platform_id: str, domain: str, sip_host: str, sip_port: int,
                 registry: RegistryStore, default_password: str, device_passwords: dict[str, str],
                 secret: bytes, nonce_ttl: float, keepalive_interval: float, keepalive_misses: int,
                 device_tz: tzinfo, register_expires: int = 3600, catalog_subscription_expires: int = 3600,
                 observer: SipObserver | None = None, media_transport: MediaTransport = MediaTransport.UDP,
                 media_timeout: float = MEDIA_TIMEOUT,
                 unknown_devices: UnknownDevicePolicy = UnknownDevicePolicy.ACCEPT,
                 register_limits: RegisterLimits | None = None, tcp_limits: TcpLimits | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.platform_id = platform_id
        self.registry = registry
        self.device_tz = device_tz  # devices' local time zone: RecordInfo times are written and read in it
        self.presence = PresenceTracker(keepalive_interval, keepalive_misses)
        self._clock = clock
        self._default_password = default_password
        self._device_passwords = device_passwords
        self.register_limiter = RegisterLimiter(register_limits)
        self.admission = DeviceAdmission(AdmissionStore(registry), unknown_devices, clock=clock,
                                         set_password=self.set_device_password)
        self.endpoint = SipEndpoint(sip_host, sip_port, user_agent=USER_AGENT, on_request=self._on_request,
                                    observer=observer, gate=self._gate, tcp_limits=tcp_limits)
        self._factory = RequestFactory(platform_id, domain, sip_host, sip_port,
                                       self.endpoint.new_call_id, self.endpoint.new_tag)
        self.commander = DeviceCommander(self.endpoint, self._factory, self.presence)
        self.live = LiveSessionManager(self.endpoint, self._factory, self.commander, media_host=sip_host,
                                       ssrcs=SsrcAllocator(domain), default_transport=media_transport,
                                       media_timeout=media_timeout)
        self.playback = PlaybackManager(self.live, is_online=self.presence.is_online)
        self.registrar = Registrar(
            authenticator=DigestAuthenticator(realm=domain, secret=secret, nonce_ttl=nonce_ttl),
            passwords=self.password_for, presence=self.presence, device_tz=device_tz, clock=clock,
            max_expires=register_expires,
            on_online=self._device_came_online, on_offline=self._device_went_offline, admission=self.admission,
            on_auth_failed=self._auth_failed)
        self.router = MessageRouter(presence=self.presence, commander=self.commander, clock=clock,
                                    on_catalog_events=self._catalog_events)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._known_registrations: dict[str, tuple[Peer, datetime]] = {}
        self._flush_lock = asyncio.Lock()
        self._urgent = asyncio.Event()
        # Device synchronisation jobs (full sync after coming online, or subscription renewal), worked by
        # SYNC_CONCURRENCY tasks: a queue, not a task per device, so 100,000 arrivals cost little memory.
        self._sync_jobs: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._sync_queued: set[tuple[str, bool]] = set()
        self.syncs_pending = 0  # jobs queued or running
        self._subscription_expires = catalog_subscription_expires
        self._subscription_renewals: dict[str, float] = {}  # device → loop time to renew at
        self._running = False

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.admission.load()
        await self.endpoint.start()
        self._running = True
        self._spawn(self._flush_loop())
        self._spawn(self._sweep_loop())
        for _ in range(SYNC_CONCURRENCY):
            self._spawn(self._sync_worker())
        logger.info("GB28181 platform %s listening on %s:%s (UDP and TCP)", self.platform_id,
                    self.endpoint.local_host, self.endpoint.udp_port)

    async def close(self) -> None:
        self._running = False
        await self.live.close_all()
        await self.playback.close_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.close()
        await self.flush(include_keepalives=True)

    def sip_healthy(self) -> bool:
        return self._running

    def password_for(self, device_id: str) -> str:
        return self._device_passwords.get(device_id, self._default_password)

    def set_device_password(self, device_id: str, password: str | None) -> None:
        if password is None:
            self._device_passwords.pop(device_id, None)
        else:
            self._device_passwords[device_id] = password

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    # --- requests from devices -------------------------------------------------------------------
    def _gate(self, request: SipRequest, peer: Peer) -> Refusal | None:
        """REGISTER floods and blocked sources are turned away before they cost a transaction."""
        if request.method != "REGISTER":
            return None
        verdict = self.register_limiter.check(peer.host, asyncio.get_running_loop().time())
        if verdict.outcome is LimitOutcome.ALLOW:
            return None
        if verdict.outcome is LimitOutcome.DROP:
            return DROP
        return Refusal(503, "Service Unavailable", (("Retry-After", str(verdict.retry_after)),))

    def _auth_failed(self, peer: Peer) -> None:
        self.register_limiter.auth_failed(peer.host, asyncio.get_running_loop().time())

    async def _on_request(self, incoming: IncomingRequest) -> None:
        method = incoming.request.method
        if method == "REGISTER":
            await self.registrar.handle(incoming)
        elif method == "MESSAGE" and self.playback.may_handle(incoming):
            if not await self.playback.handle_message(incoming):  # not a MediaStatus: the router's
                await self.router.handle(incoming)
        elif method in ("MESSAGE", "NOTIFY"):
            await self.router.handle(incoming)
        elif method in ("BYE", "ACK") and self.live.owns(incoming):
            await self.live.handle(incoming)
        elif method in ("OPTIONS",):
            await incoming.respond(200)
        elif method in ("ACK",):
            return
        elif method in ("BYE", "CANCEL", "INFO"):
            await incoming.respond(481)
        else:
            await incoming.respond(501, f"{method} not implemented")

    async def _device_came_online(self, device_id: str) -> None:
        self._urgent.set()
        self._enqueue_sync(device_id, full=True)

    def _enqueue_sync(self, device_id: str, *, full: bool) -> None:
        job = (device_id, full)
        if job in self._sync_queued:
            return
        self._sync_queued.add(job)
        self.syncs_pending += 1
        self._sync_jobs.put_nowait(job)

    async def _sync_worker(self) -> None:
        while True:
            job = await self._sync_jobs.get()
            self._sync_queued.discard(job)
            device_id, full = job
            try:
                if not self.presence.is_online(device_id):
                    continue
                if full:
                    await self._sync_device(device_id)
                else:
                    await self._subscribe(device_id)
            except Exception:
                logger.exception("device %s: synchronisation failed", device_id)
            finally:
                self.syncs_pending -= 1

    async def _device_went_offline(self, device_id: str) -> None:
        self._urgent.set()

    async def _sync_device(self, device_id: str) -> None:
        """After a device comes online: its row exists, then DeviceInfo, the whole catalog, SUBSCRIBE."""
        if device_id not in self._known_registrations:
            await self.flush(include_keepalives=False)  # the device's row must exist first
        await self._query_device(device_id)

    async def _query_device(self, device_id: str) -> None:
        try:
            info = parse_device_info(await self.commander.query(device_id, "DeviceInfo"))
            await self.registry.update_device_info(device_id, name=info.device_name,
                                                   manufacturer=info.manufacturer, model=info.model,
                                                   firmware=info.firmware)
        except DeviceCommandError as exc:
            logger.warning("device %s: DeviceInfo failed: %s", device_id, exc.detail)
        try:
            await self.refresh_catalog_now(device_id)
        except DeviceCommandError as exc:
            logger.warning("device %s: catalog query failed: %s", device_id, exc.detail)
        await self._subscribe(device_id)

    async def _subscribe(self, device_id: str) -> None:
        if self._subscription_expires <= 0:
            return
        try:
            granted = await self.commander.subscribe_catalog(device_id, self._subscription_expires)
        except DeviceCommandError as exc:
            # Devices without SUBSCRIBE support still push changes by MESSAGE; nothing is lost.
            logger.info("device %s: catalog subscription not accepted: %s", device_id, exc.detail)
            self._subscription_renewals.pop(device_id, None)
            return
        renew_in = max(MIN_SUBSCRIPTION_RENEWAL, granted * SUBSCRIPTION_RENEWAL_FRACTION)
        self._subscription_renewals[device_id] = asyncio.get_running_loop().time() + renew_in
        logger.debug("device %s: catalog subscription for %d s", device_id, granted)

    def _renew_due_subscriptions(self) -> None:
        now = asyncio.get_running_loop().time()
        due = [d for d, at in self._subscription_renewals.items() if at <= now]
        for device_id in due:
            del self._subscription_renewals[device_id]
            if self.presence.is_online(device_id):
                self._enqueue_sync(device_id, full=False)

    # --- catalog ---------------------------------------------------------------------------------
    async def refresh_catalog_now(self, device_id: str, sn: int | None = None) -> CatalogResult:
        result = await self.commander.query_catalog(device_id, sn=sn)
        await self.store_catalog(result)
        return result

    async def store_catalog(self, result: CatalogResult) -> None:
        channels, groups = split_catalog(result.items)
        if result.complete:
            diff = await self.registry.replace_catalog(result.device_id, channels, groups)
        else:
            # Without the whole catalog we must not delete what did not arrive: add and update only.
            events = to_events([_with_event(i, "ADD") for i in result.items])
            diff = await self.registry.apply_catalog_events(result.device_id, events)
        logger.info("device %s catalog stored (%s, %d items): +%d ~%d -%d", result.device_id,
                    "complete" if result.complete else "INCOMPLETE", len(result.items), len(diff.added),
                    len(diff.updated), len(diff.removed))

    async def _catalog_events(self, device_id: str, items: list[CatalogItem]) -> None:
        diff = await self.registry.apply_catalog_events(device_id, to_events(items))
        logger.info("device %s catalog events: +%d ~%d -%d", device_id, len(diff.added), len(diff.updated),
                    len(diff.removed))

    # --- DeviceControlPort (what the API calls) -------------------------------------------------
    async def send_ptz(self, device_id: str, channel_gb_id: str, ptz_hex: str) -> None:
        await self.commander.send_ptz(device_id, channel_gb_id, ptz_hex)

    def live_presence(self, device_id: str) -> tuple[bool, datetime | None] | None:
        presence = self.presence.get(device_id)
        return None if presence is None else (presence.online, presence.last_keepalive)

    async def query_status(self, device_id: str) -> DeviceStatus:
        return parse_device_status(await self.commander.query(device_id, "DeviceStatus"))

    async def refresh_catalog(self, device_id: str) -> int:
        self.commander.peer_of(device_id)  # raises DeviceOffline before we promise anything
        sn = self.commander.next_sn()
        self._spawn(self.refresh_catalog_now(device_id, sn))
        return sn

    # --- live view -------------------------------------------------------------------------------
    async def open_live(self, device_id: str, channel_id: str, transport: MediaTransport | None = None
                        ) -> LiveSession:
        """Start live view of a channel (`transport` None: the default); raises LiveViewError naming the step, or
        DeviceOffline."""
        return await self.live.open(device_id, channel_id, transport=transport)

    async def open_live_source(self, device_id: str, channel_gb_id: str) -> LiveSessionSource:
        """A live session as the stream hub's source (`DeviceControlPort`)."""
        session = await self.live.open(device_id, channel_gb_id)
        return LiveSessionSource(session, transport=session.transport.value)

    # --- playback and download of device recordings (DevicePlaybackPort) --------------------------
    async def query_recordings(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime
                               ) -> RecordInfoResult:
        """The channel's recordings on its device between two aware instants (RecordInfo, chunks assembled)."""
        return await self.commander.query_record_info(device_id, channel_gb_id, start, end, self.device_tz)

    async def open_playback(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime, *,
                            speed: float = 1.0, transport: MediaTransport | None = None) -> PlaybackSession:
        """Play back a range of the channel's recordings; raises LiveViewError naming the failed step."""
        return await self.playback.open(device_id, channel_gb_id, start, end, speed=speed, transport=transport)

    async def open_download(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime, *,
                            download_speed: int = DEFAULT_DOWNLOAD_SPEED, transport: MediaTransport | None = None
                            ) -> PlaybackSession:
        """Download a range of the channel's recordings at `download_speed` times real time."""
        return await self.playback.open_download(device_id, channel_gb_id, start, end,
                                                 download_speed=download_speed, transport=transport)

    async def open_playback_source(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime,
                                   speed: float = 1.0) -> PlaybackSource:
        """A playback session as a stream hub source (one per viewer)."""
        return PlaybackSource(await self.open_playback(device_id, channel_gb_id, start, end, speed=speed))

    def playback_session(self, session_id: str) -> PlaybackSession | None:
        return self.playback.get(session_id)

    async def control_playback(self, session_id: str, action: PlaybackAction, *, position: float | None = None,
                               speed: float | None = None) -> PlaybackSession | None:
        """Pause, resume, seek or change speed (MANSRTSP over INFO); None when there is no such session.

        Raises PlaybackControlError when the device refuses or does not answer.
        """
        session = self.playback.get(session_id)
        if session is not None:
            await self.playback.control(session, action, position=position, speed=speed)
        return session

    # --- persistence of presence ---------------------------------------------------------------
    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_keepalive_flush = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), KEEPALIVE_FLUSH_INTERVAL)
            self._urgent.clear()
            await asyncio.sleep(URGENT_FLUSH_INTERVAL)  # gather a batch
            include = loop.time() - last_keepalive_flush >= KEEPALIVE_FLUSH_INTERVAL
            if include:
                last_keepalive_flush = loop.time()
            await self.flush(include_keepalives=include)

    async def flush(self, *, include_keepalives: bool) -> None:
        async with self._flush_lock:
            while changes := self.presence.drain(include_keepalives=include_keepalives, limit=FLUSH_SLICE):
                try:
                    await self._persist(changes)
                except Exception:
                    # The database is unavailable: keep the changes and try again on the next flush.
                    logger.exception("could not persist %d presence changes; will retry", len(changes))
                    self.presence.requeue(changes)
                    self._urgent.set()
                    return
                # Let signalling run between slices; keepalive batches are spread out further, as they are
                # large (100,000 devices → 400 slices) and not urgent.
                await asyncio.sleep(KEEPALIVE_SLICE_PAUSE if include_keepalives else 0)

    async def _persist(self, changes: list[PresenceChange]) -> None:
        registrations: list[RegistrationRecord] = []
        for change in changes:
            if change.peer is None or change.expires_at is None or change.registered_at is None:
                continue
            if self._known_registrations.get(change.device_id) != (change.peer, change.expires_at):
                registrations.append(RegistrationRecord(
                    change.device_id, change.peer.transport.lower(), change.peer.host, change.peer.port,
                    change.registered_at, change.expires_at))
        await self.registry.record_registrations(registrations)
        for r in registrations:
            self._known_registrations[r.device_id] = (Peer(r.transport.upper(), r.remote_host,
                                                                 r.remote_port), r.expires_at)
        await self.registry.apply_presence([PresenceUpdate(c.device_id, c.online, c.last_keepalive)
                                            for c in changes])

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            if self.presence.sweep(self._clock()):
                self._urgent.set()
            self.register_limiter.sweep(asyncio.get_running_loop().time())
            self._renew_due_subscriptions()


def _with_event(item: CatalogItem, event: str) -> CatalogItem:
    return replace(item, event=event)
