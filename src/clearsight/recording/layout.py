"""How recordings are laid out under a storage root, and reading the facts back from a file's name.

    <root>/<channel_id>/<YYYYMMDD>/<YYYYMMDD>T<HHMMSS>_<mmm>Z_<channel_gb_id>.mp4   a segment (fMP4)
    <root>/<channel_id>/<YYYYMMDD>/thumbs/<HHMMSS>_<mmm>.jpg                       a thumbnail

Dates and times are UTC: the segment's start and the thumbnail's moment. A segment's name carries everything
its index row needs besides what the file itself tells (channel, GB ID, start), so start-up repair can index
a file whose row was never written. Paths in the index are relative to the root and use '/'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEGMENT_SUFFIX = ".mp4"
THUMBNAIL_SUFFIX = ".jpg"
THUMBNAIL_DIR = "thumbs"
_SEGMENT_NAME = re.compile(r"^(\d{8})T(\d{6})_(\d{3})Z_(\d{1,20})\.mp4$")
_THUMBNAIL_NAME = re.compile(r"^(\d{6})_(\d{3})\.jpg$")


@dataclass(frozen=True, slots=True)
class SegmentName:
    channel_id: int
    channel_gb_id: str
    start_at: datetime


def day_dir(channel_id: int, at: datetime) -> str:
    return f"{channel_id}/{at.astimezone(UTC):%Y%m%d}"


def segment_path(channel_id: int, channel_gb_id: str, start_at: datetime) -> str:
    at = start_at.astimezone(UTC)
    return f"{day_dir(channel_id, at)}/{at:%Y%m%dT%H%M%S}_{at.microsecond // 1000:03d}Z_{channel_gb_id}{SEGMENT_SUFFIX}"


def parse_segment_path(path: str) -> SegmentName | None:
    """The facts in a segment's relative path; None when it is not one of ours."""
    parts = path.split("/")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    match = _SEGMENT_NAME.match(parts[2])
    if match is None or match.group(1) != parts[1]:
        return None
    day, clock, millis, gb_id = match.groups()
    try:
        start = datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SegmentName(int(parts[0]), gb_id, start + timedelta(milliseconds=int(millis)))


def thumbnail_path(channel_id: int, at: datetime) -> str:
    moment = at.astimezone(UTC)
    name = f"{moment:%H%M%S}_{moment.microsecond // 1000:03d}{THUMBNAIL_SUFFIX}"
    return f"{day_dir(channel_id, moment)}/{THUMBNAIL_DIR}/{name}"


def parse_thumbnail_name(day: str, name: str) -> datetime | None:
    """The moment of a thumbnail file `name` in the day directory `day` (YYYYMMDD)."""
    match = _THUMBNAIL_NAME.match(name)
    if match is None:
        return None
    try:
        moment = datetime.strptime(day + match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment + timedelta(milliseconds=int(match.group(2)))
