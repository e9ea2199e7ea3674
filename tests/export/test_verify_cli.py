"""`clearsight verify-export` as a process: exit 0 only when intact, 1 naming each mismatch, 2 unreadable."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from clearsight.export.builder import public_key_pem
from clearsight.export.records import BuiltPackage
from clearsight.signing import SigningKey
from tests.export.tampering import flip_byte_in_entry, rezip


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clearsight.cli", "verify-export", *map(str, args)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_intact_package_exits_0_and_says_who_exported_it(package: BuiltPackage, signing_key: SigningKey) -> None:
    result = _run(package.path, "--fingerprint", signing_key.fingerprint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"INTACT: {package.path}")
    assert "by alice" in result.stdout and "reason: case 2026-0042" in result.stdout
    assert f"signed by the trusted Ed25519 key {signing_key.fingerprint}" in result.stdout


def test_without_a_trust_anchor_it_says_the_key_was_not_checked(package: BuiltPackage, tmp_path: Path,
                                                                signing_key: SigningKey) -> None:
    result = _run(package.path)
    assert result.returncode == 0 and "was not checked against the platform's" in result.stdout
    (tmp_path / "platform.pem").write_bytes(public_key_pem(signing_key.public_bytes))
    assert _run(package.path, "--public-key", tmp_path / "platform.pem").returncode == 0


def test_tampered_package_exits_1_naming_file_expected_and_actual(package: BuiltPackage, tmp_path: Path) -> None:
    tampered = rezip(package.path, tmp_path / "tampered.zip", add={"extra.bin": b"x"})
    with zipfile.ZipFile(tampered) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".mp4"))
    flip_byte_in_entry(tampered, name)
    result = _run(tampered)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"NOT INTACT: {tampered}: 2 problem(s)"
    assert f"  {name}: SHA-256 differs from the manifest" in lines
    assert any(line.startswith("    expected: ") for line in lines)
    assert any(line.startswith("    actual:   ") for line in lines)
    assert "  extra.bin: is in the package but not listed in manifest.json" in lines


def test_wrong_trusted_fingerprint_exits_1(package: BuiltPackage, other_key: SigningKey) -> None:
    result = _run(package.path, "--fingerprint", other_key.fingerprint)
    assert result.returncode == 1 and "public_key.pem: is not the trusted signing key" in result.stdout


def test_unreadable_input_exits_2(tmp_path: Path, package: BuiltPackage) -> None:
    result = _run(tmp_path / "missing.zip")
    assert result.returncode == 2 and "no such file or directory" in result.stderr
    (tmp_path / "junk.zip").write_bytes(b"junk")
    assert _run(tmp_path / "junk.zip").returncode == 2
    assert _run(package.path, "--fingerprint", "xyz").returncode == 2
    assert _run(package.path, "--public-key", tmp_path / "none.pem").returncode == 2
