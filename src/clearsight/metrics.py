"""Prometheus metrics of the platform: SIP traffic, transactions, devices online."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from clearsight.gb28181.admission import DeviceAdmission
from clearsight.gb28181.register_limiter import RegisterLimiter
from clearsight.media.hub import StreamHub
from clearsight.sip.endpoint import Peer
from clearsight.sip.message import SipMessage, SipRequest
from clearsight.sip.transport import SipTransport

# Methods we count by name; anything else is counted as "other" so a hostile peer cannot grow labels.
_KNOWN_METHODS = frozenset({"REGISTER", "MESSAGE", "NOTIFY", "SUBSCRIBE", "INVITE", "ACK", "BYE", "CANCEL",
                            "INFO", "OPTIONS"})


def _method_label(method: str) -> str:
    return method if method in _KNOWN_METHODS else "other"


class PlatformMetrics:
    """Implements the SIP endpoint's observer and holds the platform's gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sip_messages = Counter(
            "clearsight_sip_messages", "SIP messages by direction, method and response status",
            ["direction", "method", "status"], registry=self.registry)
        self.sip_rejected = Counter(
            "clearsight_sip_rejected", "Malformed SIP input answered 400 or dropped", registry=self.registry)
        self.transactions_timed_out = Counter(
            "clearsight_sip_transactions_timed_out", "SIP client transactions that got no final response",
            ["method"], registry=self.registry)
        self.devices_online = Gauge("clearsight_devices_online", "Devices registered and keeping alive",
                                    registry=self.registry)
        self.devices_known = Gauge("clearsight_devices_registered_since_start",
                                   "Devices that registered at least once since start", registry=self.registry)

        self.device_syncs_pending = Gauge(
            "clearsight_device_syncs_pending", "Devices whose DeviceInfo and catalog fetch is queued or running",
            registry=self.registry)

    def track_presence(self, online: Callable[[], int], known: Callable[[], int],
                       syncs_pending: Callable[[], int]) -> None:
        self.devices_online.set_function(online)
        self.devices_known.set_function(known)
        self.device_syncs_pending.set_function(syncs_pending)

    def track_sip_guard(self, limiter: RegisterLimiter, transport: SipTransport, admission: DeviceAdmission) -> None:
        self.registry.register(SipGuardCollector(limiter, transport, admission))

    def track_media(self, hub: StreamHub) -> None:
        self.registry.register(MediaCollector(hub))

    def _count(self, direction: str, message: SipMessage) -> None:
        if isinstance(message, SipRequest):
            self.sip_messages.labels(direction, _method_label(message.method), "").inc()
        else:
            method = (message.header("CSeq") or " ").split()[-1].upper()
            self.sip_messages.labels(direction, _method_label(method), str(message.status)).inc()

    def message_received(self, message: SipMessage, peer: Peer) -> None:
        self._count("in", message)

    def message_sent(self, message: SipMessage, peer: Peer) -> None:
        self._count("out", message)

    def transaction_timed_out(self, method: str) -> None:
        self.transactions_timed_out.labels(_method_label(method)).inc()

    def message_rejected(self, peer: Peer, reason: str) -> None:
        self.sip_rejected.inc()


class MediaCollector(Collector):
    """Live-stream figures read from the hub at scrape time (no per-packet metric updates on the hot path)."""

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        streams = self._hub.streams
        sources = [stream.source.stats() for stream in streams]
        yield GaugeMetricFamily("clearsight_media_streams", "Live streams running (one per channel)",
                                value=len(streams))
        yield GaugeMetricFamily("clearsight_media_viewers", "Consumers of live streams (viewers, HLS windows)",
                                value=self._hub.consumer_count)
        yield CounterMetricFamily("clearsight_media_streams_opened", "Live streams opened since start",
                                  value=self._hub.streams_opened)
        yield CounterMetricFamily("clearsight_media_stream_failures", "Live streams that failed to start",
                                  value=self._hub.open_failures)
        yield GaugeMetricFamily("clearsight_media_rtp_packets", "RTP packets received by the running streams",
                                value=sum(s.packets for s in sources))
        yield GaugeMetricFamily("clearsight_media_rtp_lost", "RTP packets lost by the running streams",
                                value=sum(s.lost for s in sources))
        yield GaugeMetricFamily("clearsight_media_rtp_bytes", "RTP payload bytes received by the running streams",
                                value=sum(s.bytes for s in sources))
        yield GaugeMetricFamily("clearsight_media_bytes_out", "Bytes sent to consumers of the running streams",
                                value=sum(c.bytes_sent for stream in streams for c in stream.consumers))


class SipGuardCollector(Collector):
    """REGISTER limiting, the brute-force guard, TCP connection limits and device admission, read at scrape time."""

    def __init__(self, limiter: RegisterLimiter, transport: SipTransport, admission: DeviceAdmission) -> None:
        self._limiter = limiter
        self._transport = transport
        self._admission = admission

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        limited = self._limiter.counts
        yield _labelled_counter(
            "clearsight_sip_register_refused", "REGISTERs refused before a transaction: over the per-source rate "
            "(reason rate) or from a blocked source (reason blocked); answered 503 or dropped", ["reason", "outcome"],
            {("rate", "answered"): limited.limited_answered, ("rate", "dropped"): limited.limited_dropped,
             ("blocked", "answered"): limited.blocked_answered, ("blocked", "dropped"): limited.blocked_dropped})
        yield CounterMetricFamily("clearsight_sip_auth_failures", "Failed SIP digest authentications",
                                  value=limited.auth_failures)
        yield CounterMetricFamily("clearsight_sip_source_blocks",
                                  "Times a source address was blocked after repeated failed authentications",
                                  value=limited.blocks)
        yield GaugeMetricFamily("clearsight_sip_limiter_sources", "Source addresses the REGISTER limiter tracks",
                                value=len(self._limiter))
        tcp = self._transport.counts
        yield GaugeMetricFamily("clearsight_sip_tcp_connections", "SIP TCP connections devices have open to us",
                                value=self._transport.accepted_connections)
        yield _labelled_counter("clearsight_sip_tcp_refused", "SIP TCP connections closed at once by the "
                                "connection limits", ["limit"],
                                {("global",): tcp.refused_global, ("per_source",): tcp.refused_per_source})
        yield CounterMetricFamily("clearsight_sip_tcp_idle_closed", "SIP TCP connections closed for idleness",
                                  value=tcp.idle_closed)
        admission = self._admission.counts
        yield _labelled_counter("clearsight_sip_register_not_admitted", "REGISTERs answered 403 because the device "
                                "is unknown or rejected", ["reason"],
                                {("unknown",): admission.refused_unknown, ("rejected",): admission.refused_rejected})
        yield GaugeMetricFamily("clearsight_devices_pending", "Unknown devices held for approval",
                                value=self._admission.pending_count)


def _labelled_counter(name: str, documentation: str, labels: list[str],
                      values: dict[tuple[str, ...], int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family
