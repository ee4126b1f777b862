"""Device events arriving over RabbitMQ: topic exchange `stockd.devices`, one durable quorum queue.

Producers publish one event (or `{"events": [...]}`) per message with any routing key, e.g.
`<location>.<device>`. The broker's credentials are the producers' authentication: RabbitMQ checks a
message's `user_id` against the connection's user, and stockd records it as the event's source.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from yarl import URL

log = structlog.get_logger("stockd.devices")

DEVICES_EXCHANGE = "stockd.devices"
DEVICES_QUEUE = "stockd.devices.ingest"
DEVICES_DEAD = "stockd.devices.dead"

# (events, source) -> None; raising means "try again later" (the message is redelivered).
DeviceHandler = Callable[[list[Any], str], Awaitable[None]]


async def declare_device_queue(channel: AbstractChannel, delivery_limit: int = 10) -> AbstractQueue:
    exchange = await channel.declare_exchange(DEVICES_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead = await channel.declare_exchange(DEVICES_DEAD, aio_pika.ExchangeType.FANOUT, durable=True)
    parked = await channel.declare_queue(DEVICES_DEAD, durable=True, arguments={"x-queue-type": "quorum"})
    await parked.bind(dead)
    queue = await channel.declare_queue(
        DEVICES_QUEUE,
        durable=True,
        arguments={"x-queue-type": "quorum", "x-delivery-limit": delivery_limit,
                   "x-dead-letter-exchange": DEVICES_DEAD},
    )
    await queue.bind(exchange, routing_key="#")
    return queue


def decode(body: bytes) -> list[Any] | None:
    """The events in a message, or None when it is not JSON at all (parked at once)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        return list(payload["events"])
    return [payload]


class RabbitDeviceSource:
    """Feeds device messages to `handler` and acks each once its events are recorded (applied or rejected)."""

    def __init__(self, url: str, handler: DeviceHandler, prefetch: int = 50) -> None:
        self._url = url
        self._handler = handler
        self._prefetch = prefetch
        # aio-pika hands each delivery to its own task; the lock applies them one at a time in queue order, so a
        # producer's messages take effect in the order it sent them (and batches never contend for row locks).
        self._lock = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        connection = aio_pika.RobustConnection(URL(self._url), reconnect_interval=1.0)
        try:
            await connection.connect(timeout=10)
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self._prefetch)
            queue = await declare_device_queue(channel)
            tag = await queue.consume(self._on_message)
            await stop.wait()
            await queue.cancel(tag)
        finally:
            await connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with self._lock:
            await self._process(message)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        events = decode(message.body)
        if events is None:
            log.error("device_message_unreadable", message_id=message.message_id)
            await message.reject(requeue=False)
            return
        source = f"amqp:{message.user_id or message.app_id or 'anonymous'}"
        try:
            await self._handler(events, source)
        except Exception:
            log.exception("device_message_failed", message_id=message.message_id)
            await message.nack(requeue=True)
            return
        await message.ack()
