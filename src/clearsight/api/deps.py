"""The services one API instance works with, handed to routers as a dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from clearsight.access.service import AccessControl
from clearsight.api.ports import (
    ApiTokensPort,
    DeviceAdmissionPort,
    DeviceControlPort,
    ExportsPort,
    LoginGuard,
    RecordingPort,
    RegistryPort,
    UsersPort,
)
from clearsight.api.sessions import SessionGuard
from clearsight.api.stream_tokens import StreamTokenService
from clearsight.api.tokens import TokenService
from clearsight.audit import AuditReader, AuditRecorder
from clearsight.channel_streams import ChannelStreams
from clearsight.media.hls import HlsWindows
from clearsight.media.hub import StreamHub
from clearsight.privacy.store import PrivacyMaskStore


@dataclass(frozen=True, slots=True)
class ApiServices:
    tokens: TokenService
    registry: RegistryPort
    users: UsersPort
    control: DeviceControlPort
    login_guard: LoginGuard
    audit: AuditRecorder  # every access is recorded here (docs/audit.md)
    audit_reader: AuditReader
    metrics_registry: CollectorRegistry
    db_ping: Callable[[], Awaitable[bool]]
    hub: StreamHub
    streams: ChannelStreams
    hls: HlsWindows
    stream_tokens: StreamTokenService
    sessions: SessionGuard  # every access token's session; revoking one refuses its tokens (docs/security.md)
    exports: ExportsPort | None = None  # None: the export endpoints answer 503
    recordings: RecordingPort | None = None  # None: the recording endpoints answer 503
    access: AccessControl | None = None  # None: roles only, no grants (tests of other concerns); docs/access.md
    api_tokens: ApiTokensPort | None = None  # None: API tokens are refused and their endpoints answer 503
    privacy_masks: PrivacyMaskStore | None = None  # None: no masks, their endpoints answer 503; docs/privacy.md
    admission: DeviceAdmissionPort | None = None  # None: the pending-device endpoints answer 503


async def get_services(request: Request) -> ApiServices:
    # async so FastAPI calls it on the event loop instead of a worker thread
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, ApiServices):
        raise RuntimeError("app.state.services is not set; build the app with create_app()")
    return services


Services = Annotated[ApiServices, Depends(get_services)]
