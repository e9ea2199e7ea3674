"""Device → platform MESSAGE and NOTIFY: keepalives, query answers, catalog changes, alarms."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from clearsight.gb28181.commander import DeviceCommander
from clearsight.gb28181.manscdp import (
    CatalogItem,
    ManscdpError,
    ManscdpMessage,
    RootKind,
    parse_catalog_response,
    parse_manscdp,
)
from clearsight.gb28181.presence import PresenceTracker
from clearsight.sip.endpoint import IncomingRequest
from clearsight.sip.errors import SipParseError

logger = logging.getLogger(__name__)

CatalogEventsHandler = Callable[[str, list[CatalogItem]], Awaitable[None]]


class MessageRouter:
    def __init__(self, *, presence: PresenceTracker, commander: DeviceCommander,
                 clock: Callable[[], datetime], on_catalog_events: CatalogEventsHandler) -> None:
        self._presence = presence
        self._commander = commander
        self._clock = clock
        self._on_catalog_events = on_catalog_events

    async def handle(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            device_id = request.from_addr.uri.user or ""
        except SipParseError as exc:
            await incoming.respond(400, f"Bad From: {exc.reason}")
            return
        try:
            message = parse_manscdp(request.body)
        except ManscdpError as exc:
            logger.warning("device %s sent an unreadable %s body: %s", device_id, request.method, exc)
            await incoming.respond(400, "Bad MANSCDP body")
            return
        cmd = message.cmd_type.lower()
        if message.root_kind is RootKind.NOTIFY and cmd == "keepalive":
            await self._keepalive(incoming, device_id)
            return
        if not self._presence.is_online(device_id) and not self._commander.has_catalog_wait(device_id, message.sn):
            # GB28181.md: a device that is not registered is told so and re-registers.
            logger.info("%s %s from unregistered device %s refused", request.method, message.cmd_type, device_id)
            await incoming.respond(403, "Not registered")
            return
        await incoming.respond(200)
        if cmd == "catalog" and (message.root_kind is RootKind.NOTIFY or not self._commander.on_response(
                device_id, message)):
            await self._catalog_events(device_id, message)
        elif message.root_kind is RootKind.RESPONSE:
            if not self._commander.on_response(device_id, message):
                logger.info("device %s: unsolicited %s response SN %d ignored", device_id, message.cmd_type,
                            message.sn)
        elif cmd in ("alarm", "mobileposition"):
            logger.info("device %s: %s notification (SN %d)", device_id, message.cmd_type, message.sn)
        else:
            logger.debug("device %s: %s %s not handled", device_id, message.root_kind.value, message.cmd_type)

    async def _keepalive(self, incoming: IncomingRequest, device_id: str) -> None:
        peer = incoming.peer
        if self._presence.keepalive(device_id, peer, self._clock()):
            await incoming.respond(200)
        else:
            await incoming.respond(403, "Not registered")

    async def _catalog_events(self, device_id: str, message: ManscdpMessage) -> None:
        try:
            chunk = parse_catalog_response(message)
        except ManscdpError as exc:
            logger.warning("device %s: unreadable catalog notification: %s", device_id, exc)
            return
        events = [item for item in chunk.items if item.event]
        if not events:
            logger.info("device %s: catalog message SN %d with no events and no query waiting", device_id,
                        message.sn)
            return
        await self._on_catalog_events(device_id, events)
