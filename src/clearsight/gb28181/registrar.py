"""REGISTER handling: digest challenge, verification, registration refresh and unregistration.

GB/T 28181-2016 §9.1: 401 with a digest challenge, then 200 with a `Date` header the device sets its
clock from, 403 on wrong credentials, 400 without Expires, `Expires: 0` unregisters.

Before any challenge, `DeviceAdmission` decides whether the device may register at all (unknown and
rejected devices get 403); failed authentications are reported to `on_auth_failed` (the brute-force
guard). REGISTER floods are turned away earlier, by the endpoint's gate (`RegisterLimiter`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from clearsight.gb28181.admission import DeviceAdmission
from clearsight.gb28181.presence import PresenceTracker
from clearsight.sip.address import NameAddress
from clearsight.sip.digest import DigestAuthenticator, DigestError, DigestVerdict, parse_credentials
from clearsight.sip.endpoint import IncomingRequest
from clearsight.sip.errors import SipParseError
from clearsight.sip.transport import Peer

logger = logging.getLogger(__name__)

# Registration intervals we accept; devices asking for more get the maximum (RFC 3261 §10.3 step 7).
MIN_EXPIRES = 60
MAX_EXPIRES = 86400

PasswordLookup = Callable[[str], str]
OnlineCallback = Callable[[str], Awaitable[None]]
AuthFailureCallback = Callable[[Peer], None]


@dataclass(frozen=True, slots=True)
class RegistrationOutcome:
    device_id: str
    status: int
    came_online: bool = False
    went_offline: bool = False


def requested_expires(incoming_expires: str | None, contact: str | None) -> int | None:
    """Expires from the header, else from the Contact's `expires` parameter; None when absent/bad."""
    if incoming_expires is not None and incoming_expires.strip().isdigit():
        return int(incoming_expires.strip())
    if contact:
        try:
            value = NameAddress.parse(contact).params.get("expires")
        except SipParseError:
            return None
        if value is not None and value.isdigit():
            return int(value)
    return None


def gb_date(now: datetime, device_tz: tzinfo) -> str:
    """`Date` as GB devices expect it: local time, ISO-like with milliseconds, no zone."""
    local = now.astimezone(device_tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


class Registrar:
    """Answers REGISTER requests from devices and lower platforms."""

    def __init__(self, *, authenticator: DigestAuthenticator, passwords: PasswordLookup,
                 presence: PresenceTracker, device_tz: tzinfo, clock: Callable[[], datetime],
                 max_expires: int = MAX_EXPIRES, on_online: OnlineCallback | None = None,
                 on_offline: OnlineCallback | None = None, admission: DeviceAdmission | None = None,
                 on_auth_failed: AuthFailureCallback | None = None) -> None:
        self._auth = authenticator
        self._admission = admission
        self._on_auth_failed = on_auth_failed
        self._passwords = passwords
        self._presence = presence
        self._device_tz = device_tz
        self._clock = clock
        self._max_expires = max_expires
        self._on_online = on_online
        self._on_offline = on_offline

    async def handle(self, incoming: IncomingRequest) -> RegistrationOutcome:
        request = incoming.request
        try:
            device_id = request.from_addr.uri.user or ""
        except SipParseError as exc:
            await incoming.respond(400, f"Bad From: {exc.reason}")
            return RegistrationOutcome("", 400)
        if not device_id:
            await incoming.respond(400, "From has no device ID")
            return RegistrationOutcome(device_id, 400)
        expires = requested_expires(request.header("Expires"), request.header("Contact"))
        if expires is None:
            await incoming.respond(400, "Missing Expires")
            return RegistrationOutcome(device_id, 400)
        if self._admission is not None and not await self._admission.admits(
                device_id, incoming.peer, request.header("User-Agent")):
            await incoming.respond(403, "Forbidden (device not admitted)")
            return RegistrationOutcome(device_id, 403)

        authorization = request.header("Authorization")
        now = self._clock()
        if authorization is None:
            await self._challenge(incoming, stale=False)
            return RegistrationOutcome(device_id, 401)
        try:
            credentials = parse_credentials(authorization)
        except DigestError as exc:
            logger.warning("device %s sent an unreadable Authorization: %s", device_id, exc)
            await incoming.respond(400, "Bad Authorization")
            return RegistrationOutcome(device_id, 400)
        verdict = self._auth.verify(credentials, request.method, self._passwords(device_id), now.timestamp())
        if verdict is DigestVerdict.STALE:
            await self._challenge(incoming, stale=True)
            return RegistrationOutcome(device_id, 401)
        if verdict is DigestVerdict.FOREIGN_NONCE:
            await self._challenge(incoming, stale=False)
            return RegistrationOutcome(device_id, 401)
        if verdict is not DigestVerdict.OK:
            logger.warning("device %s from %s failed digest authentication", device_id, incoming.peer.host)
            if self._on_auth_failed is not None:
                self._on_auth_failed(incoming.peer)
            await incoming.respond(403, "Forbidden")
            return RegistrationOutcome(device_id, 403)

        peer = incoming.peer
        if expires == 0:
            went_offline = self._presence.unregistered(device_id)
            await incoming.respond(200, headers=[("Date", gb_date(now, self._device_tz)), ("Expires", "0")])
            logger.info("device %s unregistered", device_id)
            if went_offline and self._on_offline is not None:
                await self._on_offline(device_id)
            return RegistrationOutcome(device_id, 200, went_offline=went_offline)
        if expires < MIN_EXPIRES:
            await incoming.respond(423, headers=[("Min-Expires", str(MIN_EXPIRES))])
            return RegistrationOutcome(device_id, 423)
        granted = min(expires, self._max_expires)
        if self._admission is not None:
            self._admission.registered(device_id)
        came_online = self._presence.registered(device_id, peer, granted, now)
        headers = [("Date", gb_date(now, self._device_tz)), ("Expires", str(granted))]
        contact = request.header("Contact")
        if contact:
            headers.append(("Contact", contact))
        await incoming.respond(200, headers=headers)
        if came_online:
            logger.info("device %s registered from %s:%s over %s", device_id, peer.host, peer.port,
                        peer.transport)
            if self._on_online is not None:
                await self._on_online(device_id)
        return RegistrationOutcome(device_id, 200, came_online=came_online)

    async def _challenge(self, incoming: IncomingRequest, *, stale: bool) -> None:
        # MD5 first: many devices read only the first challenge; SHA-256 for those that can.
        headers = [("WWW-Authenticate", self._auth.challenge("MD5", stale=stale)),
                   ("WWW-Authenticate", self._auth.challenge("SHA-256", stale=stale))]
        await incoming.respond(401, headers=headers)
