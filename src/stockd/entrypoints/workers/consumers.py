"""stockd's own event consumers (channel sync, alerts, replenishment watchers ...), on either bus.

A consumer is a name, the topic patterns it wants (over `<type>.<location>.<sku>`) and a handler. With the
in-process bus it subscribes in the server's process (`stockd serve`); with RabbitMQ it owns a durable quorum
queue `stockd.<name>` (dead-letter queue included) and runs in `stockd worker`. Either way delivery is at least
once: a handler that writes must do so through `apply_once` (the inbox) so a redelivery changes nothing.

With the in-process bus the handler runs inline in the relay's publish: it must be quick (a database write, or
marking work for a task of its own); a slow call such as a channel's HTTP API belongs in a separate task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from stockd.adapters.bus.in_memory import Handler
from stockd.adapters.bus.rabbitmq import QueueSpec, RabbitConsumer
from stockd.bootstrap import Stockd
from stockd.entrypoints.workers.notifications import ALERT_BINDINGS, WEBHOOK_BINDINGS, alert_handler, webhook_handler

log = structlog.get_logger("stockd.consumers")


@dataclass(frozen=True)
class Consumer:
    name: str
    bindings: tuple[str, ...]
    handler: Handler


# Each feature registers a factory here: given the wired services, the consumer to run.
ConsumerFactory = Callable[[Stockd], Consumer]
CONSUMERS: list[ConsumerFactory] = []


async def run_consumer(stockd: Stockd, consumer: Consumer, stop: asyncio.Event) -> None:
    bus = stockd.bus
    if bus is not None:
        subscriptions = [bus.subscribe(pattern, consumer.handler, consumer.name) for pattern in consumer.bindings]
        try:
            await stop.wait()
        finally:
            for subscription in subscriptions:
                bus.unsubscribe(subscription)
        return
    spec = QueueSpec(name=f"stockd.{consumer.name}", bindings=consumer.bindings)
    await RabbitConsumer(stockd.settings.bus_url, spec, consumer.handler).run(stop)


async def run_consumers(stockd: Stockd, stop: asyncio.Event, factories: list[ConsumerFactory] | None = None) -> None:
    """Every registered consumer until `stop` is set."""
    consumers = [factory(stockd) for factory in (CONSUMERS if factories is None else factories)]
    if consumers:
        log.info("consumers_started", names=[c.name for c in consumers], bus="memory" if stockd.bus else "rabbitmq")
    await asyncio.gather(*(run_consumer(stockd, c, stop) for c in consumers))


def _channel_sync(stockd: Stockd) -> Consumer:
    # Imported here: the channel workers module imports Consumer from this one.
    from stockd.entrypoints.workers.channels import channel_sync_consumer

    return channel_sync_consumer(stockd)


CONSUMERS.append(_channel_sync)


def _alerts(stockd: Stockd) -> Consumer:
    return Consumer("alerts", ALERT_BINDINGS, alert_handler(stockd))


def _webhooks(stockd: Stockd) -> Consumer:
    return Consumer("webhooks", WEBHOOK_BINDINGS, webhook_handler(stockd))


CONSUMERS.extend([_alerts, _webhooks])


def low_stock_consumer(stockd: Stockd) -> Consumer:
    """Replenishment's watcher: stock.low / stock.low_cleared when a row crosses its reorder point."""
    from stockd.service_layer.consumers import apply_once
    from stockd.service_layer.ports import InboxUnitOfWork
    from stockd.service_layer.replenishment import LowStockWatch, apply_stock_event

    watch = LowStockWatch(stockd.runner)

    async def apply(uow: InboxUnitOfWork, event: dict[str, Any]) -> None:
        await apply_stock_event(uow, stockd.env, event)

    async def handle(event: Mapping[str, Any]) -> None:
        if event.get("type") in ("stock.low", "stock.low_cleared"):
            return  # its own output, also under stock.#
        sku, location = event.get("sku"), event.get("location")
        if not isinstance(sku, str) or not isinstance(location, str) or not await watch.concerns(sku, location):
            return
        await apply_once(stockd.consumer_uow, stockd.env.clock, "replenishment-low-stock", dict(event), apply)

    return Consumer("replenishment-low-stock", ("stock.#",), handle)


CONSUMERS.append(low_stock_consumer)
