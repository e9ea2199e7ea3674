"""RecordInfo (GB/T 28181-2016 §9.7.2, appendix A.2.4.6): what a channel has recorded on its device, in UTC.

The platform asks with a ``<Query><CmdType>RecordInfo</CmdType>`` naming the channel, a StartTime and an EndTime
in the device's local time (``2024-05-04T14:43:16``, no zone) and the Type (``all``). The device answers like
Catalog: one or more ``<Response>`` MESSAGEs with the query's SN, each repeating ``SumNum`` (the total) with a
``<RecordList Num="k">`` of k items (:mod:`.manscdp_records` reads them as sent). :class:`RecordInfoAssembler`
collects one query's chunks (out of order, duplicated, some lost; the caller re-queries on a stall, as for
Catalog) and turns every item into a :class:`Recording` whose times are aware UTC.

What devices do (captures 39, 40) and what we do about it:

* Local times without a zone: read in the device's zone (`device_tz`); a time with ``Z`` or an offset is taken
  as it says. Space instead of ``T``, ``/`` instead of ``-`` and fractional seconds are accepted.
* ``FilePath`` is ``<start>_<end>`` in Unix seconds (39) or a placeholder such as ``file_path`` for every item
  (40), so it cannot tell items apart: an item is its channel, start time, type and recorder. Neither end nor
  path is part of that: the file being recorded grows between a query and its re-query (its end, and with it
  a ``<start>_<end>`` path, change), and the newer copy of an item replaces the older (as for Catalog).
* Items whose times are missing, unreadable, outside 1970-2100 or end before they start are left out and
  counted (``rejected``); they still count towards SumNum, since the device sent them.
* ``SumNum`` missing is taken as the chunk's item count; a SumNum that changes between chunks is logged and
  the largest used. No more than ``MAX_RECORDINGS`` items are kept from one query.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from clearsight.gb28181.manscdp_control import build_query
from clearsight.gb28181.manscdp_message import CmdType
from clearsight.gb28181.manscdp_records import RecordChunk, RecordItem

logger = logging.getLogger(__name__)

DEVICE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # appendix A: dateTime without zone, the device's local time
MAX_TIME_TEXT = 40  # the longest time text worth trying to read (with fraction and offset: ~32)
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100  # outside this, a device's date is garbage
MAX_RECORDINGS = 100_000  # per query: a month of 10-minute files is ~4,500 items
DEFAULT_STALL_TIMEOUT = 10.0  # seconds without a chunk before re-querying, as for Catalog


class RecordType(StrEnum):
    """The ``Type`` of a RecordInfo query and of its items (appendix A.2.4.6)."""

    ALL = "all"
    TIME = "time"  # scheduled recording
    ALARM = "alarm"
    MANUAL = "manual"


class InvalidTimeRange(ValueError):
    def __init__(self, start: datetime, end: datetime, reason: str) -> None:
        super().__init__(f"time range {start.isoformat()}..{end.isoformat()}: {reason}")
        self.start = start
        self.end = end


def to_device_time(moment: datetime, device_tz: tzinfo) -> str:
    """An aware instant as the device writes times: local to `device_tz`, no zone (naive: ValueError)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware one (UTC inside the platform)")
    return moment.astimezone(device_tz).strftime(DEVICE_TIME_FORMAT)


def from_device_time(text: str | None, device_tz: tzinfo) -> datetime | None:
    """A device's time text as aware UTC; None when it is absent or unreadable (never raises)."""
    if not text:
        return None
    value = text.strip()
    if not value or len(value) > MAX_TIME_TEXT or not value.isascii():
        return None
    value = value.replace("/", "-")
    if "T" not in value and "t" not in value:
        value = value.replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=device_tz)
    return parsed.astimezone(UTC)


def build_record_info_query(sn: int, channel_id: str, start: datetime, end: datetime, device_tz: tzinfo, *,
                            record_type: RecordType = RecordType.ALL) -> bytes:
    """The Query for a channel's recordings between two aware instants (InvalidTimeRange if end <= start)."""
    if end <= start:
        raise InvalidTimeRange(start, end, "end must be after start")
    params = {"StartTime": to_device_time(start, device_tz), "EndTime": to_device_time(end, device_tz),
              "Secrecy": "0", "Type": record_type.value}
    return build_query(CmdType.RECORD_INFO, sn, channel_id, params)


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording on the device; `start` and `end` are aware UTC."""

    channel_id: str
    start: datetime
    end: datetime
    name: str | None = None
    file_path: str | None = None
    address: str | None = None
    secrecy: int | None = None
    type: str | None = None
    recorder_id: str | None = None
    file_size: int | None = None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def recording_from_item(item: RecordItem, device_tz: tzinfo) -> Recording | None:
    """The item as a :class:`Recording`, or None (logged at DEBUG) when its times are unusable."""
    start = from_device_time(item.start_time, device_tz)
    end = from_device_time(item.end_time, device_tz)
    if start is None or end is None or end < start:
        logger.debug("record item of %s with unusable times %r..%r", item.device_id,
                     (item.start_time or "")[:MAX_TIME_TEXT], (item.end_time or "")[:MAX_TIME_TEXT])
        return None
    return Recording(item.device_id, start, end, name=item.name, file_path=item.file_path, address=item.address,
                     secrecy=item.secrecy, type=item.type, recorder_id=item.recorder_id,
                     file_size=item.file_size if item.file_size is None or item.file_size >= 0 else None)


_ItemKey = tuple[str, str, str, str]


def _key(item: RecordItem) -> _ItemKey:
    return (item.device_id, (item.start_time or "").strip(), (item.type or "").strip().lower(),
            (item.recorder_id or "").strip())


class RecordInfoAssembler:
    """Collects the RecordInfo response chunks of one query (and its re-queries) for one channel.

    The same contract as `CatalogAssembler`: complete once ``SumNum`` distinct items arrived (a first
    chunk with SumNum 0 completes at once); the caller re-queries when :meth:`is_stalled`, calls
    :meth:`mark_requery` and keeps feeding this assembler, which merges the repeated items.
    """

    def __init__(self, channel_id: str, device_tz: tzinfo, *, now: float | None = None) -> None:
        self.channel_id = channel_id
        self.device_tz = device_tz
        self._seen: set[_ItemKey] = set()
        self._recordings: dict[_ItemKey, Recording] = {}
        self._sum_num: int | None = None
        self._last_activity = now
        self.chunks_received = 0
        self.duplicate_items = 0
        self.rejected = 0
        self.dropped = 0  # beyond MAX_RECORDINGS
        self.requery_count = 0
        self._warned_other_channel = False

    @property
    def sum_num(self) -> int:
        return self._sum_num or 0

    @property
    def received(self) -> int:
        """Distinct items received, usable or not."""
        return len(self._seen)

    @property
    def complete(self) -> bool:
        return self._sum_num is not None and (self.received >= self._sum_num or self.received >= MAX_RECORDINGS)

    @property
    def recordings(self) -> list[Recording]:
        """The usable items, by start time (then end)."""
        return sorted(self._recordings.values(), key=lambda r: (r.start, r.end, r.file_path or ""))

    def add(self, chunk: RecordChunk, now: float) -> None:
        self.chunks_received += 1
        self._last_activity = now
        if self._sum_num is None:
            self._sum_num = chunk.sum_num
        elif chunk.sum_num != self._sum_num:
            logger.warning("record info of %s (SN %s): SumNum changed from %d to %d; using %d", self.channel_id,
                           chunk.sn, self._sum_num, chunk.sum_num, max(self._sum_num, chunk.sum_num))
            self._sum_num = max(self._sum_num, chunk.sum_num)
        if chunk.declared_num is not None and chunk.declared_num != len(chunk.items):
            logger.info("record info of %s (SN %s): RecordList Num=%d but %d items", self.channel_id, chunk.sn,
                        chunk.declared_num, len(chunk.items))
        for item in chunk.items:
            self._add_item(item)
        logger.debug("record info of %s (SN %s): %d/%d items after chunk %d", self.channel_id, chunk.sn,
                     self.received, self.sum_num, self.chunks_received)

    def _add_item(self, item: RecordItem) -> None:
        key = _key(item)
        if key in self._seen:
            self.duplicate_items += 1
            replaced = self._recordings.pop(key, None)
            if replaced is None:
                self.rejected -= 1  # counted again below if the newer copy is unusable too
        elif len(self._seen) >= MAX_RECORDINGS:
            self.dropped += 1
            return
        self._seen.add(key)
        if item.device_id != self.channel_id and not self._warned_other_channel:
            self._warned_other_channel = True
            logger.info("record info of %s: items name %s as their channel; kept", self.channel_id, item.device_id)
        recording = recording_from_item(item, self.device_tz)
        if recording is None:
            self.rejected += 1
        else:
            self._recordings[key] = recording

    def is_stalled(self, now: float, timeout: float = DEFAULT_STALL_TIMEOUT) -> bool:
        """True when incomplete and nothing arrived (nor was re-queried) for ``timeout`` seconds."""
        if self._last_activity is None:
            self._last_activity = now
        return not self.complete and now - self._last_activity >= timeout

    def mark_requery(self, now: float) -> None:
        self.requery_count += 1
        self._last_activity = now
        logger.info("record info of %s: re-query %d, %d of %d items so far", self.channel_id, self.requery_count,
                    self.received, self.sum_num)


@dataclass(slots=True)
class RecordInfoResult:
    """A RecordInfo query's outcome: the recordings (UTC, by start) and how complete the answer was."""

    device_id: str
    channel_id: str
    start: datetime
    end: datetime
    recordings: list[Recording] = field(default_factory=list)
    complete: bool = False
    sum_num: int = 0
    received: int = 0
    rejected: int = 0
    requeries: int = 0
    chunks: int = 0

    @classmethod
    def of(cls, device_id: str, start: datetime, end: datetime, assembler: RecordInfoAssembler) -> RecordInfoResult:
        return cls(device_id, assembler.channel_id, start, end, assembler.recordings, assembler.complete,
                   assembler.sum_num, assembler.received, assembler.rejected, assembler.requery_count,
                   assembler.chunks_received)
