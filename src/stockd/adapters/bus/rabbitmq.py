"""RabbitMQ: the publisher the outbox relay uses, and a consumer helper with poison-message handling.

Topology (DESIGN, Events): a durable topic exchange `stockd.events`, routing key `<type>.<location>.<sku>`.
Each consumer owns a durable quorum queue bound to it, with an explicit delivery limit and a dead-letter
exchange, so a message no handler can process is parked in `<queue>.dead` instead of cycling forever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue
from aiormq.abc import DeliveredMessage
from yarl import URL

from stockd.adapters.bus.in_memory import Handler
from stockd.adapters.bus.routing import routing_key

log = structlog.get_logger("stockd.bus")

EXCHANGE = "stockd.events"
DEAD_LETTER_EXCHANGE = "stockd.events.dead"


def to_message(event: Mapping[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        json.dumps(event, separators=(",", ":")).encode(),
        # The event id as message id: a consumer (or the broker's tooling) can spot a redelivered duplicate.
        message_id=str(event["id"]),
        type=str(event["type"]),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        app_id="stockd",
    )


async def declare_events_exchange(channel: AbstractChannel) -> AbstractExchange:
    return await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)


def _connection(url: str, reconnect_interval: float) -> aio_pika.RobustConnection:
    # Built by hand rather than with connect_robust(): if the first connect fails or times out we still
    # hold the object and can close it, instead of leaving its reconnect loop running in the background.
    return aio_pika.RobustConnection(URL(url), reconnect_interval=reconnect_interval)


class RabbitPublisher:
    """Publishes event envelopes with publisher confirms: `publish` returns once the broker has them all.

    `mandatory` is set so the broker tells us when an event matched no queue at all. That is not a failure
    (nobody subscribes to that key; blocking the outbox behind it would stall every other event): it is
    logged and counted in `unroutable`, and `stockd events replay` serves a consumer that binds later.
    """

    def __init__(self, url: str, timeout: float = 5.0, reconnect_interval: float = 1.0) -> None:
        self._url = url
        self._timeout = timeout
        self._reconnect_interval = reconnect_interval
        self._lock = asyncio.Lock()
        self._connection: aio_pika.RobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self.unroutable = 0

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        if not events:
            return
        # While the broker is away the robust connection waits for it; the timeout turns that wait into an
        # error, so the relay rolls back its claim and backs off instead of holding row locks indefinitely.
        async with asyncio.timeout(self._timeout):
            exchange = await self._open()
            results = await _publish_in_order(exchange, events)
        returned = [routing_key(e) for e, r in zip(events, results, strict=True) if isinstance(r, DeliveredMessage)]
        if returned:
            self.unroutable += len(returned)
            log.warning("events_unroutable", count=len(returned), routing_keys=sorted(set(returned))[:10])

    async def _open(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None:
                connection = _connection(self._url, self._reconnect_interval)
                try:
                    await connection.connect(timeout=self._timeout)
                    channel = await connection.channel(publisher_confirms=True, on_return_raises=False)
                    self._exchange = await declare_events_exchange(channel)
                except BaseException:
                    await connection.close()
                    raise
                self._connection = connection
            return self._exchange

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._exchange = None


async def _publish_in_order(exchange: AbstractExchange, events: Sequence[Mapping[str, Any]]) -> list[object]:
    # One task per message, created in outbox order: aiormq takes its channel lock first come first served,
    # so the broker receives them in that order, and the confirms of the whole batch are awaited together
    # instead of one round trip per message.
    tasks = [
        asyncio.ensure_future(exchange.publish(to_message(event), routing_key(event), mandatory=True))
        for event in events
    ]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@dataclass(frozen=True)
class QueueSpec:
    """A consumer's own queue. `bindings` are topic patterns over `<type>.<location>.<sku>`."""

    name: str
    bindings: tuple[str, ...] = ("#",)
    # Counts every redelivery, including those after a consumer died holding the message, so it must
    # leave room for crashes as well as for the poison case it exists for.
    delivery_limit: int = 10
    prefetch: int = 100

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dead"


async def declare_consumer_queue(channel: AbstractChannel, spec: QueueSpec) -> AbstractQueue:
    """Declare (idempotently) the queue, its bindings, and where its poison messages go."""
    events = await declare_events_exchange(channel)
    dead = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    parked = await channel.declare_queue(spec.dead_letter_queue, durable=True,
                                         arguments={"x-queue-type": "quorum"})
    await parked.bind(dead, routing_key=spec.name)
    queue = await channel.declare_queue(
        spec.name,
        durable=True,
        arguments={
            # Quorum: replicated, survives a broker restart, and counts deliveries per message.
            "x-queue-type": "quorum",
            "x-delivery-limit": spec.delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": spec.name,
        },
    )
    for pattern in spec.bindings:
        await queue.bind(events, routing_key=pattern)
    return queue


class RabbitConsumer:
    """Feeds each event on the consumer's queue to `handler`, one at a time, and acks after it returns.

    At least once: a handler that raises gets the message again (nack + requeue) until the queue's delivery
    limit parks it in the dead-letter queue; a consumer that dies unacked gets it again too. Handlers must
    therefore be idempotent: stockd's run inside `apply_once` (the inbox).
    """

    def __init__(self, url: str, spec: QueueSpec, handler: Handler, reconnect_interval: float = 1.0) -> None:
        self._url = url
        self._spec = spec
        self._handler = handler
        self._reconnect_interval = reconnect_interval
        # Deliveries arrive as one task each, in queue order; the lock (first come first served) applies them
        # one by one in that order, which keeps per-(sku, location) sequences from overtaking each other.
        self._lock = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        connection = _connection(self._url, self._reconnect_interval)
        try:
            await connection.connect(timeout=10)
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self._spec.prefetch)
            queue = await declare_consumer_queue(channel, self._spec)
            tag = await queue.consume(self._on_message)
            await stop.wait()
            await queue.cancel(tag)
        finally:
            await connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with self._lock:
            event = _decode(message.body)
            if event is None:
                # Unreadable now means unreadable forever: park it at once rather than spend its redeliveries.
                log.error("event_unreadable", message_id=message.message_id, queue=self._spec.name)
                await message.reject(requeue=False)
                return
            try:
                await self._handler(event)
            except Exception:
                log.exception("consumer_failed", event_id=event.get("id"), queue=self._spec.name)
                await message.nack(requeue=True)
                return
            await message.ack()


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
