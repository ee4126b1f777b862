"""RabbitPublisher and RabbitConsumer against the real broker: confirms, routing, dead-lettering."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import aio_pika
import pytest

from stockd.adapters.bus.rabbitmq import QueueSpec, RabbitConsumer, RabbitPublisher
from tests.support.rabbitmq import bound_queue, require_rabbitmq, unique_queue_name


@pytest.fixture
async def rabbitmq() -> str:
    return await require_rabbitmq()


def envelope(event_type: str = "stock.received", sku: str = "TEE", location: str = "WH-A",
             sequence: int = 1) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": event_type, "source": "stockd", "time": "2026-03-02T09:00:00+00:00",
            "sku": sku, "location": location, "sequence": sequence, "data": {"quantity": 1}}


async def test_published_events_arrive_in_order_under_their_routing_keys(rabbitmq: str) -> None:
    publisher = RabbitPublisher(rabbitmq)
    events = [envelope(sequence=n) for n in range(1, 51)] + [envelope("stock.reserved", "MUG", "WH.B")]
    try:
        async with bound_queue(rabbitmq, bindings=("stock.received.WH-A.*", "stock.reserved.#")) as queue:
            await publisher.publish(events)
            got = await queue.collect(e["id"] for e in events)
    finally:
        await publisher.close()
    assert [e["id"] for e in got] == [e["id"] for e in events], "all of them, once, in the order published"
    assert got[-1]["location"] == "WH.B", "a dot in a location does not break its routing key"


async def test_a_message_is_persistent_json_carrying_the_event_id(rabbitmq: str) -> None:
    publisher = RabbitPublisher(rabbitmq)
    sent = envelope()
    try:
        async with bound_queue(rabbitmq, bindings=("stock.received.#",)) as queue:
            await publisher.publish([sent])
            message = await _first_message(rabbitmq, queue.spec)
    finally:
        await publisher.close()
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == sent["id"] and json.loads(message.body) == sent
    assert message.content_type == "application/json" and message.routing_key == "stock.received.WH-A.TEE"


async def test_an_event_nobody_listens_to_is_counted_not_retried(rabbitmq: str) -> None:
    publisher = RabbitPublisher(rabbitmq)
    try:
        await publisher.publish([envelope(f"nobody.listens.{uuid.uuid4().hex}")])
    finally:
        await publisher.close()
    assert publisher.unroutable == 1


async def test_publishing_to_an_unreachable_broker_raises_within_the_timeout() -> None:
    publisher = RabbitPublisher("amqp://guest:guest@127.0.0.1:1/", timeout=2)
    with pytest.raises((ConnectionError, OSError, TimeoutError)):
        await publisher.publish([envelope()])
    await publisher.close()


async def test_a_poison_message_is_dead_lettered_after_its_delivery_limit(rabbitmq: str) -> None:
    poison, good = envelope(sku="POISON"), envelope(sku="GOOD")
    attempts: Counter[str] = Counter()
    done = asyncio.Event()

    async def handler(event: Mapping[str, Any]) -> None:
        attempts[event["sku"]] += 1
        if event["sku"] == "POISON":
            raise ValueError("cannot apply this one")
        done.set()

    spec = QueueSpec(unique_queue_name("poison"), ("stock.#",), delivery_limit=2)
    consumer = RabbitConsumer(rabbitmq, spec, handler)
    stop = asyncio.Event()
    publisher = RabbitPublisher(rabbitmq)
    running = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.sleep(0.5)  # the consumer has declared its queue
        await publisher.publish([poison, good])
        await asyncio.wait_for(done.wait(), timeout=10)
        dead = await _dead_letter(rabbitmq, spec)
    finally:
        stop.set()
        await running
        await publisher.close()
        await _delete(rabbitmq, spec)
    assert json.loads(dead.body)["id"] == poison["id"]
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
    assert attempts == {"POISON": spec.delivery_limit + 1, "GOOD": 1}, "the rest kept flowing"


async def _dead_letter(url: str, spec: QueueSpec) -> aio_pika.abc.AbstractIncomingMessage:
    return await _first_message(url, spec, spec.dead_letter_queue)


async def _first_message(url: str, spec: QueueSpec, name: str | None = None) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(name or spec.name)
        for _ in range(100):
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
                return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"nothing reached {queue.name}")
    finally:
        await connection.close()


async def _delete(url: str, spec: QueueSpec) -> None:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for name in (spec.name, spec.dead_letter_queue):
            await channel.queue_delete(name, if_unused=False, if_empty=False)
    finally:
        await connection.close()
