"""Which devices are online, kept in memory so that a keepalive costs no database write.

Online/offline changes and registration changes are marked urgent and flushed at once by the caller's
flusher; plain keepalive timestamps are flushed in batches (see `PresenceFlusher`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)

# GB/T 28181-2016 §9.6: a device is offline after three missed keepalives.
KEEPALIVE_MISSES_BEFORE_OFFLINE = 3


@dataclass(frozen=True, slots=True)
class DevicePeer:
    """Where a device's SIP requests come from, and so where ours must go."""

    transport: str
    host: str
    port: int


@dataclass(slots=True)
class DevicePresence:
    device_id: str
    peer: DevicePeer
    online: bool
    registered_at: datetime
    expires_at: datetime
    last_keepalive: datetime | None = None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """One device's state to persist. `registration` is set when the registration itself changed."""

    device_id: str
    online: bool
    last_keepalive: datetime | None
    peer: DevicePeer | None = None
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

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> DevicePresence | None:
        return self._devices.get(device_id)

    def online_count(self) -> int:
        return sum(1 for d in self._devices.values() if d.online)

    def is_online(self, device_id: str) -> bool:
        presence = self._devices.get(device_id)
        return presence is not None and presence.online

    def registered(self, device_id: str, peer: DevicePeer, expires: int, now: datetime) -> bool:
        """Record a successful REGISTER; returns True when the device was not online before."""
        presence = self._devices.get(device_id)
        came_online = presence is None or not presence.online
        expires_at = now + timedelta(seconds=expires)
        if presence is None:
            presence = DevicePresence(device_id, peer, True, now, expires_at, now)
            self._devices[device_id] = presence
        else:
            if presence.peer != peer:
                logger.info("device %s moved from %s to %s", device_id, presence.peer, peer)
            presence.peer = peer
            presence.online = True
            presence.expires_at = expires_at
            presence.last_keepalive = now
            if came_online:
                presence.registered_at = now
        self._urgent.add(device_id)
        return came_online

    def unregistered(self, device_id: str) -> bool:
        """Record `Expires: 0`; returns True when the device was online."""
        presence = self._devices.get(device_id)
        if presence is None or not presence.online:
            return False
        presence.online = False
        self._urgent.add(device_id)
        return True

    def keepalive(self, device_id: str, peer: DevicePeer, now: datetime) -> bool:
        """Record a keepalive; False when the device is not registered (it must register again)."""
        presence = self._devices.get(device_id)
        if presence is None or not presence.online or now >= presence.expires_at:
            return False
        presence.last_keepalive = now
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
        for presence in self._devices.values():
            if not presence.online:
                continue
            last = presence.last_keepalive or presence.registered_at
            if now >= presence.expires_at or now - last >= self._keepalive_timeout:
                presence.online = False
                self._urgent.add(presence.device_id)
                gone.append(presence.device_id)
        for device_id in gone:
            logger.info("device %s offline (no keepalive or registration expired)", device_id)
        return gone

    def has_urgent(self) -> bool:
        return bool(self._urgent)

    def drain(self, *, include_keepalives: bool) -> list[PresenceChange]:
        """Changes to persist: the urgent ones, plus keepalive timestamps when asked."""
        ids = set(self._urgent)
        self._urgent.clear()
        if include_keepalives:
            ids |= self._keepalive_dirty
            self._keepalive_dirty.clear()
        else:
            self._keepalive_dirty -= ids
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
