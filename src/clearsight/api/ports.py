"""What the HTTP API needs from the rest of the platform.

The API codes against these structural types only. The real implementations
(`clearsight.registry.store.RegistryStore`, `clearsight.access.users.UserStore`, the GB28181
platform service) fit them without inheriting from them; tests inject fakes.

Record types are read-only protocols so that frozen dataclasses with narrower field types
(`name: str` where the protocol says `str | None`) still fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from clearsight.access.api_tokens import ApiTokenOwner, ApiTokenRecord, ApiTokenScope
from clearsight.access.policy import ChannelScope
from clearsight.access.sessions import NewSession, SessionRecord
from clearsight.audit import AuditReader, AuditRecorder
from clearsight.gb28181.errors import DeviceCommandError, DeviceOffline, DeviceRejected, DeviceTimeout

# The platform service raises these; re-exported so routers and tests need only this module.
from clearsight.gb28181.live import LiveStep, LiveViewError
from clearsight.gb28181.manscdp import DeviceStatus
from clearsight.gb28181.playback import PlaybackAction, PlaybackControlError, PlaybackSession, PlaybackSource
from clearsight.gb28181.record_info import RecordInfoResult
from clearsight.media.hub import MediaSource
from clearsight.recording.policy import RecordingMode, RecordingPolicy
from clearsight.recording.recorder import RecorderStatus
from clearsight.recording.records import LegalHoldRecord, SegmentRecord, Timeline
from clearsight.recording.service import RecordingStatus
from clearsight.recording.store import HoldAlreadyReleased
from clearsight.registry.admission_store import AdmissionRecord, AdmissionState
from clearsight.registry.records import ChannelKey, GroupKind, GroupRecord

__all__ = [
    "ApiConfig",
    "ApiSettings",
    "ApiTokensPort",
    "AuditReader",
    "AuditRecorder",
    "ChannelRecord",
    "DeviceCommandError",
    "DeviceControlPort",
    "DeviceOffline",
    "DevicePlaybackPort",
    "DeviceRecord",
    "DeviceRejected",
    "DeviceTimeout",
    "ExportRecord",
    "ExportsPort",
    "HoldAlreadyReleased",
    "KeySlice",
    "LiveStep",
    "LiveViewError",
    "LoginGuard",
    "LoginThrottled",
    "MediaSource",
    "Page",
    "PlaybackAction",
    "PlaybackControlError",
    "PlaybackSession",
    "RecordingPort",
    "RegionNode",
    "RegistryPort",
    "SessionsPort",
    "UserRecord",
    "UsersPort",
]

ItemT_co = TypeVar("ItemT_co", covariant=True)
KeyT_co = TypeVar("KeyT_co", covariant=True)


class LoginThrottled(Exception):
    """Too many failed logins; the caller may retry after `retry_after` seconds."""

    def __init__(self, username: str, retry_after: int) -> None:
        super().__init__(f"login for {username!r} throttled for {retry_after}s")
        self.username = username
        self.retry_after = retry_after


class Page(Protocol[ItemT_co]):
    """One page of a listing; `total` counts every match, not just this page."""

    @property
    def items(self) -> Sequence[ItemT_co]: ...
    @property
    def total(self) -> int: ...


class KeySlice(Protocol[ItemT_co, KeyT_co]):
    """A keyset page of a list (`clearsight.registry.records.KeySlice`); `total` None unless counted."""

    @property
    def total(self) -> int | None: ...
    @property
    def items(self) -> Sequence[ItemT_co]: ...
    @property
    def next_after(self) -> KeyT_co | None: ...


class DeviceRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def online(self) -> bool: ...
    @property
    def channel_count(self) -> int: ...
    @property
    def last_keepalive(self) -> datetime | None: ...
    @property
    def manufacturer(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def firmware(self) -> str | None: ...
    @property
    def transport(self) -> str: ...
    @property
    def remote_host(self) -> str | None: ...
    @property
    def remote_port(self) -> int | None: ...
    @property
    def registered_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


class ChannelRecord(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def gb_id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def online(self) -> bool: ...
    @property
    def civil_code(self) -> str | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def ptz_type(self) -> int | None: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def business_group_id(self) -> str | None: ...
    @property
    def manufacturer(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...


class RegionNode(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def channel_count(self) -> int: ...
    @property
    def online_count(self) -> int: ...
    @property
    def children(self) -> Sequence[RegionNode]: ...


class UserRecord(Protocol):
    @property
    def id(self) -> int | str: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def is_active(self) -> bool: ...


class RegistryPort(Protocol):
    """Implemented by `clearsight.registry.store.RegistryStore`."""

    async def list_devices(
        self,
        *,
        offset: int,
        limit: int,
        online: bool | None,
        name_contains: str | None,
        region: str | None,
        scope: ChannelScope | None = None,
    ) -> Page[DeviceRecord]:
        """Only devices with a channel `scope` admits when given (filtered in the query)."""
        ...

    async def list_devices_after(
        self,
        after: str | None,
        *,
        limit: int,
        count: bool = False,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> KeySlice[DeviceRecord, str]:
        """The devices after the device ID `after` in `list_devices`' order; `total` None unless `count`."""
        ...

    async def device_in_scope(self, device_id: str, scope: ChannelScope, *, every_channel: bool = False) -> bool: ...

    async def get_device(self, device_id: str) -> DeviceRecord | None: ...

    async def set_device_password(self, device_id: str, password: str | None) -> None: ...

    async def delete_device(self, device_id: str) -> bool:
        """Forget the device and its channels; False when there was no such device."""
        ...

    async def list_channels(
        self,
        *,
        offset: int,
        limit: int,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> Page[ChannelRecord]:
        """Only the channels `scope` admits when given (filtered in the query)."""
        ...

    async def list_channels_after(
        self,
        after: ChannelKey | None,
        *,
        limit: int,
        count: bool = False,
        device_id: str | None = None,
        online: bool | None = None,
        name_contains: str | None = None,
        region: str | None = None,
        scope: ChannelScope | None = None,
    ) -> KeySlice[ChannelRecord, ChannelKey]:
        """The channels after `after` in `list_channels`' order; `total` None unless `count`."""
        ...

    async def get_channel(self, channel_pk: int) -> ChannelRecord | None: ...

    async def region_tree(self, scope: ChannelScope | None = None) -> Sequence[RegionNode]: ...

    async def list_groups(
        self, *, offset: int, limit: int, device_id: str | None = None, kind: GroupKind | None = None
    ) -> Page[GroupRecord]: ...


class UsersPort(Protocol):
    """Implemented by `clearsight.access.users.UserStore`; `change_password` raises `WeakPassword`."""

    async def authenticate(self, username: str, password: str) -> UserRecord | None: ...

    async def change_password(self, user_id: int, new_password: str) -> UserRecord | None: ...

    async def set_active(self, user_id: int, active: bool) -> UserRecord | None: ...

    async def create_user(self, username: str, password: str, role: str) -> UserRecord:
        """Raises UserExists, InvalidUsername or WeakPassword (`clearsight.access.users`)."""
        ...


class DeviceControlPort(Protocol):
    """Implemented by the GB28181 platform service; raises `DeviceOffline` / `DeviceTimeout`."""

    async def send_ptz(self, device_id: str, channel_gb_id: str, ptz_hex: str) -> None: ...

    async def refresh_catalog(self, device_id: str) -> int: ...

    async def query_status(self, device_id: str) -> DeviceStatus: ...

    def set_device_password(self, device_id: str, password: str | None) -> None:
        """Use this password (None: the default) for the device's next REGISTER."""
        ...

    def live_presence(self, device_id: str) -> tuple[bool, datetime | None] | None:
        """(online, last keepalive) as signalling knows it now; the database lags by up to a flush."""
        ...

    def sip_healthy(self) -> bool: ...

    async def open_live_source(self, device_id: str, channel_gb_id: str) -> MediaSource:
        """INVITE the channel and return its stream; raises `DeviceOffline` or `LiveViewError` (with the step)."""
        ...


class ExportRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def channels(self) -> Sequence[int]: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def watermark(self) -> bool: ...
    @property
    def state(self) -> str: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


class ExportsPort(Protocol):
    """Implemented by `clearsight.export.runner.ExportRunner`."""

    async def submit(self, *, created_by: str, reason: str, channels: Sequence[int], start: datetime,
                     end: datetime, watermark: bool, masks_lifted: Sequence[int] = ()) -> ExportRecord:
        """Store a pending export and schedule it; privacy masks are burnt in except on `masks_lifted`."""
        ...

    async def get(self, export_id: str) -> ExportRecord | None: ...

    async def list_exports(self, *, created_by: str | None, offset: int, limit: int) -> Page[ExportRecord]:
        """Newest first; only `created_by`'s when given."""
        ...

    async def package(self, export_id: str) -> Path | None:
        """The finished package's file, if the export is done and the file is still there."""
        ...

    @property
    def signing_fingerprint(self) -> str: ...

    @property
    def signing_public_key_pem(self) -> str: ...


class RecordingPort(Protocol):
    """Implemented by `clearsight.recording.service.RecordingService`; `release_hold` raises `HoldAlreadyReleased`."""

    @property
    def storage_names(self) -> list[str]: ...

    @property
    def default_mode(self) -> RecordingMode: ...

    @property
    def default_retention_days(self) -> int: ...

    async def get_policy(self, channel_id: int) -> RecordingPolicy | None: ...

    async def set_policy(self, policy: RecordingPolicy) -> RecordingPolicy: ...

    async def delete_policy(self, channel_id: int) -> bool: ...

    def recorder_status(self, channel_id: int) -> RecorderStatus | None:
        """The channel's recorder now, None when none runs."""
        ...

    async def timeline(self, channel_id: int, start: datetime, end: datetime) -> Timeline: ...

    async def has_recordings(self, channel_id: int) -> bool: ...

    async def segments_from(self, channel_id: int, at: datetime, limit: int) -> Sequence[SegmentRecord]:
        """Segments ending after `at`, by start (`clearsight.recording.playback.SegmentIndex`)."""
        ...

    def segment_file(self, segment: SegmentRecord) -> Path | None: ...

    def open_segment(self, channel_id: int) -> tuple[str, str] | None:
        """(storage, path) of the segment being recorded now (`clearsight.recording.playback.SegmentIndex`)."""
        ...

    async def create_hold(self, channel_id: int, start: datetime, end: datetime, reason: str,
                          created_by: str) -> LegalHoldRecord: ...

    async def list_holds(self, *, channel_id: int | None = None,
                         active: bool | None = None) -> Sequence[LegalHoldRecord]: ...

    async def get_hold(self, hold_id: int) -> LegalHoldRecord | None: ...

    async def release_hold(self, hold_id: int, released_by: str) -> LegalHoldRecord | None: ...

    async def thumbnail(self, channel_id: int, at: datetime) -> tuple[datetime, bytes] | None:
        """The channel's thumbnail nearest to `at` (its moment and JPEG), None when none is near."""
        ...

    def status(self) -> RecordingStatus: ...


@runtime_checkable
class DevicePlaybackPort(Protocol):
    """Recordings on a channel's device and their playback; implemented by the GB28181 platform service.

    Raises `DeviceOffline` / `DeviceTimeout`, `LiveViewError` (with the step) when a playback cannot start and
    `PlaybackControlError` when the device refuses or ignores a control request.
    """

    async def query_recordings(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime
                               ) -> RecordInfoResult: ...

    async def open_playback_source(self, device_id: str, channel_gb_id: str, start: datetime, end: datetime,
                                   speed: float = 1.0) -> PlaybackSource: ...

    def playback_session(self, session_id: str) -> PlaybackSession | None: ...

    async def control_playback(self, session_id: str, action: PlaybackAction, *, position: float | None = None,
                               speed: float | None = None) -> PlaybackSession | None:
        """None when there is no such session (any more)."""
        ...


class SessionsPort(Protocol):
    """Implemented by `access.sessions.SessionStore` and `InMemorySessionStore`."""

    async def create(self, new: NewSession) -> SessionRecord: ...

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def list_sessions(self, user_id: int | None, now: datetime) -> Sequence[SessionRecord]: ...

    async def touch(self, session_id: str, at: datetime) -> None: ...

    async def revoke(self, session_ids: Sequence[str], by: str, at: datetime) -> None: ...

    async def revoked_unexpired(self, now: datetime) -> dict[str, datetime]: ...


class ApiTokensPort(Protocol):
    """Implemented by `access.api_tokens.ApiTokenStore`."""

    async def create(self, user_id: int, name: str, scopes: frozenset[ApiTokenScope],
                     expires_at: datetime | None) -> tuple[ApiTokenRecord, str]: ...

    async def get(self, token_id: str) -> ApiTokenRecord | None: ...

    async def list_tokens(self, user_id: int | None) -> Sequence[ApiTokenRecord]: ...

    async def revoke(self, token_id: str, by: str) -> ApiTokenRecord | None: ...

    async def authenticate(self, secret: str, now: datetime) -> ApiTokenOwner | None: ...


class DeviceAdmissionPort(Protocol):
    """Unknown devices held for approval, and rejected ones (`gb28181.admission.DeviceAdmission`)."""

    @property
    def policy(self) -> str:
        """CLEARSIGHT_UNKNOWN_DEVICES: accept, reject or hold."""
        ...

    async def list_admissions(self, state: AdmissionState | None = None) -> Sequence[AdmissionRecord]: ...

    async def get(self, device_id: str) -> AdmissionRecord | None: ...

    async def approve(self, device_id: str, password: str | None) -> AdmissionRecord | None:
        """The device's record before approval; None when it is neither held nor rejected."""
        ...

    async def reject(self, device_id: str, by: str) -> AdmissionRecord | None: ...

    def forget(self, device_id: str) -> None:
        """The device was deleted from the registry."""
        ...


class LoginGuard(Protocol):
    """Login throttling (`api.login_guard.LoginThrottle`). `check` raises `LoginThrottled` to refuse."""

    async def check(self, username: str, client: str | None) -> None: ...

    async def record(self, username: str, client: str | None, *, success: bool) -> None: ...


class ApiSettings(Protocol):
    """What the API reads from `clearsight.config.Settings` (or from an `ApiConfig`)."""

    @property
    def token_ttl(self) -> int: ...

    @property
    def stream_token_ttl(self) -> int: ...

    def effective_secret_key(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Plain `ApiSettings`, for tests and embedding."""

    secret_key: str
    token_ttl: int
    stream_token_ttl: int = 300

    def effective_secret_key(self) -> str:
        return self.secret_key
