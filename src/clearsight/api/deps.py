"""The services one API instance works with, handed to routers as a dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from clearsight.access.service import AccessControl
from clearsight.api.ports import (
    DeviceAdmissionPort,
    DeviceControlPort,
    ExportsPort,
    LoginGuard,
    RecordingPort,
    RegistryPort,
    UsersPort,
)
from clearsight.api.stream_tokens import StreamTokenService
from clearsight.api.tokens import TokenService
from clearsight.audit import AuditReader, AuditRecorder
from clearsight.channel_streams import ChannelStreams
from clearsight.media.hls import HlsWindows
from clearsight.media.hub import StreamHub


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
    exports: ExportsPort | None = None  # None: the export endpoints answer 503
    recordings: RecordingPort | None = None  # None: the recording endpoints answer 503
    access: AccessControl | None = None  # None: roles only, no grants (tests of other concerns); docs/access.md
    admission: DeviceAdmissionPort | None = None  # None: the pending-device endpoints answer 503


async def get_services(request: Request) -> ApiServices:
    # async so FastAPI calls it on the event loop instead of a worker thread
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, ApiServices):
        raise RuntimeError("app.state.services is not set; build the app with create_app()")
    return services


Services = Annotated[ApiServices, Depends(get_services)]
