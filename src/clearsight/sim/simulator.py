"""One process simulating many GB28181 devices against a platform, over real SIP on UDP or TCP.

Every device registers with digest authentication, keeps alive, answers Catalog (in chunks),
DeviceInfo, DeviceStatus and PTZ control (remembering the position), pushes catalog change events
when told to, and answers live-view INVITEs with a live-encoded PS stream over RTP/UDP
(`clearsight.sim.live_stream`). Every channel has "recorded" since the simulator started (`record_history`
seconds earlier when asked): RecordInfo is answered in chunks from `clearsight.sim.recordings`, Playback and
Download INVITEs and their MANSRTSP control by `clearsight.sim.playback`. All devices share one SIP endpoint;
requests are routed by the Request-URI's user part (the device ID, or a channel ID of the device).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clearsight.gb28181.ids import derive_id, sip_domain
from clearsight.gb28181.manscdp import (
    CatalogItem,
    CmdType,
    ManscdpError,
    ManscdpMessage,
    RootKind,
    build_catalog_notify,
    build_catalog_response,
    build_device_info_response,
    build_device_status_response,
    build_keepalive,
    parse_device_control,
    parse_manscdp,
    parse_query,
)
from clearsight.gb28181.ptz import InvalidPtzCommand, decode_ptz
from clearsight.gb28181.requests import MANSCDP_CONTENT_TYPE
from clearsight.sim.device import CatalogSubscription, SimulatedDevice
from clearsight.sim.live_stream import LiveStreamer
from clearsight.sim.playback import PlaybackStreamer, history_kind
from clearsight.sim.recordings import DEFAULT_RECORD_CHUNK, DEFAULT_SEGMENT, RecordingArchive
from clearsight.sip.digest import DigestError, authorization_for, parse_challenge
from clearsight.sip.endpoint import IncomingRequest, Peer, SipEndpoint, TransactionTimeout
from clearsight.sip.headers import Headers
from clearsight.sip.message import SipRequest, SipResponse

logger = logging.getLogger(__name__)

SIM_USER_AGENT = "Clearsight-Sim/0.1"
# Items per catalog MESSAGE; Hikvision NVRs send a handful per message, we default to a few more.
DEFAULT_CATALOG_CHUNK = 20
# Catalog chunks sent concurrently, so a 2,000-channel catalog does not wait on 100 round trips.
CATALOG_WINDOW = 8


@dataclass(slots=True)
class SimulatorConfig:
    platform_host: str
    platform_port: int
    platform_id: str
    password: str
    devices: int = 1
    channels: int = 2
    base_device_id: str = "34020000001320000001"
    base_channel_id: str = "34020000001310000001"
    transport: str = "UDP"
    local_host: str = "127.0.0.1"
    local_port: int = 0
    expires: int = 3600
    keepalive_interval: float = 60.0
    catalog_chunk: int = DEFAULT_CATALOG_CHUNK
    register_concurrency: int = 200
    replay: bool = False  # live streams replay one pre-encoded clip (load mode) instead of encoding each
    record_history: float = 0.0  # seconds "recorded" before the simulator started
    record_segment: float = DEFAULT_SEGMENT  # seconds per simulated recording file
    record_chunk: int = DEFAULT_RECORD_CHUNK  # RecordList items per RecordInfo MESSAGE


EventSink = Callable[[dict[str, object]], None]


def stdout_events(event: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class Simulator:
    def __init__(self, config: SimulatorConfig, events: EventSink | None = None) -> None:
        self.config = config
        self._events = events or (lambda _e: None)
        self.domain = sip_domain(config.platform_id)
        self.devices: dict[str, SimulatedDevice] = {}
        self._by_channel: dict[str, SimulatedDevice] = {}
        for i in range(config.devices):
            device = SimulatedDevice.create(derive_id(config.base_device_id, i), config.base_channel_id,
                                            config.channels, i)
            self.devices[device.device_id] = device
            for channel in device.channels:
                self._by_channel[channel.channel_id] = device
        transport = config.transport.upper()
        self.endpoint = SipEndpoint(config.local_host, config.local_port, user_agent=SIM_USER_AGENT,
                                    on_request=self._on_request, udp=transport == "UDP",
                                    tcp=transport == "TCP")
        self._platform = Peer(transport, config.platform_host, config.platform_port)
        self.live = LiveStreamer(self.endpoint, config.local_host, self._emit, replay=config.replay)
        self.recordings = RecordingArchive(time.time() - config.record_history, config.record_segment)
        self.playback = PlaybackStreamer(self.endpoint, config.local_host, self._emit, self.recordings,
                                         self._next_sn, self._message_status)
        self.device_tz = datetime.now().astimezone().tzinfo or UTC  # the devices' local time: the host's
        self.record_info_drops: set[int] = set()  # chunk numbers (1-based) the next RecordInfo answer loses
        self._tasks: set[asyncio.Task[None]] = set()
        self._sn = random.randint(1, 10_000)
        self._cseq = 0
        self.registration_latencies: list[float] = []
        self.keepalive_latencies: list[float] = []

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.endpoint.start()

    async def close(self) -> None:
        await self.live.close()
        await self.playback.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.close()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def register_all(self) -> int:
        """Register every device (bounded concurrency); returns how many succeeded."""
        gate = asyncio.Semaphore(self.config.register_concurrency)

        async def one(device: SimulatedDevice) -> bool:
            async with gate:
                return await self.register(device)

        results = await asyncio.gather(*(one(d) for d in self.devices.values()))
        return sum(results)

    def start_keepalives(self) -> None:
        for device in self.devices.values():
            self.spawn(self._keepalive_loop(device))

    # --- outgoing requests ----------------------------------------------------------------------
    def _next_sn(self) -> int:
        self._sn += 1
        return self._sn

    def _request(self, method: str, device_id: str, *, call_id: str | None = None, cseq: int | None = None,
                 body: bytes = b"", content_type: str | None = None,
                 extra: list[tuple[str, str]] | None = None) -> SipRequest:
        self._cseq += 1
        headers = Headers()
        target = f"{self.config.platform_host}:{self.config.platform_port}"
        headers.add("From", f"<sip:{device_id}@{self.domain}>;tag={self.endpoint.new_tag()}")
        to_user = device_id if method == "REGISTER" else self.config.platform_id
        headers.add("To", f"<sip:{to_user}@{self.domain}>")
        headers.add("Call-ID", call_id or self.endpoint.new_call_id())
        headers.add("CSeq", f"{cseq if cseq is not None else self._cseq} {method}")
        transport = self.config.transport.lower()
        headers.add("Contact", f"<sip:{device_id}@{self.endpoint.local_host}:{self._local_port()};"
                               f"transport={transport}>")
        for name, value in extra or []:
            headers.add(name, value)
        if content_type:
            headers.add("Content-Type", content_type)
        uri = f"sip:{self.config.platform_id}@{target}"
        return SipRequest(headers=headers, body=body, method=method, uri=uri)

    def _local_port(self) -> int:
        port = self.endpoint.udp_port if self.config.transport.upper() == "UDP" else self.endpoint.tcp_port
        return port or 0

    async def register(self, device: SimulatedDevice, expires: int | None = None) -> bool:
        expires = self.config.expires if expires is None else expires
        call_id = self.endpoint.new_call_id()
        started = time.perf_counter()
        request = self._request("REGISTER", device.device_id, call_id=call_id, cseq=1,
                                extra=[("Expires", str(expires))])
        try:
            response = await self.endpoint.send_request(request, self._platform)
            if response.status == 401:
                challenge_value = response.header("WWW-Authenticate") or ""
                challenge = parse_challenge(challenge_value)
                authorization = authorization_for(challenge, "REGISTER", request.uri, device.device_id,
                                                  self.config.password)
                request = self._request("REGISTER", device.device_id, call_id=call_id, cseq=2,
                                        extra=[("Expires", str(expires)), ("Authorization", authorization)])
                response = await self.endpoint.send_request(request, self._platform)
        except TransactionTimeout:
            self._emit("register", device=device.device_id, status=408)
            return False
        except DigestError as exc:
            logger.warning("device %s: unusable challenge: %s", device.device_id, exc)
            return False
        ok = response.status == 200
        device.registered = ok and expires > 0
        self.registration_latencies.append(time.perf_counter() - started)
        self._emit("register", device=device.device_id, status=response.status, expires=expires,
                   date=response.header("Date"))
        return ok

    async def send_keepalive(self, device: SimulatedDevice) -> int:
        body = build_keepalive(self._next_sn(), device.device_id)
        request = self._request("MESSAGE", device.device_id, body=body, content_type=MANSCDP_CONTENT_TYPE)
        started = time.perf_counter()
        try:
            response = await self.endpoint.send_request(request, self._platform)
        except TransactionTimeout:
            return 408
        self.keepalive_latencies.append(time.perf_counter() - started)
        return response.status

    async def _keepalive_loop(self, device: SimulatedDevice) -> None:
        interval = self.config.keepalive_interval
        # Spread devices over the interval, as real fleets are spread.
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            if device.keepalive_enabled and device.registered:
                status = await self.send_keepalive(device)
                if status == 403:
                    logger.info("device %s: platform forgot us; registering again", device.device_id)
                    await self.register(device)
            await asyncio.sleep(interval)

    async def _send_to_platform(self, request: SipRequest) -> SipResponse | None:
        try:
            return await self.endpoint.send_request(request, self._platform)
        except TransactionTimeout:
            logger.warning("platform did not answer %s", request)
            return None

    async def _accept_subscription(self, incoming: IncomingRequest, device: SimulatedDevice) -> None:
        request = incoming.request
        event = (request.header("Event") or "").split(";")[0].strip().lower()
        if event != "catalog":
            await incoming.respond(489)
            return
        expires_text = (request.header("Expires") or "3600").strip()
        expires = int(expires_text) if expires_text.isdigit() else 3600
        tag = self.endpoint.new_tag()
        await incoming.respond(200, headers=[("Expires", str(expires))], to_tag=tag)
        if expires == 0:
            device.subscription = None
        else:
            device.subscription = CatalogSubscription(
                call_id=request.call_id, local_tag=tag, remote=request.header("From") or "",
                event=request.header("Event") or "Catalog", expires_at=time.monotonic() + expires)
        self._emit("subscribed", device=device.device_id, expires=expires)

    def _notify(self, device: SimulatedDevice, subscription: CatalogSubscription, body: bytes) -> SipRequest:
        subscription.cseq += 1
        headers = Headers()
        headers.add("From", f"<sip:{device.device_id}@{self.domain}>;tag={subscription.local_tag}")
        headers.add("To", subscription.remote)
        headers.add("Call-ID", subscription.call_id)
        headers.add("CSeq", f"{subscription.cseq} NOTIFY")
        headers.add("Contact", f"<sip:{device.device_id}@{self.endpoint.local_host}:{self._local_port()}>")
        headers.add("Event", subscription.event)
        remaining = max(0, int(subscription.expires_at - time.monotonic()))
        headers.add("Subscription-State", f"active;expires={remaining}")
        headers.add("Content-Type", MANSCDP_CONTENT_TYPE)
        uri = f"sip:{self.config.platform_id}@{self.config.platform_host}:{self.config.platform_port}"
        return SipRequest(headers=headers, body=body, method="NOTIFY", uri=uri)

    async def send_catalog_events(self, device: SimulatedDevice, event: str, channel_ids: list[str]) -> None:
        items: list[CatalogItem] = []
        for channel_id in channel_ids:
            channel = device.channel(channel_id)
            if channel is None:
                continue
            if event == "ON":
                channel.online = True
            elif event == "OFF":
                channel.online = False
            items.append(channel.catalog_item(device.device_id, event=event))
        body = build_catalog_notify(self._next_sn(), device.device_id, items)
        subscription = device.subscription
        if subscription is not None and subscription.expires_at > time.monotonic():
            request = self._notify(device, subscription, body)
        else:
            request = self._request("MESSAGE", device.device_id, body=body, content_type=MANSCDP_CONTENT_TYPE)
        response = await self._send_to_platform(request)
        self._emit("catalog_event", device=device.device_id, change=event, channels=channel_ids,
                   method=request.method, status=response.status if response else None)

    # --- incoming requests ----------------------------------------------------------------------
    async def _on_request(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        target = request.to_addr.uri.user or ""
        device = self.devices.get(target) or self._by_channel.get(target)
        if device is None:
            await incoming.respond(404, "No such device")
            return
        if request.method == "SUBSCRIBE":
            await self._accept_subscription(incoming, device)
            return
        if request.method == "INVITE":
            if history_kind(request.body) is not None:
                await self.playback.on_invite(incoming, device)
            else:
                await self.live.on_invite(incoming, device)
            return
        if request.method == "ACK":
            if self.playback.owns(request.call_id):
                self.playback.on_ack(request.call_id)
            else:
                self.live.on_ack(request.call_id)
            return
        if request.method == "BYE":
            if self.playback.owns(request.call_id):
                await self.playback.on_bye(incoming)
            else:
                await self.live.on_bye(incoming)
            return
        if request.method == "INFO":
            await self.playback.on_info(incoming)
            return
        if request.method != "MESSAGE":
            await incoming.respond(200 if request.method == "BYE" else 405)
            return
        try:
            message = parse_manscdp(request.body)
        except ManscdpError as exc:
            await incoming.respond(400, f"Bad body: {exc}")
            return
        await incoming.respond(200)
        cmd = message.cmd_type
        if message.root_kind is RootKind.QUERY:
            if cmd == CmdType.CATALOG:
                self.spawn(self._answer_catalog(device, message.sn))
            elif cmd == CmdType.DEVICE_INFO:
                body = build_device_info_response(message.sn, device.device_id, device_name=device.name,
                                                  manufacturer="Clearsight", model="SIM-NVR",
                                                  firmware="0.1", channel=len(device.channels))
                self.spawn(self._reply(device, body))
            elif cmd == CmdType.DEVICE_STATUS:
                body = build_device_status_response(message.sn, device.device_id, online=True,
                                                    device_time=datetime.now(UTC))
                self.spawn(self._reply(device, body))
            elif cmd == CmdType.RECORD_INFO:
                self.spawn(self._answer_record_info(device, message))
        elif message.root_kind is RootKind.CONTROL and cmd == CmdType.DEVICE_CONTROL:
            self._control(device, message.device_id, request.body)

    def _control(self, device: SimulatedDevice, target_id: str, body: bytes) -> None:
        control = parse_device_control(parse_manscdp(body))
        if control.ptz_cmd is None:
            return
        channel = device.channel(target_id) or (device.channels[0] if device.channels else None)
        if channel is None:
            return
        try:
            command = decode_ptz(control.ptz_cmd)
        except InvalidPtzCommand as exc:
            logger.warning("device %s: bad PTZCmd %s: %s", device.device_id, control.ptz_cmd, exc)
            return
        channel.ptz.apply(command)
        self._emit("ptz", device=device.device_id, channel=channel.channel_id, command=control.ptz_cmd,
                   pan=round(channel.ptz.pan, 2), tilt=round(channel.ptz.tilt, 2),
                   zoom=round(channel.ptz.zoom, 2), presets=sorted(channel.ptz.presets))

    async def _message_status(self, device: SimulatedDevice, body: bytes) -> int | None:
        """Send a MANSCDP body outside any dialog; the platform's status, None when it did not answer."""
        response = await self._send_to_platform(self._request("MESSAGE", device.device_id, body=body,
                                                              content_type=MANSCDP_CONTENT_TYPE))
        return response.status if response is not None else None

    async def _reply(self, device: SimulatedDevice, body: bytes) -> None:
        await self._send_to_platform(self._request("MESSAGE", device.device_id, body=body,
                                                   content_type=MANSCDP_CONTENT_TYPE))

    async def _answer_catalog(self, device: SimulatedDevice, sn: int) -> None:
        items = device.catalog_items()
        size = max(1, self.config.catalog_chunk)
        chunks = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        gate = asyncio.Semaphore(CATALOG_WINDOW)

        async def send(chunk: list[CatalogItem]) -> None:
            async with gate:
                body = build_catalog_response(sn, device.device_id, len(items), chunk)
                await self._reply(device, body)

        await asyncio.gather(*(send(c) for c in chunks))
        self._emit("catalog_sent", device=device.device_id, sn=sn, items=len(items), chunks=len(chunks))

    async def _answer_record_info(self, device: SimulatedDevice, message: ManscdpMessage) -> None:
        sum_num, bodies = self.recordings.record_info_bodies(device, parse_query(message), self.device_tz,
                                                             chunk=self.config.record_chunk)
        dropped, self.record_info_drops = self.record_info_drops, set()
        gate = asyncio.Semaphore(CATALOG_WINDOW)

        async def send(body: bytes) -> None:
            async with gate:
                await self._reply(device, body)

        await asyncio.gather(*(send(b) for n, b in enumerate(bodies, 1) if n not in dropped))
        self._emit("record_info_sent", device=device.device_id, channel=message.device_id, sn=message.sn,
                   items=sum_num, chunks=len(bodies), dropped=sorted(dropped & set(range(1, len(bodies) + 1))))

    def _emit(self, kind: str, **fields: object) -> None:
        self._events({"event": kind, **fields})

