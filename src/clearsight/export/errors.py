"""What can go wrong with an export, carrying what went wrong."""

from __future__ import annotations

from pathlib import Path


class ExportError(Exception):
    """An export could not be built; the message says why and ends up in the export's `detail`."""


class ExportCancelled(ExportError):
    """The platform is stopping; the export goes back to pending and runs again at the next start."""

    def __init__(self, export_id: str) -> None:
        super().__init__(f"export {export_id}: interrupted because the platform is stopping")
        self.export_id = export_id


class SegmentUnreadable(ExportError):
    """A segment file is missing or is not the fragmented MP4 its row says it is."""

    def __init__(self, segment_id: int, reason: str) -> None:
        super().__init__(f"segment {segment_id}: {reason}")
        self.segment_id = segment_id
        self.reason = reason


class PackageUnreadable(Exception):
    """The path given to the verifier is not a package that can be opened at all (exit status 2)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
