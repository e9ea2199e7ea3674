"""Recording: channels' hub streams written to fMP4 segment files with an index, retention, repair, thumbnails.

Modules, one job each: `storage` (storage paths, quotas, free space), `layout` (file names), `segment_writer`
(hub items → files), `fmp4_scan` (reading a file's fragments back), `store` (the index tables), `policy`
(continuous / scheduled / none), `recorder` (one channel), `retention`, `repair`, `thumbnails`, and
`service` (all of it, started by the server). Only the light value modules are re-exported here; import
`clearsight.recording.service` for the service.
"""

from clearsight.recording.policy import InvalidPolicy, RecordingMode, RecordingPolicy, ScheduleWindow
from clearsight.recording.records import GapRecord, LegalHoldRecord, SegmentRecord, SegmentState, Timeline, TimeRange
from clearsight.recording.storage import StoragePath, StorageSpecError, parse_storage_paths

__all__ = [
    "GapRecord",
    "InvalidPolicy",
    "LegalHoldRecord",
    "RecordingMode",
    "RecordingPolicy",
    "ScheduleWindow",
    "SegmentRecord",
    "SegmentState",
    "StoragePath",
    "StorageSpecError",
    "TimeRange",
    "Timeline",
    "parse_storage_paths",
]
