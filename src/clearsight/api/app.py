"""The FastAPI application: routers, authentication boundary, error handling, middleware."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

import clearsight
from clearsight.access.service import AccessControl
from clearsight.access.sessions import InMemorySessionStore
from clearsight.api.auditing import auditors_read_only, client_address
from clearsight.api.deps import ApiServices
from clearsight.api.docs import install_docs
from clearsight.api.middleware import CsrfMiddleware, SecurityHeadersMiddleware, UnhandledErrorMiddleware
from clearsight.api.nul_guard import NulGuardMiddleware
from clearsight.api.ports import (
    ApiSettings,
    ApiTokensPort,
    DeviceAdmissionPort,
    DeviceCommandError,
    DeviceControlPort,
    DeviceOffline,
    DeviceRejected,
    DeviceTimeout,
    ExportsPort,
    LoginGuard,
    LoginThrottled,
    RecordingPort,
    RegistryPort,
    SessionsPort,
    UsersPort,
)
from clearsight.api.problems import (
    DEVICE_OFFLINE,
    DEVICE_REJECTED,
    DEVICE_TIMEOUT,
    LOGIN_THROTTLED,
    PROBLEM_MEDIA_TYPE,
    VALIDATION_FAILED,
    Problem,
    problem_response,
)
from clearsight.api.routers import api_tokens as api_token_routes
from clearsight.api.routers import audit as audit_routes
from clearsight.api.routers import auth, channels, departments, devices, grants, groups, health, live, metrics, regions
from clearsight.api.routers import device_playback as device_playback_routes
from clearsight.api.routers import exports as export_routes
from clearsight.api.routers import pending_devices as pending_device_routes
from clearsight.api.routers import privacy_masks as privacy_mask_routes
from clearsight.api.routers import recorded_playback as recorded_playback_routes
from clearsight.api.routers import recordings as recording_routes
from clearsight.api.routers import share_requests as share_request_routes
from clearsight.api.routers import user_accounts as user_account_routes
from clearsight.api.routers import users as user_routes
from clearsight.api.security import UnthrottledLogins, current_user
from clearsight.api.sessions import SessionGuard
from clearsight.api.stream_tokens import StreamTokenService
from clearsight.api.tokens import TokenService
from clearsight.audit import AuditAction, AuditReader, AuditRecorder, AuditUnavailable, InMemoryAuditLog
from clearsight.channel_streams import ChannelStreams
from clearsight.media.hls import HlsWindows
from clearsight.media.hub import StreamHub
from clearsight.privacy.store import PrivacyMaskStore
from clearsight.registry.errors import InvalidRegion, UnknownDevice

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DEFAULT_STATIC_DIR = Path(clearsight.__file__).parent / "web" / "static"


class ClearsightApi(FastAPI):
    """FastAPI whose OpenAPI document gives error responses the problem+json media type."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema


def create_app(
    *,
    settings: ApiSettings,
    registry: RegistryPort,
    users: UsersPort,
    control: DeviceControlPort,
    metrics_registry: CollectorRegistry,
    db_ping: Callable[[], Awaitable[bool]],
    login_guard: LoginGuard | None = None,
    audit_log: AuditRecorder | None = None,
    audit_reader: AuditReader | None = None,
    hub: StreamHub | None = None,
    streams: ChannelStreams | None = None,
    hls: HlsWindows | None = None,
    exports: ExportsPort | None = None,
    recordings: RecordingPort | None = None,
    access: AccessControl | None = None,
    sessions: SessionsPort | None = None,
    api_tokens: ApiTokensPort | None = None,
    privacy_masks: PrivacyMaskStore | None = None,
    admission: DeviceAdmissionPort | None = None,
    static_dir: Path | None = DEFAULT_STATIC_DIR,
) -> FastAPI:
    """Build the HTTP API around the given platform services.

    `login_guard` throttles logins (default: none). `audit_log` records accesses and `audit_reader` reads them
    (default: one in-memory log for both). `streams` (or a bare `hub`) holds the live streams, whose
    sources `control` opens; default: a new hub. `exports` builds evidence exports (without it their
    endpoints answer 503); `recordings` likewise serves recording policies, timelines and
    legal holds. `access` decides who may do what to which channel (grants, share requests; docs/access.md);
    without it only roles are checked, which `serve` never does. `sessions` stores sign-in sessions (default: in
    memory) and `api_tokens` machines' API tokens (default: none accepted); docs/security.md.
    `privacy_masks` holds the channels' privacy masks (docs/privacy.md; without it nothing is masked and
    their endpoints answer 503). `admission` serves the unknown devices held for approval (without it
    `/devices/pending` answers 503). The web UI in `static_dir` is served at `/` when that directory exists.
    """
    app = ClearsightApi(
        title="Clearsight",
        version=clearsight.__version__,
        description="GB/T 28181 video platform API. Errors are RFC 9457 problem details.",
        redoc_url=None,
        docs_url=None,
    )
    if audit_log is None or audit_reader is None:
        memory_audit = InMemoryAuditLog()
        audit_log, audit_reader = audit_log or memory_audit, audit_reader or memory_audit
    hub = streams.hub if streams is not None else hub or StreamHub()
    streams = streams or ChannelStreams(hub, registry, control)
    tokens = TokenService(settings.effective_secret_key(), settings.token_ttl)
    app.state.services = ApiServices(
        tokens=tokens,
        registry=registry,
        users=users,
        control=control,
        login_guard=login_guard or UnthrottledLogins(),
        audit=audit_log,
        audit_reader=audit_reader,
        metrics_registry=metrics_registry,
        db_ping=db_ping,
        hub=hub,
        streams=streams,
        hls=hls or HlsWindows(),
        stream_tokens=StreamTokenService(settings.effective_secret_key(), settings.stream_token_ttl),
        exports=exports,
        recordings=recordings,
        access=access,
        sessions=SessionGuard(sessions or InMemorySessionStore(), tokens),
        api_tokens=api_tokens,
        privacy_masks=privacy_masks,
        admission=admission,
    )

    device_playback_routes.install(app, settings)
    recorded_playback_routes.install(app, settings)
    protected = APIRouter(dependencies=[Depends(current_user)])
    # pending_device_routes before devices: /devices/pending is not a device ID
    for module in (pending_device_routes, devices, channels, regions, groups, export_routes, recording_routes,
                   grants, departments, share_request_routes, user_routes, user_account_routes,
                   privacy_mask_routes):
        protected.include_router(module.router)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(auditors_read_only)])  # auditors change nothing
    api.include_router(auth.router)  # signing in is public; its other routes take any credential but API tokens
    api.include_router(api_token_routes.router)
    api.include_router(live.router)  # its stream endpoints take a stream token; the others a bearer token
    api.include_router(device_playback_routes.router)  # likewise
    api.include_router(recorded_playback_routes.router)  # likewise
    api.include_router(protected)
    api.include_router(audit_routes.router)  # administrators and auditors only
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(metrics.router, dependencies=[Depends(current_user)])  # an API token: metrics:read

    _install_exception_handlers(app)
    app.add_middleware(UnhandledErrorMiddleware)  # added first: runs inside the headers middleware
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(CsrfMiddleware)  # inside the headers middleware: its 403 carries them
    docs_paths = install_docs(app)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs_paths)

    if static_dir is not None and static_dir.is_dir():
        # Mounted last: every route above wins, and unknown paths become 404 problems.
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")
    return app


def _install_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return problem_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, Problem(exc.status_code, detail, headers=exc.headers))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Only where and what: the offending input is not echoed (it may be a password).
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        problem = Problem(
            422,
            "the request is not valid; see errors",
            type_=VALIDATION_FAILED,
            title="Request validation failed",
            extensions={"errors": errors},
        )
        return problem_response(request, problem)

    @app.exception_handler(InvalidRegion)
    async def on_invalid_region(request: Request, exc: InvalidRegion) -> Response:
        return problem_response(
            request, Problem(422, str(exc), type_=VALIDATION_FAILED, title="Request validation failed")
        )

    @app.exception_handler(UnknownDevice)
    async def on_unknown_device(request: Request, exc: UnknownDevice) -> Response:
        return problem_response(request, Problem(404, f"no device {exc.device_id}"))

    @app.exception_handler(AuditUnavailable)
    async def on_audit_unavailable(request: Request, exc: AuditUnavailable) -> Response:
        logger.error("%s %s refused: %s", request.method, request.url.path, exc)
        return problem_response(request, Problem(503, "the audit log cannot be written, so this is not done"))

    @app.exception_handler(LoginThrottled)
    async def on_login_throttled(request: Request, exc: LoginThrottled) -> Response:
        logger.warning("login for %r throttled for %d s", exc.username, exc.retry_after)
        services: ApiServices = request.app.state.services
        await services.audit.record(AuditAction.LOGIN_FAILURE, actor=exc.username, client=client_address(request),
                                    details={"throttled": True, "retry_after": exc.retry_after})
        problem = Problem(
            429,
            f"too many failed logins; retry in {exc.retry_after} s",
            type_=LOGIN_THROTTLED,
            headers={"Retry-After": str(exc.retry_after)},
        )
        return problem_response(request, problem)

    @app.exception_handler(DeviceCommandError)
    async def on_device_error(request: Request, exc: DeviceCommandError) -> Response:
        extensions = {"device_id": exc.device_id}
        if isinstance(exc, DeviceOffline):
            problem = Problem(
                409, str(exc), type_=DEVICE_OFFLINE, title="Device offline", extensions=extensions
            )
        elif isinstance(exc, DeviceTimeout):
            problem = Problem(
                504, str(exc), type_=DEVICE_TIMEOUT, title="Device did not answer", extensions=extensions
            )
        elif isinstance(exc, DeviceRejected):
            problem = Problem(
                502,
                str(exc),
                type_=DEVICE_REJECTED,
                title="Device refused the request",
                extensions=extensions,
            )
        else:
            problem = Problem(502, str(exc), extensions=extensions)
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, problem)
