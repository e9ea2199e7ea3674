"""What a simulated device has "recorded": every channel, without a gap, from `recorded_since` until now.

A real NVR records in files of some minutes each. The simulator pretends it recorded its test picture from
`recorded_since` (its start, or earlier when told to have a history) until this moment, in files of `segment`
seconds aligned to multiples of `segment` in Unix time (the first starts at `recorded_since`, the last is
still growing). Nothing is stored: playing back renders the picture of the instant played, so its burnt-in
clock shows the historic time (`clearsight.sim.playback`).

`RecordingArchive.record_info_bodies` answers a RecordInfo query the way devices do: the files overlapping
the queried range, in chunks of `chunk` items per MESSAGE body, each repeating SumNum; times in the device's
local time; FilePath ``<start>_<end>`` in Unix seconds like a Hikvision NVR (capture 39).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from clearsight.gb28181.manscdp import QueryRequest, RecordItem, build_record_info_response
from clearsight.gb28181.record_info import from_device_time, to_device_time
from clearsight.sim.device import SimulatedDevice

logger = logging.getLogger(__name__)

DEFAULT_SEGMENT = 600.0  # seconds per simulated file: NVRs commonly cut recordings every 10-30 minutes
DEFAULT_RECORD_CHUNK = 10  # RecordList items per MESSAGE; devices send a handful per message
RECORDED_BYTES_PER_SECOND = 40_000  # what FileSize says: about the simulator's 320x180 stream
MAX_FILES_ANSWERED = 10_000  # a query over years of 10-minute files is cut here


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One simulated file: Unix seconds, `end` > `start`."""

    start: float
    end: float


class RecordingArchive:
    """The recorded time of every channel of one simulator (they all record the same hours)."""

    def __init__(self, recorded_since: float, segment: float = DEFAULT_SEGMENT, *,
                 clock: Callable[[], float] = time.time) -> None:
        if segment <= 0:
            raise ValueError(f"segment {segment} must be positive")
        self.recorded_since = recorded_since
        self.segment = segment
        self._clock = clock

    def coverage(self) -> tuple[float, float]:
        """(first, last) recorded instant, Unix seconds."""
        return self.recorded_since, max(self.recorded_since, self._clock())

    def clip(self, start: float, end: float) -> tuple[float, float] | None:
        """The part of `start`..`end` that was recorded, or None when nothing of it was."""
        first, last = self.coverage()
        lo, hi = max(start, first), min(end, last)
        return (lo, hi) if hi > lo else None

    def files(self, start: float, end: float) -> list[RecordedFile]:
        """The files overlapping `start`..`end`, in order (at most MAX_FILES_ANSWERED)."""
        clipped = self.clip(start, end)
        if clipped is None:
            return []
        first, last = self.coverage()
        index = math.floor(clipped[0] / self.segment)
        files: list[RecordedFile] = []
        while len(files) < MAX_FILES_ANSWERED:
            file_start, file_end = max(first, index * self.segment), min(last, (index + 1) * self.segment)
            if file_start >= clipped[1]:
                break
            if file_end > file_start:
                files.append(RecordedFile(file_start, file_end))
            index += 1
        return files

    def record_items(self, device: SimulatedDevice, channel_id: str, start: float, end: float,
                     device_tz: tzinfo) -> list[RecordItem]:
        channel = device.channel(channel_id)
        if channel is None:
            return []
        items = []
        for recorded in self.files(start, end):
            begin, finish = (datetime.fromtimestamp(t, UTC) for t in (recorded.start, recorded.end))
            items.append(RecordItem(
                device_id=channel_id, start_time=to_device_time(begin, device_tz),
                end_time=to_device_time(finish, device_tz), name=channel.name,
                file_path=f"{int(recorded.start)}_{int(recorded.end)}", address=f"Simulated road {channel_id[-4:]}",
                secrecy=0, type="time", recorder_id=device.device_id,
                file_size=int((recorded.end - recorded.start) * RECORDED_BYTES_PER_SECOND)))
        return items

    def record_info_bodies(self, device: SimulatedDevice, query: QueryRequest, device_tz: tzinfo, *,
                           chunk: int = DEFAULT_RECORD_CHUNK) -> tuple[int, list[bytes]]:
        """(SumNum, the Response bodies) answering a RecordInfo query; an unreadable range answers SumNum 0."""
        start = from_device_time(query.params.get("StartTime"), device_tz)
        end = from_device_time(query.params.get("EndTime"), device_tz)
        items: list[RecordItem] = []
        if start is None or end is None:
            logger.warning("device %s: RecordInfo query with unreadable times %r..%r", device.device_id,
                           query.params.get("StartTime"), query.params.get("EndTime"))
        else:
            record_type = (query.params.get("Type") or "all").lower()
            if record_type in ("all", "time"):
                items = self.record_items(device, query.device_id, start.timestamp(), end.timestamp(), device_tz)
        size = max(1, chunk)
        parts = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        name = (device.channel(query.device_id) or device).name
        bodies = [build_record_info_response(query.sn, query.device_id, len(items), part, name=name) for part in parts]
        return len(items), bodies
