"""Where recordings are: the recorder's storage paths (`CLEARSIGHT_RECORDING_PATHS`) as name → root directory.

Parsing is the recorder's (`clearsight.recording.storage.parse_storage_paths`), so both agree on every path;
the exporter needs only the roots, not the quotas.
"""

from __future__ import annotations

from pathlib import Path

from clearsight.recording.storage import parse_storage_paths


def storage_roots(recording_paths: str, data_dir: Path) -> dict[str, Path]:
    """Storage name → root directory (raises `StorageSpecError` for a setting the recorder refuses)."""
    return {path.name: path.root for path in parse_storage_paths(recording_paths, data_dir)}
