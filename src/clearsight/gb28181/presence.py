"""Which devices are online, kept in memory so that a keepalive costs no database write.

Online/offline changes and registration changes are marked urgent and flushed at once by the caller's
flusher; plain keepalive timestamps are flushed in batches (see `PresenceFlusher`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clearsight.sip.transport import Peer

logger = logging.getLogger(__name__)

# GB/T 28181-2016 §9.6: a device is offline after three missed keepalives.
KEEPALIVE_MISSES_BEFORE_OFFLINE = 3


@dataclass(slots=True)
class DevicePresence:
    device_id: str
    peer: Peer
    online: bool
    registered_at: datetime
    expires_at: datetime
    last_keepalive: datetime | None = None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """One device's state to persist, with its registration (address and lifetime)."""

    device_id: str
    online: bool
    last_keepalive: datetime | None
    peer: Peer | None = None
    registered_at: datetime | None = None
    expires_at: datetime | None = None


class PresenceTracker:
    """Registrations and keepalives of every device, with offline detection.

    Time is passed in (aware UTC datetimes) so that tests and the sweep need no clock.
    """

    def __init__(self, keepalive_interval: float, misses: int = KEEPALIVE_MISSES_BEFORE_OFFLINE) -> None:
        self._keepalive_timeout = timedelta(seconds=keepalive_interval * misses)
        self._devices: dict[str, DevicePresence] = {}
        self._urgent: set[str] = set()
        self._keepalive_dirty: set[str] = set()
        self._online = 0
        # Offline deadlines in one-second buckets (a timing wheel): a keepalive moves its device to a later
        # bucket, and a sweep looks only at the buckets whose second has passed, never at every device.
        self._buckets: dict[int, set[str]] = {}
        self._bucket_of: dict[str, int] = {}
        self._swept_until: int | None = None

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> DevicePresence | None:
        return self._devices.get(device_id)

    def online_count(self) -> int:
        return self._online

    def _schedule(self, presence: DevicePresence) -> None:
        """File the device under the second in which it goes offline unless heard from again."""
        last = presence.last_keepalive or presence.registered_at
        deadline = min(last + self._keepalive_timeout, presence.expires_at)
        bucket = math.floor(deadline.timestamp())
        previous = self._bucket_of.get(presence.device_id)
        if previous == bucket:
            return
        if previous is not None:
            self._buckets[previous].discard(presence.device_id)
        self._buckets.setdefault(bucket, set()).add(presence.device_id)
        self._bucket_of[presence.device_id] = bucket

    def _unschedule(self, device_id: str) -> None:
        bucket = self._bucket_of.pop(device_id, None)
        if bucket is not None:
            self._buckets[bucket].discard(device_id)

    def _set_online(self, presence: DevicePresence, online: bool) -> None:
        if presence.online != online:
            self._online += 1 if online else -1
            presence.online = online

    def is_online(self, device_id: str) -> bool:
        presence = self._devices.get(device_id)
        return presence is not None and presence.online

    def registered(self, device_id: str, peer: Peer, expires: int, now: datetime) -> bool:
        """Record a successful REGISTER; returns True when the device was not online before."""
        presence = self._devices.get(device_id)
        came_online = presence is None or not presence.online
        expires_at = now + timedelta(seconds=expires)
        if presence is None:
            presence = DevicePresence(device_id, peer, False, now, expires_at, now)
            self._devices[device_id] = presence
        else:
            if presence.peer != peer:
                logger.info("device %s moved from %s to %s", device_id, presence.peer, peer)
            presence.peer = peer
            presence.expires_at = expires_at
            presence.last_keepalive = now
            if came_online:
                presence.registered_at = now
        self._set_online(presence, True)
        self._schedule(presence)
        self._urgent.add(device_id)
        return came_online

    def unregistered(self, device_id: str) -> bool:
        """Record `Expires: 0`; returns True when the device was online."""
        presence = self._devices.get(device_id)
        if presence is None or not presence.online:
            return False
        self._set_online(presence, False)
        self._unschedule(device_id)
        self._urgent.add(device_id)
        return True

    def keepalive(self, device_id: str, peer: Peer, now: datetime) -> bool:
        """Record a keepalive; False when the device is not registered (it must register again)."""
        presence = self._devices.get(device_id)
        if presence is None or not presence.online or now >= presence.expires_at:
            return False
        presence.last_keepalive = now
        self._schedule(presence)
        if presence.peer != peer:
            # NAT rebinding: requests to the device must follow its new source address.
            presence.peer = peer
            self._urgent.add(device_id)
        else:
            self._keepalive_dirty.add(device_id)
        return True

    def sweep(self, now: datetime) -> list[str]:
        """Mark devices offline whose keepalives stopped or whose registration expired."""
        gone: list[str] = []
        until = math.floor(now.timestamp())
        start = self._swept_until + 1 if self._swept_until is not None else min(self._buckets, default=until)
        for second in range(min(start, until + 1), until + 1):
            for device_id in self._buckets.pop(second, ()):
                self._bucket_of.pop(device_id, None)
                presence = self._devices[device_id]
                last = presence.last_keepalive or presence.registered_at
                if presence.online and (now >= presence.expires_at or now - last >= self._keepalive_timeout):
                    self._set_online(presence, False)
                    self._urgent.add(device_id)
                    gone.append(device_id)
                elif presence.online:
                    self._schedule(presence)  # due later in this second (or moved): filed again
        # The current second's bucket may hold devices due later in it: visit it again next time.
        self._swept_until = until - 1
        for device_id in gone:
            logger.info("device %s offline (no keepalive or registration expired)", device_id)
        return gone

    def has_urgent(self) -> bool:
        return bool(self._urgent)

    def drain(self, *, include_keepalives: bool, limit: int | None = None) -> list[PresenceChange]:
        """Changes to persist: the urgent ones first, then keepalive timestamps when asked; at most
        `limit` of them, so that a caller can write 100,000 in slices and let other work run between."""
        room = limit if limit is not None else len(self._urgent) + len(self._keepalive_dirty)
        ids: list[str] = []
        while self._urgent and len(ids) < room:
            device_id = self._urgent.pop()
            self._keepalive_dirty.discard(device_id)
            ids.append(device_id)
        while include_keepalives and self._keepalive_dirty and len(ids) < room:
            ids.append(self._keepalive_dirty.pop())
        changes: list[PresenceChange] = []
        for device_id in ids:
            p = self._devices[device_id]
            changes.append(PresenceChange(p.device_id, p.online, p.last_keepalive, p.peer,
                                          p.registered_at, p.expires_at))
        return changes

    def requeue(self, changes: list[PresenceChange]) -> None:
        """Put back changes whose write failed, so that nothing is lost."""
        self._urgent.update(c.device_id for c in changes if c.device_id in self._devices)


def utc_now() -> datetime:
    return datetime.now(UTC)
