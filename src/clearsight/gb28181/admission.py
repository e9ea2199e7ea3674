"""Which devices may register: those in the registry, and unknown ones as `CLEARSIGHT_UNKNOWN_DEVICES` says.

- `accept`: an unknown device that passes digest authentication (with the default device password) is
  added to the registry, as before this setting existed. The default (docs/sip-security.md says why).
- `reject`: an unknown device is answered `403` before any challenge.
- `hold`: likewise `403`, and its ID, source address, user agent, first and last attempt and number of
  attempts are kept as *pending* for an administrator to approve (it registers normally at its next
  REGISTER, with the password set at approval or the default) or reject.

A rejected ID is refused under every setting until approved. "In the registry" means a `devices` row:
found ones are remembered, so a registered device costs no query; `forget` drops one (device deleted).
The pending list is capped (`max_pending`): beyond it new IDs are refused without being kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError

from clearsight.gb28181.ids import GB_ID_LENGTH, LEGACY_GB_ID_LENGTH
from clearsight.registry.admission_store import AdmissionRecord, AdmissionState, AdmissionStore, RegisterAttempt
from clearsight.sip.interval_log import IntervalLog
from clearsight.sip.transport import Peer

logger = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 1000  # held device IDs kept at once; a flood of invented IDs stops here
LOG_INTERVAL = 60.0  # a refused device ID is logged at most this often


class UnknownDevicePolicy(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    HOLD = "hold"


@dataclass(slots=True)
class AdmissionCounts:
    """Totals since start, read by the metrics collector."""

    refused_unknown: int = 0  # unknown devices answered 403 (reject, hold, or the pending list full)
    refused_rejected: int = 0  # rejected devices answered 403
    held: int = 0  # devices newly put on the pending list
    approved: int = 0
    rejected: int = 0


def plausible_device_id(device_id: str) -> bool:
    return device_id.isascii() and device_id.isdigit() and len(device_id) in (GB_ID_LENGTH, LEGACY_GB_ID_LENGTH)


class DeviceAdmission:
    """The registrar's admission check and the administrators' pending list (`api.ports.DeviceAdmissionPort`)."""

    def __init__(self, store: AdmissionStore, policy: UnknownDevicePolicy, *, clock: Callable[[], datetime],
                 set_password: Callable[[str, str | None], None] | None = None,
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._store = store
        self.policy = policy
        self._clock = clock
        self._set_password = set_password
        self._max_pending = max_pending
        self._registered: set[str] = set()  # device IDs known to have a devices row
        self._states: dict[str, AdmissionState] = {}  # pending and rejected device IDs
        self._log = IntervalLog(logger, LOG_INTERVAL)
        self.counts = AdmissionCounts()

    @property
    def pending_count(self) -> int:
        return sum(1 for state in self._states.values() if state is AdmissionState.PENDING)

    async def load(self) -> None:
        """Read the pending and rejected IDs (at start)."""
        self._states = await self._store.states()

    async def admits(self, device_id: str, peer: Peer, user_agent: str | None) -> bool:
        """May this REGISTER go on to authentication? Records the attempt of a held or rejected device."""
        state = self._states.get(device_id)
        if state is None and (device_id in self._registered or self.policy is UnknownDevicePolicy.ACCEPT):
            return True
        if state is None and await self._is_registered(device_id):
            return True
        if state is AdmissionState.REJECTED:
            self.counts.refused_rejected += 1
            self._log.warning(device_id, "device %s from %s refused: it was rejected", device_id, peer)
            await self._record(device_id, peer, user_agent)
            return False
        self.counts.refused_unknown += 1
        if self.policy is UnknownDevicePolicy.REJECT:
            self._log.warning(device_id, "device %s from %s refused: not in the registry "
                              "(CLEARSIGHT_UNKNOWN_DEVICES=reject)", device_id, peer)
            return False
        if state is None:
            if not plausible_device_id(device_id):
                self._log.warning(device_id, "device %s from %s refused: not a GB ID, not held", device_id, peer)
                return False
            if self.pending_count >= self._max_pending:
                self._log.warning("pending-full", "device %s from %s refused and not held: %d devices already "
                                  "await approval", device_id, peer, self._max_pending)
                return False
            self.counts.held += 1
            logger.warning("device %s from %s (%s) is not in the registry: held for approval", device_id, peer,
                           user_agent or "no User-Agent")
        if await self._record(device_id, peer, user_agent):
            self._states[device_id] = AdmissionState.PENDING
        return False

    def registered(self, device_id: str) -> None:
        """The device registered (its row is being written)."""
        self._registered.add(device_id)

    def forget(self, device_id: str) -> None:
        """The device's row was deleted: its next REGISTER is checked again."""
        self._registered.discard(device_id)

    async def list_admissions(self, state: AdmissionState | None = None) -> Sequence[AdmissionRecord]:
        return await self._store.list_admissions(state)

    async def get(self, device_id: str) -> AdmissionRecord | None:
        return await self._store.get(device_id)

    async def approve(self, device_id: str, password: str | None) -> AdmissionRecord | None:
        """Admit a held or rejected device (with its own password, or the default); None: not held or rejected."""
        record = await self._store.approve(device_id, password, self._clock())
        if record is None:
            return None
        self._states.pop(device_id, None)
        self._registered.add(device_id)
        if self._set_password is not None:
            self._set_password(device_id, password)
        self.counts.approved += 1
        logger.info("device %s approved (was %s)", device_id, record.state)
        return record

    async def reject(self, device_id: str, by: str) -> AdmissionRecord | None:
        """Refuse a held device for good; None: not held or rejected."""
        record = await self._store.reject(device_id, by, self._clock())
        if record is None:
            return None
        self._states[device_id] = AdmissionState.REJECTED
        self.counts.rejected += 1
        logger.info("device %s rejected by %s", device_id, by)
        return record

    async def _is_registered(self, device_id: str) -> bool:
        try:
            found = await self._store.is_registered(device_id)
        except SQLAlchemyError:
            logger.exception("device %s: cannot read the registry; refused for now", device_id)
            return False
        if found:
            self._registered.add(device_id)
        return found

    async def _record(self, device_id: str, peer: Peer, user_agent: str | None) -> bool:
        attempt = RegisterAttempt(device_id, peer.transport, peer.host, peer.port, user_agent, self._clock())
        try:
            await self._store.record_attempt(attempt)
        except SQLAlchemyError:
            logger.exception("device %s: its registration attempt could not be recorded", device_id)
            return False
        return True
