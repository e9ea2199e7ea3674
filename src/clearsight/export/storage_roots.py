"""Where the recording storage roots are: `CLEARSIGHT_RECORDING_PATHS` parsed for the exporter's needs.

Only the name → directory mapping matters here (quotas are the recorder's business). This is a private
parser of the setting's documented form, `NAME=PATH[:QUOTA]` entries separated by commas, kept until the
recorder's own parser (`clearsight.recording.storage`) is available to share.
"""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_STORAGE_NAME = "default"  # the one root used when the setting is empty
DEFAULT_STORAGE_DIR = "recordings"  # under the data directory
_QUOTA_SUFFIX = re.compile(r":\s*\d+(?:\.\d+)?\s*[KMGT]?(?:i?B)?$", re.IGNORECASE)


class StorageRootsError(ValueError):
    """The setting is not a list of NAME=PATH[:QUOTA] entries."""


def storage_roots(recording_paths: str, data_dir: Path) -> dict[str, Path]:
    """Storage name → root directory; a relative PATH is taken relative to the data directory."""
    entries = [entry.strip() for entry in recording_paths.split(",") if entry.strip()]
    if not entries:
        return {DEFAULT_STORAGE_NAME: data_dir / DEFAULT_STORAGE_DIR}
    roots: dict[str, Path] = {}
    for entry in entries:
        name, sep, rest = entry.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise StorageRootsError(f"recording path entry {entry!r} is not NAME=PATH[:QUOTA]")
        root = Path(_QUOTA_SUFFIX.sub("", rest.strip()))
        roots[name.strip()] = root if root.is_absolute() else data_dir / root
    return roots
