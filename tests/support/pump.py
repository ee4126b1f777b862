"""Runs stockd's own consumers on the in-process bus and drains the outbox into them, as `stockd serve` does."""

from __future__ import annotations

from stockd.bootstrap import Stockd
from stockd.entrypoints.workers.consumers import CONSUMERS


def subscribe_consumers(services: Stockd) -> None:
    bus = services.bus
    assert bus is not None
    for factory in CONSUMERS:
        consumer = factory(services)
        for pattern in consumer.bindings:
            bus.subscribe(pattern, consumer.handler, consumer.name)


async def pump(services: Stockd) -> int:
    """Publish everything in the outbox (the relay), so the consumers see it; returns how many events."""
    relay = services.relay()
    total = 0
    while sent := await relay.relay_once():
        total += sent
    assert services.bus is not None and services.bus.dead_letters == [], services.bus.dead_letters
    return total
