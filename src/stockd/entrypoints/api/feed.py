"""The live change feed: every stock event fanned out to Server-Sent-Events clients, filtered per client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from stockd.adapters.bus.rabbitmq_feed import RabbitFeedSource
from stockd.bootstrap import Stockd

log = structlog.get_logger("stockd.feed")

HEARTBEAT_SECONDS = 15.0
CLIENT_BUFFER = 1000
# Stock changes, and alerts and freezes for the dashboard's panels.
FEED_BINDINGS = ("stock.#", "alert.#", "sku.#")
API_FEED_TYPES = ("stock.", "alert.")  # what GET /v1/feed streams (sku.frozen is for the dashboard)


@dataclass(eq=False)
class Listener:
    sku: str | None
    location: str | None
    scope: frozenset[str] | None
    queue: asyncio.Queue[Mapping[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(CLIENT_BUFFER))
    types: tuple[str, ...] = API_FEED_TYPES  # event type prefixes this client wants

    def wants(self, event: Mapping[str, Any]) -> bool:
        if not str(event.get("type", "")).startswith(self.types):
            return False
        location = event.get("location")
        if self.scope is not None and location not in self.scope:
            return False
        return (self.sku is None or event.get("sku") == self.sku) and (
            self.location is None or location == self.location
        )


class ChangeFeed:
    """Fan-out hub. A client too slow to keep up with its buffer is dropped rather than slowing everyone."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    async def publish(self, event: Mapping[str, Any]) -> None:
        for listener in tuple(self._listeners):
            if listener.wants(event):
                try:
                    listener.queue.put_nowait(event)
                except asyncio.QueueFull:
                    # Its stream notices it is gone at the next heartbeat and ends; the client reconnects.
                    log.warning("feed_client_dropped", reason="too slow")
                    self._listeners.discard(listener)

    async def stream(self, listener: Listener, render: Callable[[Mapping[str, Any]], str] | None = None
                     ) -> AsyncIterator[str]:
        """SSE messages for `listener`: each event as `render` makes it (default: the JSON envelope)."""
        render = render or sse_message
        self._listeners.add(listener)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if listener not in self._listeners:
                        return
                    yield ": heartbeat\n\n"
                    continue
                if event is None:
                    return
                yield render(event)
        finally:
            self._listeners.discard(listener)


def sse_message(event: Mapping[str, Any]) -> str:
    return f"id: {event.get('id')}\nevent: {event.get('type')}\ndata: {json.dumps(event)}\n\n"


async def run_feed(stockd: Stockd, feed: ChangeFeed, stop: asyncio.Event) -> None:
    """Feed the hub from the in-process bus, or from RabbitMQ when events go through a broker."""
    bus = stockd.bus
    if bus is not None:
        subscriptions = [bus.subscribe(pattern, feed.publish, name="live-feed") for pattern in FEED_BINDINGS]
        try:
            await stop.wait()
        finally:
            for subscription in subscriptions:
                bus.unsubscribe(subscription)
        return
    while not stop.is_set():
        try:
            await RabbitFeedSource(stockd.settings.bus_url, feed.publish, FEED_BINDINGS).run(stop)
        except Exception:
            log.exception("feed_source_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
