"""A transient view of `stockd.events` for one API process's live feed: an exclusive, auto-deleted queue.

The live feed is for eyes and dashboards, not for consumers that must see everything (those own a durable queue
and an inbox): if the process dies its queue goes with it, and nothing is redelivered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from yarl import URL

from stockd.adapters.bus.rabbitmq import declare_events_exchange

FeedHandler = Callable[[Mapping[str, Any]], Awaitable[None]]


class RabbitFeedSource:
    def __init__(self, url: str, handler: FeedHandler, bindings: str | tuple[str, ...] = "stock.#") -> None:
        self._url = url
        self._handler = handler
        self._bindings = (bindings,) if isinstance(bindings, str) else bindings

    async def run(self, stop: asyncio.Event) -> None:
        connection = aio_pika.RobustConnection(URL(self._url), reconnect_interval=1.0)
        try:
            await connection.connect(timeout=10)
            channel = await connection.channel()
            exchange = await declare_events_exchange(channel)
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            for binding in self._bindings:
                await queue.bind(exchange, routing_key=binding)
            tag = await queue.consume(self._on_message, no_ack=True)
            await stop.wait()
            await queue.cancel(tag)
        finally:
            await connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = json.loads(message.body)
        except ValueError:
            return
        if isinstance(event, dict):
            await self._handler(event)
