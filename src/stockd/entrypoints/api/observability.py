"""Prometheus metrics and the one-line-per-request JSON log, as a pure ASGI middleware.

Each app has its own registry (several apps in one test process must not share counters). With several
server processes, scrape each one (or put them behind per-process ports); gauges that read the database,
like the outbox lag, are the same from every process.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockd.entrypoints.workers.relay import RelayStats

log = structlog.get_logger("stockd.access")

RESERVE_ROUTE = ("POST", "/v1/reservations")
DECIDED = frozenset({"reserved", "replayed", "refused"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def reservation_outcome(status: int, replayed: bool) -> str:
    if status == 201:
        return "replayed" if replayed else "reserved"
    if status == 409:
        return "refused"  # insufficient stock (or an idempotency key reused with another body)
    if status in (401, 403, 429):
        return "denied"
    return "invalid" if status < 500 else "error"


@dataclass(frozen=True)
class Percentiles:
    samples: int
    p50_ms: float | None
    p99_ms: float | None


class _RelayCollector(Collector):
    def __init__(self, stats: RelayStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("stockd_events_relayed", "events this process's outbox relay handed to the bus",
                                  value=self._stats.published)
        yield GaugeMetricFamily("stockd_relay_consecutive_failures", "failed relay batches in a row (0: healthy)",
                                value=self._stats.failures)
        yield GaugeMetricFamily("stockd_relay_running", "1 while this process runs an outbox relay",
                                value=1 if self._stats.running else 0)


class Metrics:
    def __init__(self, relay: RelayStats) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("stockd_http_requests", "HTTP requests by route template and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("stockd_http_request_duration_seconds", "HTTP request duration by route template",
                                 ["method", "route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.reservations = Counter("stockd_reservations", "reservation requests by outcome", ["outcome"], registry=r)
        self.reservation_latency = Histogram("stockd_reservation_duration_seconds", "POST /v1/reservations duration",
                                             buckets=_LATENCY_BUCKETS, registry=r)
        self.outbox_unpublished = Gauge("stockd_outbox_unpublished", "events committed but not yet on the bus",
                                        registry=r)
        self.outbox_age = Gauge("stockd_outbox_oldest_unpublished_age_seconds",
                                "age of the oldest event not yet on the bus (0: none waits)", registry=r)
        self.events_rate = Gauge("stockd_events_per_second", "ledger movements per second over the last minute",
                                 registry=r)
        self.database_up = Gauge("stockd_database_up", "1 when the last scrape could read the database", registry=r)
        self.feed_clients = Gauge("stockd_live_feed_clients", "open Server-Sent-Events streams", registry=r)
        r.register(_RelayCollector(relay))
        self._recent_reservations: deque[float] = deque(maxlen=1000)

    def observe(self, method: str, route: str, status: int, seconds: float, replayed: bool) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if (method, route) == RESERVE_ROUTE:
            outcome = reservation_outcome(status, replayed)
            self.reservations.labels(outcome).inc()
            if outcome in DECIDED:  # the stock was checked; refusals at the door would flatter the latency
                self.reservation_latency.observe(seconds)
                self._recent_reservations.append(seconds)

    def reservation_percentiles(self) -> Percentiles:
        """Of the last 1,000 decided reservation requests in this process, for the health panel."""
        samples = sorted(self._recent_reservations)
        if not samples:
            return Percentiles(0, None, None)

        def at(q: float) -> float:
            return round(samples[min(len(samples) - 1, int(q * len(samples)))] * 1000, 2)

        return Percentiles(len(samples), at(0.50), at(0.99))


def route_of(scope: Scope) -> str:
    """The route template (`/v1/stock/{sku}`), never the raw path: label values must stay few.

    Rebuilt from the path and the matched path parameters (in their order in the template), which holds
    whatever way the framework nests included routers."""
    path = str(scope.get("path", ""))
    if path.startswith("/static/"):
        return "/static"
    if scope.get("route") is None:
        return "<unmatched>"
    pending = [(name, str(value)) for name, value in (scope.get("path_params") or {}).items()]
    segments = []
    for segment in path.split("/"):
        if pending and segment == pending[0][1]:
            segments.append("{" + pending.pop(0)[0] + "}")
        else:
            segments.append(segment)
    return "/".join(segments)


class ObservabilityMiddleware:
    """Outermost: counts and times every request (refused ones too) and logs one JSON line per request.
    It logs no header, query string or body: API keys and session cookies never reach the log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, replayed = 500, False

        async def send_and_watch(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = int(message["status"])
                replayed = any(k.lower() == b"idempotent-replayed" for k, _ in message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_of(scope), scope["method"]
            self.metrics.observe(method, route, status, seconds, replayed)
            log.info("request", request_id=scope.get("state", {}).get("request_id"), method=method, route=route,
                     path=scope.get("path"), status=status, duration_ms=round(seconds * 1000, 2),
                     client=(scope.get("client") or ("?",))[0])
