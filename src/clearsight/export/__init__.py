"""Evidence export: a time range of channels as MP4 files in a signed package, and its offline verification."""

from clearsight.export.builder import build_package
from clearsight.export.errors import ExportCancelled, ExportError, PackageUnreadable
from clearsight.export.records import ExportJob, ExportPage, ExportRecord, ExportState
from clearsight.export.runner import ExportRunner
from clearsight.export.storage_roots import storage_roots
from clearsight.export.store import ExportStore
from clearsight.export.verify import TrustAnchor, VerificationReport, verify_package

__all__ = [
    "ExportCancelled",
    "ExportError",
    "ExportJob",
    "ExportPage",
    "ExportRecord",
    "ExportRunner",
    "ExportState",
    "ExportStore",
    "PackageUnreadable",
    "TrustAnchor",
    "VerificationReport",
    "build_package",
    "storage_roots",
    "verify_package",
]
