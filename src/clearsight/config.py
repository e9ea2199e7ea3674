"""Platform settings: defaults, then an optional TOML file, then `CLEARSIGHT_*` environment variables.

`load_settings()` is the entry point. The TOML file is flat (`platform_id = "..."`, `sip_port = 5060`);
its path comes from the argument or from `CLEARSIGHT_CONFIG`. Environment variables override the file,
and keyword overrides (tests, the CLI) override both. Invalid values raise `SettingsError` naming the
setting the way the operator wrote it: `CLEARSIGHT_PLATFORM_ID: must be 20 digits, got '123'`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from clearsight.access.password_policy import DEFAULT_MIN_PASSWORD_LENGTH, PasswordPolicy, WeakPassword
from clearsight.recording.storage import StoragePath, StorageSpecError, parse_storage_paths

logger = logging.getLogger(__name__)

ENV_PREFIX = "CLEARSIGHT_"
CONFIG_FILE_ENV = "CLEARSIGHT_CONFIG"
SECRET_KEY_FILE = "secret_key"
EXPORTS_DIR = "exports"  # under the data directory unless CLEARSIGHT_EXPORTS_DIR says otherwise
SIGNING_KEY_FILE = "signing_key.pem"  # the platform's Ed25519 key (exports, audit), PKCS#8 PEM, mode 0600
DATABASE_FILE = "clearsight.db"
PLATFORM_ID_LENGTH = 20  # GB/T 28181 IDs are 20 digits
SIP_DOMAIN_LENGTH = 10  # the SIP domain is the first 10 digits of the platform ID
MIN_PASSWORD_LENGTH = 8  # the least CLEARSIGHT_PASSWORD_MIN_LENGTH may be set to
SECRET_KEY_BYTES = 32

# Async drivers we run on, by the URL schemes an operator may write.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
# Settings whose values are never echoed back in an error message (secrets: only their length).
_SECRET_FIELDS = frozenset({"device_password", "admin_password", "secret_key"})
_UNECHOED_FIELDS = frozenset({"database_url"})  # may carry a password
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})*$")

# The TOML file read by the settings source; set by load_settings() for the duration of one load.
_config_file: ContextVar[Path | None] = ContextVar("clearsight_config_file", default=None)


class SettingsError(ValueError):
    """Settings could not be loaded; the message names each bad setting and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    """Everything an operator can set. Build it with `load_settings()`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    platform_id: str = Field(
        default="34020000002000000001",
        title="Platform ID",
        description="This platform's 20-digit GB/T 28181 ID (type 200, SIP server); its first 10 digits "
        "are the SIP domain.",
    )
    sip_host: str = Field(
        default="127.0.0.1",
        title="SIP address",
        description="The address the SIP server binds and advertises to devices (Via, Contact, SDP).",
    )
    sip_port: int = Field(default=5060, ge=1, le=65535, title="SIP port", description="UDP and TCP.")
    http_host: str = Field(
        default="127.0.0.1", title="HTTP address", description="The address the web UI and API bind."
    )
    http_port: int = Field(default=8080, ge=1, le=65535, title="HTTP port")
    data_dir: Path = Field(
        default=Path("./data"),
        title="Data directory",
        description="Holds the SQLite database, the generated secret key and recordings.",
    )
    database_url: str | None = Field(
        default=None,
        repr=False,
        title="Database URL",
        description="sqlite+aiosqlite:///path or postgresql+psycopg://user:pass@host/db; "
        "default: a SQLite file in the data directory.",
    )
    device_password: str = Field(
        default="12345678",
        min_length=1,
        max_length=128,
        repr=False,
        title="Default device password",
        description="The SIP digest password of devices that have no password of their own.",
    )
    admin_user: str = Field(
        default="admin", min_length=1, max_length=64, title="First administrator's user name"
    )
    password_min_length: int = Field(
        default=DEFAULT_MIN_PASSWORD_LENGTH,
        ge=MIN_PASSWORD_LENGTH,
        le=128,
        title="Minimum password length",
        description="Users' passwords (and the first administrator's) must be at least this long; they must "
        "also differ from the user name and not be one of the most common passwords (docs/security.md).",
    )
    admin_password: str | None = Field(
        default=None,
        repr=False,
        title="First administrator's password",
        description="Used only when no user exists yet; when unset the demo generates and prints one.",
    )
    keepalive_interval: int = Field(
        default=60, ge=1, le=3600, title="Keepalive interval (s)", description="Expected from devices."
    )
    keepalive_misses: int = Field(
        default=3,
        ge=1,
        le=100,
        title="Missed keepalives before offline",
        description="A device is offline after this many keepalive intervals without one.",
    )
    catalog_subscription_expires: int = Field(
        default=3600,
        ge=0,
        le=86400,
        title="Catalog subscription lifetime (s)",
        description="After fetching a device's catalog the platform SUBSCRIBEs to its catalog changes for "
        "this long and renews before expiry; 0 turns subscriptions off (changes still arrive by MESSAGE).",
    )
    register_expires: int = Field(
        default=3600,
        ge=60,
        le=86400,
        title="Registration lifetime (s)",
        description="The longest Expires granted to a REGISTER.",
    )
    nonce_ttl: int = Field(
        default=300, ge=10, le=3600, title="Digest nonce lifetime (s)", description="For SIP digest auth."
    )
    unknown_devices: Literal["accept", "reject", "hold"] = Field(
        default="accept",
        title="Unknown devices",
        description="A REGISTER from a device ID not in the registry: accept (it registers with the default "
        "device password), reject (403) or hold (403, and listed at /api/v1/devices/pending for an "
        "administrator to approve or reject). See docs/sip-security.md.",
    )
    sip_register_rate: float = Field(
        default=20.0,
        ge=0,
        le=1_000_000,
        title="REGISTER rate per source (1/s)",
        description="REGISTERs per second one source address may send, sustained; beyond, 503 with "
        "Retry-After (then silence). 0: no limit.",
    )
    sip_register_burst: int = Field(
        default=1000,
        ge=1,
        le=10_000_000,
        title="REGISTER burst per source",
        description="REGISTERs one source address may send at once (a site of 500 devices behind one NAT "
        "restarting together sends 1,000).",
    )
    sip_auth_max_failures: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        title="Failed SIP authentications before a block",
        description="Failed digest authentications from one source address within sip_auth_failure_window "
        "that block it; 0: never block.",
    )
    sip_auth_failure_window: float = Field(
        default=300.0, ge=1, le=86400, title="Failure window (s)", description="How long a failure counts."
    )
    sip_auth_block_seconds: float = Field(
        default=600.0,
        ge=1,
        le=86400,
        title="Block length (s)",
        description="The first block of a source; a block soon after the previous one lasts twice as long "
        "(up to a day).",
    )
    sip_limit_exempt: str = Field(
        default="",
        title="Sources exempt from SIP limits",
        description="Comma-separated addresses or CIDR networks never rate-limited or blocked.",
    )
    sip_tcp_idle_timeout: float = Field(
        default=300.0,
        ge=0,
        le=86400,
        title="SIP TCP idle timeout (s)",
        description="A SIP TCP connection that receives nothing for this long is closed; keep it above the "
        "devices' keepalive interval. 0: never.",
    )
    sip_tcp_max_connections: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        title="SIP TCP connections",
        description="Connections devices may have open to the SIP port at once; beyond, new ones are closed "
        "at once. 0: no limit (the process's file limit still applies).",
    )
    sip_tcp_max_per_source: int = Field(
        default=1000,
        ge=0,
        le=1_000_000,
        title="SIP TCP connections per source",
        description="Connections one source address may have open to the SIP port at once. 0: no limit.",
    )
    token_ttl: int = Field(
        default=3600, ge=60, le=7 * 86400, title="Access token lifetime (s)", description="HTTP API tokens."
    )
    stream_token_ttl: int = Field(
        default=300,
        ge=10,
        le=86400,
        title="Stream URL lifetime (s)",
        description="Live-view URLs (WebSocket, HLS) carry a signed token refused after this; a connection "
        "made in time stays open.",
    )
    media_transport: Literal["udp", "tcp-passive", "tcp-active"] = Field(
        default="udp",
        title="Live media transport",
        description="Offered in live-view INVITEs: udp; tcp-passive (the platform listens for the device's "
        "connection); tcp-active (the platform connects to the device). The device's answer decides.",
    )
    media_timeout: float = Field(
        default=10.0,
        ge=1,
        le=300,
        title="Media timeout (s)",
        description="A live stream that gets no RTP for this long is ended with BYE.",
    )
    live_grace_period: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        title="Live stream grace period (s)",
        description="A channel's stream is stopped (BYE) this long after its last viewer leaves.",
    )
    recording_default: Literal["continuous", "none"] = Field(
        default="none",
        title="Default recording policy",
        description="How channels without a recording policy of their own are recorded: continuous or none "
        "(per-channel policies add scheduled recording).",
    )
    recording_paths: str = Field(
        default="",
        title="Recording storage paths",
        description="Comma-separated NAME=PATH[:QUOTA] entries, e.g. 'main=/srv/video:2T,spare=/mnt/b:500G' "
        "(QUOTA in bytes or with K/M/G/T; none: the disk's free space). Empty: one path 'default' at "
        "<data_dir>/recordings without a quota.",
    )
    recording_retention_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        title="Default retention (days)",
        description="Recordings older than this are deleted unless the channel's policy says otherwise or a "
        "legal hold covers them.",
    )
    recording_segment_seconds: int = Field(
        default=60,
        ge=2,
        le=600,
        title="Recording segment length (s)",
        description="A segment file is closed at the first keyframe after this many seconds.",
    )
    recording_thumbnail_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        title="Thumbnail interval (s)",
        description="While a channel is recorded, its latest keyframe becomes a small JPEG this often (for the "
        "timeline's hover); 0 turns thumbnails off.",
    )
    exports_dir: Path | None = Field(
        default=None,
        title="Exports directory",
        description="Where export packages are written; default <data_dir>/exports.",
    )
    tls_cert: Path | None = Field(
        default=None,
        title="TLS certificate",
        description="PEM certificate (chain) file; with CLEARSIGHT_TLS_KEY the HTTP API and web UI are served "
        "over HTTPS only, and HSTS is sent.",
    )
    tls_key: Path | None = Field(default=None, title="TLS private key", description="PEM key of tls_cert.")
    secret_key: str | None = Field(
        default=None,
        repr=False,
        min_length=32,
        title="Secret key",
        description="Signs tokens and stream URLs. When unset, one is generated once and kept in "
        "<data_dir>/secret_key (mode 0600).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls, _config_file_path()))

    @field_validator("platform_id")
    @classmethod
    def _check_platform_id(cls, value: str) -> str:
        if len(value) != PLATFORM_ID_LENGTH or not value.isdigit() or not value.isascii():
            raise ValueError(f"must be {PLATFORM_ID_LENGTH} digits")
        return value

    @field_validator("sip_host", "http_host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError("must be an IP address or a host name") from None
        return value

    @field_validator("sip_limit_exempt")
    @classmethod
    def _check_exempt(cls, value: str) -> str:
        for item in exempt_networks(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or network") from None
        return value

    @field_validator("admin_password")
    @classmethod
    def _check_admin_password(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        policy = PasswordPolicy(info.data.get("password_min_length", DEFAULT_MIN_PASSWORD_LENGTH))
        try:
            policy.check(info.data.get("admin_user", ""), value)
        except WeakPassword as exc:
            raise ValueError(f"must not be {exc.reason}") from None
        return value

    @model_validator(mode="after")
    def _check_tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("CLEARSIGHT_TLS_CERT and CLEARSIGHT_TLS_KEY must be set together")
        return self

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            drivername = make_url(value).drivername
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if drivername not in _ASYNC_DRIVERS:
            raise ValueError(
                f"unsupported database {drivername!r}; use sqlite+aiosqlite:///PATH "
                "or postgresql+psycopg://USER:PASSWORD@HOST/DB"
            )
        return value

    @property
    def sip_domain(self) -> str:
        """The SIP domain (realm): the first 10 digits of the platform ID."""
        return self.platform_id[:SIP_DOMAIN_LENGTH]

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL to use: the configured one (driver normalised) or the SQLite default."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir.resolve() / DATABASE_FILE}"
        url = make_url(self.database_url)
        return url.set(drivername=_ASYNC_DRIVERS[url.drivername]).render_as_string(hide_password=False)

    @field_validator("recording_paths")
    @classmethod
    def _check_recording_paths(cls, value: str) -> str:
        try:
            parse_storage_paths(value, Path("."))
        except StorageSpecError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def recording_storage(self) -> list[StoragePath]:
        """The storage paths `recording_paths` names (relative ones under the data directory)."""
        return parse_storage_paths(self.recording_paths, self.data_dir)

    @property
    def effective_exports_dir(self) -> Path:
        return self.exports_dir if self.exports_dir is not None else self.data_dir / EXPORTS_DIR

    def effective_secret_key(self) -> str:
        """The configured secret key, or the one kept in the data directory (created on first use)."""
        if self.secret_key is not None:
            return self.secret_key
        return _load_or_create_secret_key(self.data_dir / SECRET_KEY_FILE)


def exempt_networks(value: str) -> tuple[str, ...]:
    """The networks of `sip_limit_exempt`."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


class _TomlFileSource(PydanticBaseSettingsSource):
    """Settings from a flat TOML file; below the environment in precedence."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._values = _read_toml(path) if path is not None else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the TOML file (argument, else `CLEARSIGHT_CONFIG`), the environment and overrides.

    Raises `SettingsError` when the file cannot be read or a value is invalid.
    """
    path = config_file if config_file is not None else _config_file_path()
    token = _config_file.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        file_values = _read_toml(path) if path is not None else {}
        problems = [_describe(detail, path, file_values, overrides) for detail in error.errors()]
        raise SettingsError(problems) from None
    finally:
        _config_file.reset(token)


def _config_file_path() -> Path | None:
    explicit = _config_file.get()
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_FILE_ENV)
    return Path(from_env) if from_env else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise SettingsError([f"{CONFIG_FILE_ENV}: cannot read {path}: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError([f"{CONFIG_FILE_ENV}: {path} is not valid TOML: {error}"]) from None


def _describe(
    detail: ErrorDetails, path: Path | None, file_values: dict[str, Any], overrides: dict[str, Any]
) -> str:
    """One problem, named by where the bad value came from: an override, the environment or the file."""
    field = str(detail["loc"][0]) if detail["loc"] else "settings"
    env_name = f"{ENV_PREFIX}{field.upper()}"
    if field in overrides:
        where = field
    elif any(name.upper() == env_name for name in os.environ):
        where = env_name
    elif field in file_values:
        where = f"{field} (in {path})"
    else:
        where = field
    return f"{where}: {_what_is_wrong(detail, field)}"


def _what_is_wrong(detail: ErrorDetails, field: str) -> str:
    kind = detail["type"]
    context = detail.get("ctx", {})
    value = detail.get("input")
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "value_error":
        problem = str(context.get("error", detail["msg"]))
    elif kind == "greater_than_equal":
        problem = f"must be at least {context['ge']}"
    elif kind == "less_than_equal":
        problem = f"must be at most {context['le']}"
    elif kind == "string_too_short" and context["min_length"] == 1:
        problem = "must not be empty"
    elif kind == "string_too_short":
        problem = f"must be at least {context['min_length']} characters"
    elif kind == "string_too_long":
        problem = f"must be at most {context['max_length']} characters"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        problem = "must be a whole number"
    elif kind in ("string_type", "path_type"):
        problem = "must be a string"
    else:
        problem = detail["msg"][:1].lower() + detail["msg"][1:]
    if field in _UNECHOED_FIELDS:
        return problem
    if field in _SECRET_FIELDS:
        shown = f"{len(value)} characters" if isinstance(value, str) else "a value of the wrong type"
        return f"{problem}, got {shown}"
    return f"{problem}, got {value!r}"


def _load_or_create_secret_key(path: Path) -> str:
    """Read the key file, or create it with mode 0600 (exclusively, so concurrent starts agree)."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(SECRET_KEY_BYTES)
    # Write a private temporary file, then link it into place: a concurrent start either wins the link
    # or reads the complete key of the one that did.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as stream:
        stream.write(key + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        temporary.unlink()
    logger.info("generated a new secret key in %s", path)
    return key
