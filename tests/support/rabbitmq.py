"""The real RabbitMQ for tests: a queue of the test's own bound to stockd.events, and a broker outage on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from stockd.adapters.bus.rabbitmq import EXCHANGE, QueueSpec, declare_consumer_queue
from tests.support.databases import missing_service

# Each test session has a virtual host of its own, so the durable queues that `stockd worker` declares (and the
# events that pile up in them once it stops) never leak into another run or another session on the same broker.
SESSION_VHOST = f"stockd-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
RABBITMQ_URL = os.environ.get("STOCKD_TEST_RABBITMQ_URL", f"amqp://guest:guest@127.0.0.1:5672/{SESSION_VHOST}")
_vhost_ready = False


def _ensure_session_vhost() -> None:
    global _vhost_ready
    if _vhost_ready or "STOCKD_TEST_RABBITMQ_URL" in os.environ:
        return
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, timeout=60)
    for name in listed.stdout.split():
        if name.startswith("stockd-test-") and not _pid_alive(int(name.split("-")[2])):
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)
    _rabbitmqctl("add_vhost", SESSION_VHOST)
    _rabbitmqctl("set_permissions", "-p", SESSION_VHOST, "guest", ".*", ".*", ".*")
    _vhost_ready = True


def drop_session_vhost() -> None:
    """At the end of the session: the vhost goes, with every queue and message in it."""
    if _vhost_ready:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", SESSION_VHOST], capture_output=True, timeout=60)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def require_rabbitmq() -> str:
    """The broker's URL; fails the test (skips only with STOCKD_TEST_ALLOW_SKIP=1) when it cannot be reached."""
    try:
        await asyncio.to_thread(_ensure_session_vhost)
    except Exception as exc:
        missing_service("RabbitMQ", exc)
    try:
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    except Exception as exc:
        missing_service("RabbitMQ", exc)
    await connection.close()
    return RABBITMQ_URL


def unique_queue_name(prefix: str = "test") -> str:
    return f"stockd.{prefix}.{uuid.uuid4().hex[:8]}"


@dataclass
class EventQueue:
    """A quorum queue of the test's own, bound to the event exchange; reads what reached it, by event id.

    Each read opens its own connection, so a queue outlives a broker restart in the middle of a test."""

    url: str
    spec: QueueSpec
    received: list[dict[str, Any]] = field(default_factory=list)

    async def declare(self) -> None:
        async with _channel(self.url) as channel:
            await declare_consumer_queue(channel, self.spec)

    async def collect(self, expected: Iterable[str], within: float = 20.0) -> list[dict[str, Any]]:
        """Read until every expected event id has arrived (or time runs out); returns all read so far."""
        missing = set(expected) - {e["id"] for e in self.received}
        deadline = time.monotonic() + within
        async with _channel(self.url) as channel:
            queue = await channel.get_queue(self.spec.name)
            while missing and time.monotonic() < deadline:
                message = await queue.get(fail=False, timeout=5)
                if message is None:
                    await asyncio.sleep(0.02)
                    continue
                await message.ack()
                event = json.loads(message.body)
                assert message.message_id == event["id"], "the message id must be the event id"
                self.received.append(event)
                missing.discard(event["id"])
        return self.received

    async def delete(self) -> None:
        async with _channel(self.url) as channel:
            # Quorum queues refuse the if-unused/if-empty checks aio-pika asks for by default.
            for name in (self.spec.name, self.spec.dead_letter_queue):
                await channel.queue_delete(name, if_unused=False, if_empty=False)


@contextlib.asynccontextmanager
async def _channel(url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(url, timeout=10)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def bound_queue(
    url: str, bindings: tuple[str, ...] = ("#",), delivery_limit: int = 10
) -> AsyncIterator[EventQueue]:
    queue = EventQueue(url, QueueSpec(unique_queue_name(), bindings, delivery_limit))
    await queue.declare()
    try:
        yield queue
    finally:
        with contextlib.suppress(Exception):
            await queue.delete()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


async def _wait_reachable(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection = await aio_pika.connect(url, timeout=2)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            await connection.close()
            return


@contextlib.asynccontextmanager
async def broker_stopped(url: str) -> AsyncIterator[None]:
    """RabbitMQ's application stopped for the duration of the block, and started again whatever happens."""
    await asyncio.to_thread(_rabbitmqctl, "stop_app")
    try:
        yield
    finally:
        await asyncio.to_thread(_rabbitmqctl, "start_app")
        await _wait_reachable(url)


@contextlib.asynccontextmanager
async def published_count_reaches(url: str, count: int) -> AsyncIterator[asyncio.Event]:
    """An event set the moment the `count`-th event reaches the exchange (a tap: an exclusive queue, no acks),
    to time a fault against the publisher rather than against a slower consumer."""
    reached = asyncio.Event()
    seen = 0

    async def tick(_message: AbstractIncomingMessage) -> None:
        nonlocal seen
        seen += 1
        if seen >= count:
            reached.set()

    async with _channel(url) as channel:
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(tick, no_ack=True)
        yield reached
