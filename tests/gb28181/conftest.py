"""Access to the shared GB/T 28181 capture fixtures (``<repo>/../shared/fixtures/gb28181-captures``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]  # the parent of tests/
HEADER_END = b"\r\n\r\n"  # the captures join header lines with CRLF and end them with an empty line
_INDEX_ROW = re.compile(r"^\| \[(?P<file>[^\]]+\.sip)\]\([^)]*\) \|(?P<cells>.*)$")
_CHARSET_COLUMN = 2  # after the file: what it is, device/vendor, declared charset


def shared_fixtures_dir() -> Path:
    """``<repo root>/../shared/fixtures/gb28181-captures``."""
    return REPO_ROOT / ".." / "shared" / "fixtures" / "gb28181-captures"


@cache
def declared_charsets() -> dict[str, str]:
    """File name → the README's "Declared charset" cell (``GB2312 (body ASCII)``, ``UTF-8``, ``-``)."""
    readme = (shared_fixtures_dir() / "README.md").read_text(encoding="utf-8")
    result: dict[str, str] = {}
    for line in readme.splitlines():
        match = _INDEX_ROW.match(line)
        if match:
            cells = [cell.strip() for cell in match.group("cells").split(" | ")]
            result[match.group("file")] = cells[_CHARSET_COLUMN]
    return result


def stored_body(name: str) -> bytes:
    """The body as stored (UTF-8): the whole file for body-only files, else what follows the headers."""
    raw = (shared_fixtures_dir() / name).read_bytes()
    if raw.lstrip().startswith(b"<"):
        return raw
    _, found, body = raw.partition(HEADER_END)
    return body if found else b""


def wire_body(name: str) -> bytes:
    """The body as the device sent it: re-encoded with gb18030 where the declared charset is GB-family."""
    body = stored_body(name)
    if declared_charsets().get(name, "").upper().startswith(("GB2312", "GB18030")):
        return body.decode("utf-8").encode("gb18030")
    return body


def capture_files_with_body() -> list[str]:
    return sorted(p.name for p in shared_fixtures_dir().glob("*.sip") if stored_body(p.name).strip())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "capture_with_body" in metafunc.fixturenames:
        metafunc.parametrize("capture_with_body", capture_files_with_body())


@pytest.fixture
def capture() -> Callable[[str], bytes]:
    """Wire bytes of a capture's body, by file name."""
    return wire_body


@pytest.fixture
def stored_capture() -> Callable[[str], bytes]:
    """Stored (UTF-8) bytes of a capture's body, by file name."""
    return stored_body
