"""Building one export package (blocking: runs in a worker thread, never on the event loop).

Clips are written into a private work directory next to the packages, hashed, described in the manifest,
which is signed; then everything goes into `clearsight-export-<id>.zip` (stored, not deflated: video does not
compress), written under a temporary name and renamed into place, so a package that exists is complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from clearsight.export.channel_cut import ChannelCut, ChannelCutter
from clearsight.export.digests import file_digest
from clearsight.export.errors import ExportCancelled
from clearsight.export.manifest import (
    MANIFEST_NAME,
    PUBLIC_KEY_NAME,
    SIGNATURE_NAME,
    build_manifest,
    encode_manifest,
)
from clearsight.export.records import BuiltPackage, ExportJob
from clearsight.signing import SigningKey

logger = logging.getLogger(__name__)

PACKAGE_PREFIX = "clearsight-export-"
WORKDIR_PREFIX = ".work-"
PACKAGE_MODE = 0o640  # evidence: readable by the platform's user and group only
WORKDIR_MODE = 0o700


def package_name(export_id: str) -> str:
    return f"{PACKAGE_PREFIX}{export_id}.zip"


def public_key_pem(public_bytes: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public_bytes).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def build_package(job: ExportJob, exports_dir: Path, key: SigningKey,
                  cancel: threading.Event | None = None) -> BuiltPackage:
    """Cut every channel, sign the manifest, write the zip; raises `ExportCancelled` when `cancel` is set."""
    cancel = cancel or threading.Event()
    exports_dir.mkdir(parents=True, exist_ok=True)
    workdir = exports_dir / f"{WORKDIR_PREFIX}{job.export_id}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(mode=WORKDIR_MODE)
    try:
        taken: set[str] = set()
        cuts: list[ChannelCut] = []
        for plan in job.channels:
            cuts.append(ChannelCutter(job, plan, workdir, cancel, taken).run())
        if cancel.is_set():
            raise ExportCancelled(job.export_id)
        digests = {clip.name: file_digest(clip.path) for cut in cuts for clip in cut.clips}
        manifest = encode_manifest(build_manifest(job, cuts, digests, key.fingerprint))
        target = exports_dir / package_name(job.export_id)
        _write_zip(target, manifest, key, [(clip.name, clip.path) for cut in cuts for clip in cut.clips])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    gaps = sum(len(cut.gaps) for cut in cuts)
    problems = sum(len(cut.problems) for cut in cuts)
    summary = f"{len(digests)} file(s) for {len(cuts)} channel(s), {gaps} gap(s)"
    if problems:
        summary += f", {problems} problem(s) with recorded segments (see the manifest)"
    size = target.stat().st_size
    logger.info("export %s: package %s written (%d bytes): %s", job.export_id, target, size, summary)
    return BuiltPackage(target, size, len(digests), gaps, summary)


def _write_zip(target: Path, manifest: bytes, key: SigningKey, clips: list[tuple[str, Path]]) -> None:
    partial = target.with_name(f".{target.name}.part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            archive.writestr(MANIFEST_NAME, manifest)
            archive.writestr(SIGNATURE_NAME, key.sign(manifest))
            archive.writestr(PUBLIC_KEY_NAME, public_key_pem(key.public_bytes))
            for name, path in clips:
                archive.write(path, name)
        os.chmod(partial, PACKAGE_MODE)
        with partial.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
