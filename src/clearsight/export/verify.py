"""Offline verification of an export package: is it exactly what the platform signed?

Checks, each failure a `Finding` naming the file and what was expected against what is there: the
signature over manifest.json verifies (with the trusted key when one is given, else with the package's own),
the package's key is the one the manifest names (and the trusted one), every listed file is present with
its size and SHA-256, and nothing else is in the package. Needs no platform, database or network.
"""

from __future__ import annotations

import binascii
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from clearsight.export.manifest import (
    MANIFEST_NAME,
    PUBLIC_KEY_NAME,
    RESERVED_NAMES,
    SIGNATURE_NAME,
    ManifestInvalid,
    ParsedManifest,
    parse_manifest,
)
from clearsight.export.package_reader import EntryUnreadable, Package, open_package
from clearsight.signing import public_key_fingerprint, verify_signature

ED25519_SIGNATURE_BYTES = 64  # RFC 8032 §5.1.6
ED25519_PUBLIC_KEY_BYTES = 32  # RFC 8032 §5.1.5
FINGERPRINT_HEX_DIGITS = 64  # SHA-256


class TrustAnchorError(ValueError):
    """The key or fingerprint to trust, as given on the command line, is not one."""


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """What the package's signing key must be: a public key, or only its fingerprint. Empty: not checked."""

    public_bytes: bytes | None = None
    fingerprint: str | None = None

    @property
    def expected_fingerprint(self) -> str | None:
        if self.public_bytes is not None:
            return public_key_fingerprint(self.public_bytes)
        return self.fingerprint

    @classmethod
    def from_fingerprint(cls, text: str) -> TrustAnchor:
        value = text.strip().lower().replace(":", "")
        if len(value) != FINGERPRINT_HEX_DIGITS or any(c not in "0123456789abcdef" for c in value):
            raise TrustAnchorError(f"a fingerprint is {FINGERPRINT_HEX_DIGITS} hex digits, got {text!r}")
        return cls(fingerprint=value)

    @classmethod
    def from_key_file(cls, path: Path) -> TrustAnchor:
        """A PEM public key (as in a package's public_key.pem), 64 hex digits, or the 32 raw bytes."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TrustAnchorError(f"{path}: {exc.strerror}") from None
        return cls(public_bytes=_public_bytes(data, str(path)))


def _public_bytes(data: bytes, where: str) -> bytes:
    if b"-----BEGIN" in data:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise TrustAnchorError(f"{where}: not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise TrustAnchorError(f"{where}: a {type(key).__name__}, not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if len(data) == ED25519_PUBLIC_KEY_BYTES:
        return data
    try:
        raw = binascii.unhexlify(data.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise TrustAnchorError(f"{where}: not an Ed25519 public key (PEM, hex or 32 raw bytes)")
    return raw


@dataclass(frozen=True, slots=True)
class Finding:
    subject: str  # the file concerned
    problem: str
    expected: str | None = None
    actual: str | None = None


@dataclass(slots=True)
class VerificationReport:
    path: Path
    findings: list[Finding] = field(default_factory=list)
    manifest: ParsedManifest | None = None
    fingerprint: str | None = None  # of the key the signature was checked with
    trusted: bool = False  # that key was checked against a trust anchor
    files_checked: int = 0

    @property
    def intact(self) -> bool:
        return not self.findings

    def fail(self, subject: str, problem: str, expected: str | None = None, actual: str | None = None) -> None:
        self.findings.append(Finding(subject, problem, expected, actual))


def verify_package(path: Path, anchor: TrustAnchor | None = None) -> VerificationReport:
    """Check the package at `path`; raises `PackageUnreadable` when it cannot be opened at all."""
    package = open_package(path)
    try:
        return _Verifier(package, path, anchor or TrustAnchor()).run()
    finally:
        package.close()


class _Verifier:
    def __init__(self, package: Package, path: Path, anchor: TrustAnchor) -> None:
        self.package, self.anchor = package, anchor
        self.report = VerificationReport(path)
        self.names = package.names()

    def run(self) -> VerificationReport:
        for name, count in Counter(self.names).items():
            if count > 1:
                self.report.fail(name, f"appears {count} times in the package", "once", f"{count} times")
        manifest = self._read(MANIFEST_NAME)
        signature = self._read(SIGNATURE_NAME)
        package_key = self._package_key()
        key = self._signing_key(package_key)
        if manifest is not None and signature is not None and key is not None:
            self._check_signature(key, signature, manifest)
        if manifest is not None:
            self._check_manifest(manifest, package_key)
        return self.report

    def _read(self, name: str) -> bytes | None:
        if name not in self.names:
            self.report.fail(name, "missing from the package")
            return None
        try:
            return self.package.read(name)
        except EntryUnreadable as exc:
            self.report.fail(name, f"cannot be read: {exc}")
            return None

    def _package_key(self) -> bytes | None:
        pem = self._read(PUBLIC_KEY_NAME)
        if pem is None:
            return None
        try:
            return _public_bytes(pem, PUBLIC_KEY_NAME)
        except TrustAnchorError as exc:
            self.report.fail(PUBLIC_KEY_NAME, str(exc).removeprefix(f"{PUBLIC_KEY_NAME}: "))
            return None

    def _signing_key(self, package_key: bytes | None) -> bytes | None:
        """The key to check the signature with: the trusted one if given, else the package's."""
        expected = self.anchor.expected_fingerprint
        actual = public_key_fingerprint(package_key) if package_key is not None else None
        if expected is not None and actual is not None and actual != expected:
            self.report.fail(PUBLIC_KEY_NAME, "is not the trusted signing key (fingerprints)", expected, actual)
        key = self.anchor.public_bytes or package_key
        if key is not None:
            self.report.fingerprint = public_key_fingerprint(key)
            self.report.trusted = expected is not None and self.report.fingerprint == expected
        return key

    def _check_signature(self, key: bytes, signature: bytes, manifest: bytes) -> None:
        if len(signature) != ED25519_SIGNATURE_BYTES:
            self.report.fail(SIGNATURE_NAME, "is not an Ed25519 signature", f"{ED25519_SIGNATURE_BYTES} bytes",
                             f"{len(signature)} bytes")
        elif not verify_signature(key, signature, manifest):
            self.report.fail(SIGNATURE_NAME, f"does not verify {MANIFEST_NAME} with key {self.report.fingerprint}: "
                             f"{MANIFEST_NAME} was changed, or signed with another key")

    def _check_manifest(self, data: bytes, package_key: bytes | None) -> None:
        try:
            manifest = parse_manifest(data)
        except ManifestInvalid as exc:
            self.report.fail(MANIFEST_NAME, f"is not a valid manifest: {exc}")
            return
        self.report.manifest = manifest
        if package_key is not None and manifest.fingerprint != public_key_fingerprint(package_key):
            self.report.fail(MANIFEST_NAME, f"names a signing key other than {PUBLIC_KEY_NAME}'s",
                             manifest.fingerprint, public_key_fingerprint(package_key))
        listed: set[str] = set()
        for entry in manifest.files:
            if not _plain_name(entry.name) or entry.name in listed:
                self.report.fail(entry.name, f"is listed in {MANIFEST_NAME} twice or under an unsafe name")
                continue
            listed.add(entry.name)
            self._check_file(entry.name, entry.size, entry.sha256)
        for name in dict.fromkeys(self.names):
            if name not in listed and name not in RESERVED_NAMES:
                self.report.fail(name, f"is in the package but not listed in {MANIFEST_NAME}")

    def _check_file(self, name: str, size: int, sha256: str) -> None:
        if name not in self.names:
            self.report.fail(name, f"is listed in {MANIFEST_NAME} but missing from the package")
            return
        try:
            actual_size, actual_sha256 = self.package.digest(name)
        except EntryUnreadable as exc:
            self.report.fail(name, f"cannot be read: {exc}")
            return
        self.report.files_checked += 1
        if actual_size != size:
            self.report.fail(name, "size differs from the manifest", f"{size} bytes", f"{actual_size} bytes")
        if actual_sha256 != sha256:
            self.report.fail(name, "SHA-256 differs from the manifest", sha256, actual_sha256)


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") \
        and name not in RESERVED_NAMES
