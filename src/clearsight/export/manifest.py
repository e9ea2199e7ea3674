"""The package's manifest: what was exported, by whom and why, and the SHA-256 of every file.

`manifest.json` is UTF-8 JSON; `manifest.sig` is the raw 64-byte Ed25519 signature over its exact bytes
(so nothing needs canonicalising); `public_key.pem` is the signing key (SubjectPublicKeyInfo), whose
fingerprint (SHA-256 of the raw 32-byte key, hex) the manifest names. The verifier needs only the names,
sizes and hashes under "files" and the fingerprint; the rest is for the people reading the evidence.

Privacy masks: each channel lists its enabled masks (`privacy_masks`: ID, name, polygon and the SHA-256 of
the polygon as `clearsight.privacy.polygon_digest` computes it) and whether the exporter could lift them
(`privacy_masks_lifted`); each file lists the IDs of the masks burnt into it (`privacy_masks`, empty when
none were: lifted, or the channel has none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clearsight.export.channel_cut import ChannelCut, ClipFile
from clearsight.export.coverage import Span
from clearsight.export.records import ExportJob, instant_at
from clearsight.privacy.polygon import polygon_json
from clearsight.privacy.records import AppliedMask

FORMAT = "clearsight-export"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
PUBLIC_KEY_NAME = "public_key.pem"
RESERVED_NAMES = frozenset({MANIFEST_NAME, SIGNATURE_NAME, PUBLIC_KEY_NAME})
SIGNATURE_ALGORITHM = "Ed25519"  # RFC 8032, pure (no pre-hash)


class ManifestInvalid(ValueError):
    """manifest.json is not a manifest this verifier understands; the message says where."""


@dataclass(frozen=True, slots=True)
class ListedFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    export_id: str
    platform_id: str
    created_by: str
    reason: str
    start: str
    end: str
    fingerprint: str
    files: tuple[ListedFile, ...]


def iso(instant: datetime) -> str:
    """UTC to the millisecond with a Z: 2026-05-01T12:00:00.000Z."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _span(job: ExportJob, span: Span) -> dict[str, str]:
    return {"start": iso(instant_at(job.start, span.start)), "end": iso(instant_at(job.start, span.end))}


def _file_entry(job: ExportJob, cut: ChannelCut, clip: ClipFile, size: int, sha256: str) -> dict[str, Any]:
    gaps = [g for g in cut.gaps if clip.covered.start < g.start and g.end < clip.covered.end]
    return {
        "name": clip.name,
        "channel_id": cut.plan.channel.id,
        "gb_id": cut.plan.channel.gb_id,
        "covered": _span(job, clip.covered),
        "gaps": [_span(job, gap) for gap in gaps],
        "size": size,
        "sha256": sha256,
        "watermark": job.watermark,
        "privacy_masks": [mask.id for mask in cut.plan.applied_masks],
        "codec": clip.codec,
        "width": clip.width,
        "height": clip.height,
        "frames": clip.frames,
        "sources": [{"segment_id": s.segment_id, "start": iso(s.start_at), "end": iso(s.end_at),
                     "sha256": s.sha256, "integrity": s.integrity} for s in clip.sources],
    }


def _mask_entry(mask: AppliedMask) -> dict[str, Any]:
    return {"id": mask.id, "name": mask.name, "polygon": polygon_json(mask.polygon),
            "polygon_sha256": mask.polygon_sha256}


def build_manifest(job: ExportJob, cuts: list[ChannelCut], digests: dict[str, tuple[int, str]],
                   fingerprint: str) -> dict[str, Any]:
    """The manifest as a JSON object; `digests` maps each clip's name to its (size, SHA-256)."""
    channels, files = [], []
    for cut in cuts:
        channel = cut.plan.channel
        channels.append({
            "channel_id": channel.id,
            "gb_id": channel.gb_id,
            "name": channel.name,
            "device_id": channel.device_id,
            "covered": _span(job, cut.covered) if cut.covered is not None else None,
            "gaps": [_span(job, gap) for gap in cut.gaps],
            "files": [clip.name for clip in cut.clips],
            "problems": list(cut.problems),
            "privacy_masks": [_mask_entry(mask) for mask in cut.plan.masks],
            "privacy_masks_lifted": cut.plan.masks_lifted and bool(cut.plan.masks),
        })
        files += [_file_entry(job, cut, clip, *digests[clip.name]) for clip in cut.clips]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "platform_id": job.platform_id,
        "export_id": job.export_id,
        "created_at": iso(job.created_at),
        "created_by": job.created_by,
        "reason": job.reason,
        "range": {"start": iso(job.start), "end": iso(job.end)},
        "watermark": job.watermark,
        "signing_key": {"algorithm": SIGNATURE_ALGORITHM, "fingerprint": fingerprint, "file": PUBLIC_KEY_NAME},
        "channels": channels,
        "files": files,
    }


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ManifestInvalid(f"{where}{name}: expected {kind.__name__}, got {json.dumps(value)}")
    return value


def parse_manifest(data: bytes) -> ParsedManifest:
    """What verification needs from manifest.json; raises `ManifestInvalid` naming the first bad field."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ManifestInvalid("not a JSON object")
    if obj.get("format") != FORMAT or obj.get("format_version") != FORMAT_VERSION:
        raise ManifestInvalid(f"format {obj.get('format')!r} version {obj.get('format_version')!r}; "
                              f"this verifier reads {FORMAT!r} version {FORMAT_VERSION}")
    key = _field(obj, "signing_key", dict, "")
    time_range = _field(obj, "range", dict, "")
    files = []
    for index, entry in enumerate(_field(obj, "files", list, "")):
        where = f"files[{index}]."
        if not isinstance(entry, dict):
            raise ManifestInvalid(f"files[{index}]: expected object")
        files.append(ListedFile(_field(entry, "name", str, where), _field(entry, "size", int, where),
                                _field(entry, "sha256", str, where).lower()))
    return ParsedManifest(_field(obj, "export_id", str, ""), _field(obj, "platform_id", str, ""),
                          _field(obj, "created_by", str, ""), _field(obj, "reason", str, ""),
                          _field(time_range, "start", str, "range."), _field(time_range, "end", str, "range."),
                          _field(key, "fingerprint", str, "signing_key.").lower(), tuple(files))
