"""Runs the platform: database, GB28181 signalling and the HTTP API in one asyncio process."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from clearsight.access.api_tokens import ApiTokenStore
from clearsight.access.password_policy import PasswordPolicy
from clearsight.access.service import AccessControl
from clearsight.access.sessions import SessionStore
from clearsight.access.store import AccessStore
from clearsight.access.users import UserStore
from clearsight.api.app import create_app
from clearsight.api.login_guard import LoginThrottle
from clearsight.audit import AuditLog, AuditSearch
from clearsight.audit.anchor import ANCHOR_FILE
from clearsight.channel_streams import ChannelStreams
from clearsight.config import SIGNING_KEY_FILE, Settings, exempt_networks
from clearsight.db import create_engine, session_factory, upgrade_database
from clearsight.export import ExportRunner, ExportStore, storage_roots
from clearsight.gb28181.admission import UnknownDevicePolicy
from clearsight.gb28181.register_limiter import RegisterLimits
from clearsight.gb28181.sdp import MediaTransport
from clearsight.gb28181.service import Gb28181Service
from clearsight.log_redaction import install_url_token_filter
from clearsight.media.hls import HlsWindows
from clearsight.media.hub import StreamHub
from clearsight.metrics import PlatformMetrics
from clearsight.privacy.store import PrivacyMaskStore
from clearsight.recording.policy import RecordingMode
from clearsight.recording.recorder import RecorderSettings
from clearsight.recording.service import RecordingService, RecordingServiceSettings
from clearsight.recording.storage import StoragePool
from clearsight.recording.store import RecordingStore
from clearsight.registry.store import RegistryStore
from clearsight.runtime import freeze_long_lived
from clearsight.signing import load_or_create_signing_key
from clearsight.sip.transport import TcpLimits

logger = logging.getLogger(__name__)

ADMIN_PASSWORD_FILE = "admin-password"


@dataclass(slots=True)
class Platform:
    settings: Settings
    engine: AsyncEngine
    registry: RegistryStore
    users: UserStore
    gb28181: Gb28181Service
    metrics: PlatformMetrics
    hub: StreamHub
    streams: ChannelStreams
    hls: HlsWindows
    admin_password: str | None
    exports: ExportRunner
    recordings: RecordingService
    audit: AuditLog
    audit_search: AuditSearch
    access: AccessControl | None = None  # grants and share requests (docs/access.md); always set by running_platform
    sessions: SessionStore | None = None  # sign-in sessions and API tokens (docs/security.md); likewise
    api_tokens: ApiTokenStore | None = None
    privacy_masks: PrivacyMaskStore | None = None  # docs/privacy.md; always set by running_platform


async def _db_ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        logger.exception("database health check failed")
        return False


def _generated_admin_password(data_dir: Path) -> str:
    """A first administrator password kept in the data directory (mode 0600) so restarts agree."""
    path = data_dir / ADMIN_PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password + "\n", encoding="utf-8")
    return password


def _recording_service(settings: Settings, store: RecordingStore, streams: ChannelStreams,
                       registry: RegistryStore) -> RecordingService:
    recorder = RecorderSettings(segment_seconds=settings.recording_segment_seconds,
                                thumbnail_interval=settings.recording_thumbnail_seconds)
    return RecordingService(store, streams, registry, StoragePool(settings.recording_storage),
                            RecordingServiceSettings(default_mode=RecordingMode(settings.recording_default),
                                                     retention_days=settings.recording_retention_days,
                                                     recorder=recorder))


def _register_limits(settings: Settings) -> RegisterLimits:
    return RegisterLimits(rate=settings.sip_register_rate, burst=settings.sip_register_burst,
                          max_failures=settings.sip_auth_max_failures,
                          failure_window=settings.sip_auth_failure_window,
                          block_seconds=settings.sip_auth_block_seconds,
                          exempt=exempt_networks(settings.sip_limit_exempt))


def _warn_about_sip_exposure(settings: Settings) -> None:
    if settings.unknown_devices == "accept" and settings.device_password == Settings.model_fields[
            "device_password"].default:
        logger.warning("any device knowing the built-in default password may register "
                       "(CLEARSIGHT_UNKNOWN_DEVICES=accept): set CLEARSIGHT_DEVICE_PASSWORD, or hold unknown devices "
                       "for approval (docs/sip-security.md)")
    keepalive_silence = settings.keepalive_interval * settings.keepalive_misses
    if 0 < settings.sip_tcp_idle_timeout <= keepalive_silence:
        logger.warning("CLEARSIGHT_SIP_TCP_IDLE_TIMEOUT (%g s) is not above %d missed keepalives of %d s: devices "
                       "on TCP may be disconnected while still online", settings.sip_tcp_idle_timeout,
                       settings.keepalive_misses, settings.keepalive_interval)


def _tcp_limits(settings: Settings) -> TcpLimits:
    return TcpLimits(idle_timeout=settings.sip_tcp_idle_timeout, max_connections=settings.sip_tcp_max_connections,
                     max_per_source=settings.sip_tcp_max_per_source)


@asynccontextmanager
async def running_platform(settings: Settings) -> AsyncIterator[Platform]:
    """Migrate the database, start signalling; yields the running platform and stops it after."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    registry = RegistryStore(sessions)
    users = UserStore(sessions, policy=PasswordPolicy(settings.password_min_length))
    admin_password = settings.admin_password
    generated: str | None = None
    if admin_password is None:
        generated = admin_password = await asyncio.to_thread(_generated_admin_password, settings.data_dir)
    created = await users.ensure_admin(settings.admin_user, admin_password)
    if created and generated is not None:
        logger.warning("first administrator %r created; password in %s", settings.admin_user,
                       settings.data_dir / ADMIN_PASSWORD_FILE)
    metrics = PlatformMetrics()
    _warn_about_sip_exposure(settings)
    service = Gb28181Service(
        platform_id=settings.platform_id, domain=settings.sip_domain, sip_host=settings.sip_host,
        sip_port=settings.sip_port, registry=registry, default_password=settings.device_password,
        device_passwords=await registry.device_passwords(),
        secret=settings.effective_secret_key().encode(), nonce_ttl=settings.nonce_ttl,
        keepalive_interval=settings.keepalive_interval, keepalive_misses=settings.keepalive_misses,
        device_tz=datetime.now().astimezone().tzinfo or UTC, register_expires=settings.register_expires,
        catalog_subscription_expires=settings.catalog_subscription_expires,
        observer=metrics, media_transport=MediaTransport(settings.media_transport),
        media_timeout=settings.media_timeout, unknown_devices=UnknownDevicePolicy(settings.unknown_devices),
        register_limits=_register_limits(settings), tcp_limits=_tcp_limits(settings))
    metrics.track_sip_guard(service.register_limiter, service.endpoint.transport, service.admission)
    metrics.track_presence(service.presence.online_count, lambda: len(service.presence),
                           lambda: service.syncs_pending)
    hub = StreamHub(grace_period=settings.live_grace_period)
    hls = HlsWindows()
    metrics.track_media(hub)
    signing_key = await asyncio.to_thread(load_or_create_signing_key, settings.data_dir / SIGNING_KEY_FILE)
    privacy_masks = PrivacyMaskStore(sessions)
    exports = ExportRunner(ExportStore(sessions), registry, exports_dir=settings.effective_exports_dir,
                           storage_roots=storage_roots(settings.recording_paths, settings.data_dir),
                           signing_key=signing_key, platform_id=settings.platform_id, masks=privacy_masks)
    audit = AuditLog(sessions, signing_key, anchor=settings.data_dir / ANCHOR_FILE)
    await service.start()
    freeze_long_lived()
    recordings: RecordingService | None = None
    access = AccessControl(AccessStore(sessions), audit)
    try:
        await audit.start()
        await exports.start()
        streams = ChannelStreams(hub, registry, service)
        recordings = _recording_service(settings, RecordingStore(sessions), streams, registry)
        await recordings.start()
        access.start()
        yield Platform(settings, engine, registry, users, service, metrics, hub, streams, hls, generated, exports,
                       recordings, audit, AuditSearch(sessions), access, SessionStore(sessions),
                       ApiTokenStore(sessions), privacy_masks)
    finally:
        if recordings is not None:
            await recordings.stop()  # before the hub: the recorders close their files while the streams run
        await access.close()
        await exports.close()
        await hls.close()
        await hub.close()
        await service.close()
        await audit.close()  # last before the database: what the others record on the way out is kept
        await engine.dispose()


def http_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration: HTTPS only when a certificate is set (HSTS then follows from the scheme)."""
    return uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
                          lifespan="off", ssl_certfile=settings.tls_cert, ssl_keyfile=settings.tls_key)


def base_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert is not None else "http"
    return f"{scheme}://{settings.http_host}:{settings.http_port}"


async def serve(settings: Settings, *, on_ready: Callable[[Platform], Awaitable[None]] | None = None) -> None:
    """Run until SIGINT/SIGTERM."""
    install_url_token_filter()
    async with running_platform(settings) as platform:
        app = create_app(settings=settings, registry=platform.registry, users=platform.users,
                         control=platform.gb28181, metrics_registry=platform.metrics.registry,
                         db_ping=lambda: _db_ping(platform.engine), streams=platform.streams, hls=platform.hls,
                         audit_log=platform.audit, audit_reader=platform.audit_search, login_guard=LoginThrottle(),
                         exports=platform.exports, recordings=platform.recordings, access=platform.access,
                         sessions=platform.sessions, api_tokens=platform.api_tokens,
                         privacy_masks=platform.privacy_masks, admission=platform.gb28181.admission)
        server = uvicorn.Server(http_config(app, settings))
        if on_ready is not None:
            async def announce() -> None:
                while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                    await asyncio.sleep(0.05)
                await on_ready(platform)

            ready_task = asyncio.create_task(announce())
        await server.serve()
        if on_ready is not None:
            ready_task.cancel()
