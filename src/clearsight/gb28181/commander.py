"""Platform → device commands: MANSCDP queries and their (possibly chunked) answers, PTZ control.

Catalog and RecordInfo answers come in chunks; both are assembled by one re-query loop (`_query_chunked`).

A query is a MESSAGE answered `200 OK` at once; the answer itself comes later as one or more MESSAGEs
from the device carrying `<Response>` with the same SN (GB/T 28181-2016 §9.5). `MessageRouter` hands
those to `on_response`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Generic, Protocol, TypeVar

from clearsight.gb28181.catalog import CatalogAssembler
from clearsight.gb28181.errors import DeviceOffline, DeviceRejected, DeviceTimeout
from clearsight.gb28181.manscdp import (
    CatalogItem,
    ManscdpError,
    ManscdpMessage,
    build_device_control_ptz,
    build_query,
    parse_catalog_response,
    parse_record_info_response,
)
from clearsight.gb28181.presence import PresenceTracker
from clearsight.gb28181.record_info import (
    RecordInfoAssembler,
    RecordInfoResult,
    RecordType,
    build_record_info_query,
)
from clearsight.gb28181.requests import MANSCDP_CONTENT_TYPE, RequestFactory
from clearsight.sip.endpoint import Peer, SipEndpoint, TransactionTimeout

logger = logging.getLogger(__name__)

# How long a device may take to send a query's answer after its 200 OK.
RESPONSE_TIMEOUT = 10.0
# A chunked answer (Catalog, RecordInfo) that receives no chunk for this long is re-queried.
CATALOG_STALL_TIMEOUT = 5.0
# Re-queries of a stalled catalog before we keep what arrived.
CATALOG_REQUERIES = 2


@dataclass(slots=True)
class CatalogResult:
    device_id: str
    items: list[CatalogItem]
    complete: bool
    sum_num: int
    requeries: int


class _Assembly(Protocol):
    """What the re-query loop needs of a chunk assembler (`CatalogAssembler`, `RecordInfoAssembler`)."""

    @property
    def complete(self) -> bool: ...
    @property
    def received(self) -> int: ...
    @property
    def sum_num(self) -> int: ...
    @property
    def requery_count(self) -> int: ...
    def mark_requery(self, now: float) -> None: ...


_A = TypeVar("_A", bound=_Assembly)


@dataclass(slots=True)
class _ChunkWait(Generic[_A]):
    """One chunked query under way: its assembler and an event set whenever a chunk arrives."""

    assembler: _A
    progress: asyncio.Event = field(default_factory=asyncio.Event)


_CatalogWait = _ChunkWait[CatalogAssembler]
_RecordInfoWait = _ChunkWait[RecordInfoAssembler]


class DeviceCommander:
    def __init__(self, endpoint: SipEndpoint, factory: RequestFactory, presence: PresenceTracker, *,
                 response_timeout: float = RESPONSE_TIMEOUT,
                 catalog_stall_timeout: float = CATALOG_STALL_TIMEOUT) -> None:
        self._endpoint = endpoint
        self._factory = factory
        self._presence = presence
        self._response_timeout = response_timeout
        self.stall_timeout = catalog_stall_timeout  # seconds without a chunk before a re-query
        self._sn = itertools.count(1)
        self._pending: dict[tuple[str, str, int], asyncio.Future[ManscdpMessage]] = {}
        self._catalogs: dict[tuple[str, int], _CatalogWait] = {}
        self._record_infos: dict[tuple[str, int], _RecordInfoWait] = {}

    def next_sn(self) -> int:
        return next(self._sn) % 1_000_000_000

    def peer_of(self, device_id: str) -> Peer:
        presence = self._presence.get(device_id)
        if presence is None or not presence.online:
            raise DeviceOffline(device_id)
        return presence.peer

    async def send_message(self, device_id: str, target_id: str, body: bytes, what: str) -> None:
        """Send one MANSCDP MESSAGE and wait for its final SIP response."""
        peer = self.peer_of(device_id)
        request = self._factory.message(target_id, peer, body)
        try:
            response = await self._endpoint.send_request(request, peer)
        except TransactionTimeout as exc:
            raise DeviceTimeout(device_id, what) from exc
        if not 200 <= response.status < 300:
            raise DeviceRejected(device_id, response.status, response.reason)

    async def query(self, device_id: str, cmd_type: str, *, target_id: str | None = None,
                    extra: dict[str, str] | None = None) -> ManscdpMessage:
        """Send a single-answer query (DeviceInfo, DeviceStatus, PresetQuery…) and return the answer."""
        sn = self.next_sn()
        target = target_id or device_id
        key = (target, cmd_type.lower(), sn)
        future: asyncio.Future[ManscdpMessage] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self.send_message(device_id, target, build_query(cmd_type, sn, target, extra), cmd_type)
            return await asyncio.wait_for(future, self._response_timeout)
        except TimeoutError as exc:
            raise DeviceTimeout(device_id, f"{cmd_type} query (SN {sn})") from exc
        finally:
            self._pending.pop(key, None)

    async def query_catalog(self, device_id: str, *, sn: int | None = None,
                            requeries: int = CATALOG_REQUERIES) -> CatalogResult:
        """Query the whole catalog and assemble its chunks; re-query when chunks stop coming."""
        wait = _CatalogWait(CatalogAssembler())
        await self._query_chunked(device_id, device_id, "Catalog", lambda n: build_query("Catalog", n, device_id),
                                  wait, self._catalogs, sn=sn, requeries=requeries)
        a = wait.assembler
        return CatalogResult(device_id, list(a.items), a.complete, a.sum_num or 0, a.requery_count)

    async def query_record_info(self, device_id: str, channel_id: str, start: datetime, end: datetime,
                                device_tz: tzinfo, *, record_type: RecordType = RecordType.ALL,
                                requeries: int = CATALOG_REQUERIES) -> RecordInfoResult:
        """A channel's recordings between two aware instants, its chunks assembled and re-queried like Catalog.

        Raises DeviceTimeout when not a single chunk arrived (after the re-queries), and `InvalidTimeRange`
        when `end` is not after `start`.
        """
        build_record_info_query(0, channel_id, start, end, device_tz)  # refuses a bad range before sending
        wait = _RecordInfoWait(RecordInfoAssembler(channel_id, device_tz))
        await self._query_chunked(
            device_id, channel_id, "RecordInfo",
            lambda n: build_record_info_query(n, channel_id, start, end, device_tz, record_type=record_type),
            wait, self._record_infos, requeries=requeries)
        a = wait.assembler
        if a.chunks_received == 0:
            raise DeviceTimeout(device_id, f"RecordInfo query of {channel_id} ({a.requery_count} re-queries)")
        return RecordInfoResult.of(device_id, start, end, a)

    async def _query_chunked(self, device_id: str, target_id: str, what: str, body_for: Callable[[int], bytes],
                             wait: _ChunkWait[_A], waits: dict[tuple[str, int], _ChunkWait[_A]], *,
                             sn: int | None = None, requeries: int) -> None:
        """Send a query answered in chunks; feed `wait` until complete, re-querying when chunks stop coming."""
        sn = self.next_sn() if sn is None else sn
        keys = [(device_id, sn)]
        waits[keys[0]] = wait
        assembler = wait.assembler
        try:
            await self.send_message(device_id, target_id, body_for(sn), what)
            while True:
                wait.progress.clear()
                if assembler.complete:
                    break
                try:
                    await asyncio.wait_for(wait.progress.wait(), self.stall_timeout)
                    continue
                except TimeoutError:
                    pass
                if assembler.requery_count >= requeries:
                    logger.warning("device %s %s of %s incomplete after %d re-queries: %d of %d items", device_id,
                                   what, target_id, requeries, assembler.received, assembler.sum_num)
                    break
                # GB28181 cannot ask for one missing chunk: ask again, merge into the same assembly.
                assembler.mark_requery(time.monotonic())
                sn = self.next_sn()
                keys.append((device_id, sn))
                waits[keys[-1]] = wait
                logger.info("device %s %s of %s stalled at %d/%s items; re-query with SN %d", device_id, what,
                            target_id, assembler.received, assembler.sum_num, sn)
                await self.send_message(device_id, target_id, body_for(sn), what)
        finally:
            for key in keys:
                waits.pop(key, None)

    async def subscribe_catalog(self, device_id: str, expires: int) -> int:
        """SUBSCRIBE to the device's catalog changes (GB/T 28181-2016 §9.11); returns the granted Expires."""
        peer = self.peer_of(device_id)
        sn = self.next_sn()
        request = self._factory.request(
            "SUBSCRIBE", device_id, peer, body=build_query("Catalog", sn, device_id),
            content_type=MANSCDP_CONTENT_TYPE, extra=[("Event", f"Catalog;id={sn}"), ("Expires", str(expires))])
        try:
            response = await self._endpoint.send_request(request, peer)
        except TransactionTimeout as exc:
            raise DeviceTimeout(device_id, "catalog SUBSCRIBE") from exc
        if not 200 <= response.status < 300:
            raise DeviceRejected(device_id, response.status, response.reason)
        granted = (response.header("Expires") or "").strip()
        return int(granted) if granted.isascii() and granted.isdigit() else expires

    async def send_ptz(self, device_id: str, channel_gb_id: str, ptz_hex: str) -> None:
        body = build_device_control_ptz(self.next_sn(), channel_gb_id, ptz_hex)
        await self.send_message(device_id, channel_gb_id, body, "DeviceControl")

    def on_response(self, device_id: str, message: ManscdpMessage) -> bool:
        """Route a device's `<Response>`; False when nobody waits for it (late, or unsolicited)."""
        cmd = message.cmd_type.lower()
        if cmd == "catalog":
            wait = self._catalogs.get((device_id, message.sn))
            if wait is None:
                return False
            wait.assembler.add(parse_catalog_response(message), time.monotonic())
            wait.progress.set()
            return True
        if cmd == "recordinfo":
            record_wait = self._record_infos.get((device_id, message.sn))
            if record_wait is None:
                return False
            try:
                chunk = parse_record_info_response(message)
            except ManscdpError as exc:
                logger.warning("device %s: unreadable RecordInfo response (SN %d): %s", device_id, message.sn, exc)
                return True
            record_wait.assembler.add(chunk, time.monotonic())
            record_wait.progress.set()
            return True
        for target in (message.device_id, device_id):
            future = self._pending.get((target, message.cmd_type.lower(), message.sn))
            if future is not None and not future.done():
                future.set_result(message)
                return True
        return False

    def has_catalog_wait(self, device_id: str, sn: int) -> bool:
        return (device_id, sn) in self._catalogs
