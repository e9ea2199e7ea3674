"""Settings: defaults, TOML file, environment, precedence, and the error messages operators see."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clearsight.config import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CLEARSIGHT_* variables from the developer's shell, and a private working directory."""
    for name in list(os.environ):
        if name.upper().startswith("CLEARSIGHT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clearsight.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.platform_id == "34020000002000000001"
    assert settings.sip_domain == "3402000000"
    assert (settings.sip_host, settings.sip_port) == ("127.0.0.1", 5060)
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.data_dir == Path("data")
    assert settings.device_password == "12345678"
    assert settings.admin_user == "admin" and settings.admin_password is None
    assert (settings.keepalive_interval, settings.keepalive_misses) == (60, 3)
    assert (settings.register_expires, settings.nonce_ttl, settings.token_ttl) == (3600, 300, 3600)
    assert settings.database_url is None and settings.secret_key is None


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'clearsight.db'}"


def test_database_url_driver_is_normalised() -> None:
    settings = load_settings(database_url="postgresql://cs:p%40ss@db.example/clearsight")
    assert settings.effective_database_url == "postgresql+psycopg://cs:p%40ss@db.example/clearsight"
    sqlite = load_settings(database_url="sqlite:////var/lib/clearsight/x.db")
    assert sqlite.effective_database_url == "sqlite+aiosqlite:////var/lib/clearsight/x.db"


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARSIGHT_PLATFORM_ID", "11010000002000000001")
    monkeypatch.setenv("CLEARSIGHT_SIP_PORT", "15060")
    monkeypatch.setenv("CLEARSIGHT_DATA_DIR", "/srv/clearsight")
    monkeypatch.setenv("CLEARSIGHT_ADMIN_PASSWORD", "correct horse")
    settings = load_settings()
    assert settings.sip_domain == "1101000000"
    assert settings.sip_port == 15060
    assert settings.data_dir == Path("/srv/clearsight")
    assert settings.admin_password == "correct horse"


def test_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, 'platform_id = "44030000002000000001"\nhttp_port = 9000\nkeepalive_misses = 5\n'
    )
    settings = load_settings(path)
    assert settings.platform_id == "44030000002000000001"
    assert settings.http_port == 9000
    assert settings.keepalive_misses == 5


def test_file_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARSIGHT_CONFIG", str(write_config(tmp_path, "http_port = 9001\n")))
    assert load_settings().http_port == 9001
    assert Settings().http_port == 9001


def test_precedence_override_over_environment_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "http_port = 9000\nsip_port = 5070\nnonce_ttl = 60\n")
    monkeypatch.setenv("CLEARSIGHT_HTTP_PORT", "9100")
    monkeypatch.setenv("CLEARSIGHT_SIP_PORT", "5080")
    settings = load_settings(path, sip_port=5090)
    assert settings.nonce_ttl == 60  # file only
    assert settings.http_port == 9100  # environment over file
    assert settings.sip_port == 5090  # override over both


def test_explicit_file_wins_over_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.toml"
    other.write_text("http_port = 1111\n", encoding="utf-8")
    monkeypatch.setenv("CLEARSIGHT_CONFIG", str(other))
    assert load_settings(write_config(tmp_path, "http_port = 2222\n")).http_port == 2222


def error_of(**overrides: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PLATFORM_ID", "123", "CLEARSIGHT_PLATFORM_ID: must be 20 digits, got '123'"),
        (
            "PLATFORM_ID",
            "3402000000200000000x",
            "CLEARSIGHT_PLATFORM_ID: must be 20 digits, got '3402000000200000000x'",
        ),
        ("SIP_PORT", "0", "CLEARSIGHT_SIP_PORT: must be at least 1, got '0'"),
        ("SIP_PORT", "70000", "CLEARSIGHT_SIP_PORT: must be at most 65535, got '70000'"),
        ("HTTP_PORT", "eighty", "CLEARSIGHT_HTTP_PORT: must be a whole number, got 'eighty'"),
        (
            "SIP_HOST",
            "not a host!",
            "CLEARSIGHT_SIP_HOST: must be an IP address or a host name, got 'not a host!'",
        ),
        ("HTTP_HOST", "", "CLEARSIGHT_HTTP_HOST: must be an IP address or a host name, got ''"),
        ("KEEPALIVE_INTERVAL", "0", "CLEARSIGHT_KEEPALIVE_INTERVAL: must be at least 1, got '0'"),
        ("KEEPALIVE_MISSES", "101", "CLEARSIGHT_KEEPALIVE_MISSES: must be at most 100, got '101'"),
        ("REGISTER_EXPIRES", "10", "CLEARSIGHT_REGISTER_EXPIRES: must be at least 60, got '10'"),
        ("NONCE_TTL", "5", "CLEARSIGHT_NONCE_TTL: must be at least 10, got '5'"),
        ("TOKEN_TTL", "1", "CLEARSIGHT_TOKEN_TTL: must be at least 60, got '1'"),
        ("ADMIN_USER", "", "CLEARSIGHT_ADMIN_USER: must not be empty, got ''"),
        # Secrets are never echoed, only their length.
        (
            "ADMIN_PASSWORD",
            "short",
            "CLEARSIGHT_ADMIN_PASSWORD: must not be shorter than 12 characters, got 5 characters",
        ),
        (
            "DEVICE_PASSWORD",
            "",
            "CLEARSIGHT_DEVICE_PASSWORD: must not be empty, got 0 characters",
        ),
        ("SECRET_KEY", "tiny", "CLEARSIGHT_SECRET_KEY: must be at least 32 characters, got 4 characters"),
    ],
)
def test_environment_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"CLEARSIGHT_{variable}", value)
    assert error_of() == message


def test_database_url_errors_do_not_echo_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARSIGHT_DATABASE_URL", "mysql://root:hunter22@db/x")
    message = error_of()
    assert message.startswith("CLEARSIGHT_DATABASE_URL: unsupported database 'mysql'")
    assert "hunter22" not in message
    monkeypatch.setenv("CLEARSIGHT_DATABASE_URL", "not a url")
    assert error_of() == "CLEARSIGHT_DATABASE_URL: is not a database URL"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'platform_id = "123"\nsip_port = "udp"\ncolour = "blue"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        f"platform_id (in {path}): must be 20 digits, got '123'",
        f"sip_port (in {path}): must be a whole number, got 'udp'",
        f"colour (in {path}): unknown setting",
    ]


def test_override_errors_name_the_setting() -> None:
    assert error_of(http_port=0) == "http_port: must be at least 1, got 0"


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"CLEARSIGHT_CONFIG: cannot read .*missing.toml"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match=r"CLEARSIGHT_CONFIG: .*broken.toml is not valid TOML"):
        broken = tmp_path / "broken.toml"
        broken.write_text("sip_port = = 1\n", encoding="utf-8")
        load_settings(broken)


def test_several_errors_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARSIGHT_SIP_PORT", "0")
    monkeypatch.setenv("CLEARSIGHT_PLATFORM_ID", "1")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.problems) == 2


def test_secrets_are_not_in_repr() -> None:
    settings = load_settings(admin_password="correct horse", device_password="dev-pass-1")
    assert "correct horse" not in repr(settings) and "dev-pass-1" not in repr(settings)


def test_secret_key_generated_once_with_private_mode(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    key = settings.effective_secret_key()
    assert len(key) >= 32
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(data_dir=tmp_path / "data").effective_secret_key() == key
    assert list((tmp_path / "data").iterdir()) == [path]  # no temporary files left behind


def test_configured_secret_key_is_used(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key="k" * 40)
    assert settings.effective_secret_key() == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_tls_certificate_and_key_go_together(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CLEARSIGHT_TLS_CERT and CLEARSIGHT_TLS_KEY must be set together"):
        load_settings(tls_cert=tmp_path / "cert.pem")
    settings = load_settings(tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem")
    assert settings.tls_key == tmp_path / "key.pem"


def test_sip_guard_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsight.config import exempt_networks

    settings = load_settings()
    assert (settings.unknown_devices, settings.sip_register_rate, settings.sip_register_burst) == ("accept", 20, 1000)
    assert (settings.sip_tcp_idle_timeout, settings.sip_tcp_max_connections, settings.sip_tcp_max_per_source) == (
        300, 10_000, 1000)
    monkeypatch.setenv("CLEARSIGHT_SIP_LIMIT_EXEMPT", "10.1.0.0/16, 192.0.2.7")
    assert exempt_networks(load_settings().sip_limit_exempt) == ("10.1.0.0/16", "192.0.2.7")
    monkeypatch.setenv("CLEARSIGHT_SIP_LIMIT_EXEMPT", "10.1.0.0/16,nat-box")
    assert error_of() == ("CLEARSIGHT_SIP_LIMIT_EXEMPT: 'nat-box' is not an address or network, "
                          "got '10.1.0.0/16,nat-box'")
    monkeypatch.delenv("CLEARSIGHT_SIP_LIMIT_EXEMPT")
    monkeypatch.setenv("CLEARSIGHT_UNKNOWN_DEVICES", "maybe")
    assert error_of().startswith("CLEARSIGHT_UNKNOWN_DEVICES: ")
