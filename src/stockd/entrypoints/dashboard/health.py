"""The system health panel's numbers: events per second, outbox lag, relay, reservation latency, bus, feed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from stockd.adapters.bus.probe import is_broker_url, probe_bus
from stockd.bootstrap import Stockd
from stockd.entrypoints.api.feed import ChangeFeed
from stockd.entrypoints.api.observability import Metrics
from stockd.entrypoints.workers.relay import RelayStats
from stockd.service_layer import insights, operations
from stockd.service_layer.ports import Actor
from stockd.service_layer.runner import StorageUnavailableError

BUS_PROBE_SECONDS = 5.0  # a broker probe opens a connection: at most one per this many seconds per process


@dataclass
class BusStatus:
    """The last broker probe, reused for a few seconds so a dashboard refreshing every 2 s costs little."""

    checked_at: float = 0.0
    error: str | None = None

    async def current(self, url: str) -> str | None:
        if time.monotonic() - self.checked_at > BUS_PROBE_SECONDS:
            self.error = await probe_bus(url, 2.0)
            self.checked_at = time.monotonic()
        return self.error


async def snapshot(request: Request, stockd: Stockd, actor: Actor) -> dict[str, Any]:
    state = request.app.state
    metrics: Metrics = state.metrics
    relay: RelayStats = state.relay_stats
    feed: ChangeFeed = state.feed
    try:
        system = await stockd.runner.run(lambda uow: insights.system_health(uow, stockd.env))
        channels = await stockd.runner.run(lambda uow: operations.channel_sync(uow, actor))
        database = "ok"
    except StorageUnavailableError as exc:
        system, channels, database = None, [], f"unavailable: {str(exc)[:120]}"
    broker = is_broker_url(stockd.settings.bus_url)
    bus_error = await state.bus_status.current(stockd.settings.bus_url) if broker else None
    in_process = stockd.bus
    return {
        "database": database,
        "system": system,
        "relay": relay,
        "relay_age": round(time.time() - relay.last_success, 1) if relay.last_success else None,
        "latency": metrics.reservation_percentiles(),
        "bus_kind": "RabbitMQ" if broker else "in-process",
        "bus": "ok" if bus_error is None else f"unreachable: {bus_error}",
        # One name per consumer (each subscribes once per binding).
        "consumers": list(dict.fromkeys(s.name for s in in_process.subscriptions)) if in_process
        else ["live-feed (RabbitMQ queue)"],
        "dead_letters": len(in_process.dead_letters) if in_process else None,
        "feed_clients": feed.listeners,
        "channels": channels,
    }
