"""Verification of packages: intact ones pass; every kind of tampering is named with expected and actual."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from clearsight.export.builder import public_key_pem
from clearsight.export.errors import PackageUnreadable
from clearsight.export.records import BuiltPackage
from clearsight.export.verify import Finding, TrustAnchor, TrustAnchorError, verify_package
from clearsight.signing import SigningKey
from tests.export.tampering import flip_byte_in_entry, rezip, unpack


@pytest.fixture
def copy(tmp_path: Path, package: BuiltPackage) -> Path:
    return Path(shutil.copy(package.path, tmp_path / package.path.name))


def _clip(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return next(name for name in archive.namelist() if name.endswith(".mp4"))


def _read(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _findings(path: Path, anchor: TrustAnchor | None = None) -> list[Finding]:
    report = verify_package(path, anchor)
    assert not report.intact
    return report.findings


def test_an_intact_package_and_its_unpacked_directory_verify(copy: Path, tmp_path: Path,
                                                             signing_key: SigningKey) -> None:
    anchor = TrustAnchor.from_fingerprint(signing_key.fingerprint.upper())
    for path in (copy, unpack(copy, tmp_path / "unpacked")):
        report = verify_package(path, anchor)
        assert report.intact and report.trusted and report.files_checked == 1
        assert report.manifest is not None and report.manifest.created_by == "alice"


def test_a_flipped_byte_in_a_clip_is_named_with_both_hashes(copy: Path) -> None:
    name = _clip(copy)
    expected = json.loads(_read(copy, "manifest.json"))["files"][0]["sha256"]
    flip_byte_in_entry(copy, name)
    [finding] = _findings(copy)
    assert finding.subject == name and finding.problem == "SHA-256 differs from the manifest"
    assert finding.expected == expected and finding.actual is not None and finding.actual != expected


def test_a_flipped_byte_in_an_unpacked_clip_is_named(copy: Path, tmp_path: Path) -> None:
    directory = unpack(copy, tmp_path / "unpacked")
    name = _clip(copy)
    data = bytearray((directory / name).read_bytes())
    data[len(data) // 2] ^= 0x80
    (directory / name).write_bytes(bytes(data))
    assert [f.subject for f in _findings(directory)] == [name]


def test_an_edited_manifest_breaks_the_signature(copy: Path, tmp_path: Path) -> None:
    manifest = json.loads(_read(copy, "manifest.json"))
    manifest["reason"] = "something else"
    edited = rezip(copy, tmp_path / "edited.zip",
                   replace={"manifest.json": json.dumps(manifest, indent=2).encode()})
    [finding] = _findings(edited)
    assert finding.subject == "manifest.sig" and "manifest.json was changed" in finding.problem


def test_a_manifest_edited_to_match_an_altered_clip_still_fails(copy: Path, tmp_path: Path) -> None:
    name = _clip(copy)
    clip = bytearray(_read(copy, name))
    clip[-10] ^= 0xFF
    manifest = json.loads(_read(copy, "manifest.json"))
    import hashlib

    manifest["files"][0]["sha256"] = hashlib.sha256(clip).hexdigest()
    forged = rezip(copy, tmp_path / "forged.zip",
                   replace={name: bytes(clip), "manifest.json": json.dumps(manifest, indent=2).encode()})
    assert [f.subject for f in _findings(forged)] == ["manifest.sig"]


def test_a_replaced_signature_is_named(copy: Path, tmp_path: Path, other_key: SigningKey) -> None:
    resigned = rezip(copy, tmp_path / "resigned.zip",
                     replace={"manifest.sig": other_key.sign(_read(copy, "manifest.json"))})
    [finding] = _findings(resigned)
    assert finding.subject == "manifest.sig"


def test_a_package_resigned_with_another_key_fails_against_the_trusted_one(copy: Path, tmp_path: Path,
                                                                          signing_key: SigningKey,
                                                                          other_key: SigningKey) -> None:
    manifest = json.loads(_read(copy, "manifest.json"))
    manifest["signing_key"]["fingerprint"] = other_key.fingerprint
    data = json.dumps(manifest, indent=2).encode()
    forged = rezip(copy, tmp_path / "forged.zip", replace={
        "manifest.json": data, "manifest.sig": other_key.sign(data),
        "public_key.pem": public_key_pem(other_key.public_bytes)})
    assert verify_package(forged).intact  # self-consistent: only a trust anchor tells
    findings = _findings(forged, TrustAnchor.from_fingerprint(signing_key.fingerprint))
    assert [(f.subject, f.expected, f.actual) for f in findings] == \
        [("public_key.pem", signing_key.fingerprint, other_key.fingerprint)]
    findings = _findings(forged, TrustAnchor(public_bytes=signing_key.public_bytes))
    assert [f.subject for f in findings] == ["public_key.pem", "manifest.sig"]


def test_a_removed_file_is_named(copy: Path, tmp_path: Path) -> None:
    name = _clip(copy)
    [finding] = _findings(rezip(copy, tmp_path / "removed.zip", drop=(name,)))
    assert finding.subject == name and "missing from the package" in finding.problem


def test_an_added_file_is_named(copy: Path, tmp_path: Path) -> None:
    [finding] = _findings(rezip(copy, tmp_path / "added.zip", add={"extra.mp4": b"not evidence"}))
    assert finding.subject == "extra.mp4" and "not listed" in finding.problem


def test_an_added_file_in_a_directory_is_named(copy: Path, tmp_path: Path) -> None:
    directory = unpack(copy, tmp_path / "unpacked")
    (directory / "notes.txt").write_text("added")
    (directory / "sub").mkdir()
    assert sorted(f.subject for f in _findings(directory)) == ["notes.txt", "sub/"]


def test_a_duplicated_entry_is_named(copy: Path, tmp_path: Path) -> None:
    name = _clip(copy)
    with zipfile.ZipFile(copy, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr(name, b"a second copy that a player might pick")
    subjects = [f.subject for f in _findings(copy)]
    assert name in subjects


def test_missing_manifest_signature_and_key_are_each_named(copy: Path, tmp_path: Path) -> None:
    stripped = rezip(copy, tmp_path / "stripped.zip", drop=("manifest.json", "manifest.sig", "public_key.pem"))
    findings = _findings(stripped)
    assert [(f.subject, f.problem) for f in findings] == [
        ("manifest.json", "missing from the package"), ("manifest.sig", "missing from the package"),
        ("public_key.pem", "missing from the package")]


def test_a_truncated_signature_and_a_broken_manifest_are_named(copy: Path, tmp_path: Path) -> None:
    broken = rezip(copy, tmp_path / "broken.zip", replace={"manifest.sig": b"short", "manifest.json": b"{"})
    findings = _findings(broken)
    assert [f.subject for f in findings] == ["manifest.sig", "manifest.json"]
    assert findings[0].actual == "5 bytes" and "not UTF-8 JSON" in findings[1].problem


def test_unreadable_input_raises(tmp_path: Path) -> None:
    with pytest.raises(PackageUnreadable, match="no such file"):
        verify_package(tmp_path / "nothing.zip")
    (tmp_path / "junk.zip").write_bytes(b"this is not a zip")
    with pytest.raises(PackageUnreadable, match="not a readable zip"):
        verify_package(tmp_path / "junk.zip")


def test_trust_anchors_are_parsed_strictly(tmp_path: Path, signing_key: SigningKey) -> None:
    for form in (public_key_pem(signing_key.public_bytes), signing_key.public_bytes,
                 signing_key.public_bytes.hex().encode()):
        (tmp_path / "key").write_bytes(form)
        assert TrustAnchor.from_key_file(tmp_path / "key").public_bytes == signing_key.public_bytes
    with pytest.raises(TrustAnchorError):
        TrustAnchor.from_fingerprint("abc")
    (tmp_path / "key").write_bytes(b"garbage")
    with pytest.raises(TrustAnchorError):
        TrustAnchor.from_key_file(tmp_path / "key")
