"""The in-process bus: the default on a laptop, and the twin of RabbitPublisher in tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from stockd.adapters.bus.routing import routing_key, topic_matches

log = structlog.get_logger("stockd.bus")

Handler = Callable[[Mapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    name: str
    pattern: str
    handler: Handler


@dataclass(frozen=True)
class DeadLetter:
    subscription: str
    event: Mapping[str, Any]
    error: str


@dataclass
class InMemoryBus:
    """Delivers each event, in order, to every subscription whose topic pattern matches its routing key.

    Like a broker, publishing succeeds once the bus holds the event: a subscriber that fails does not bounce the
    event back to the relay (which would redeliver it to every other subscriber, forever if it is poison).
    The failure is logged and the event kept in `dead_letters`, the in-process dead-letter queue.
    """

    subscriptions: list[Subscription] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    published: int = 0

    def subscribe(self, pattern: str, handler: Handler, name: str | None = None) -> Subscription:
        """`pattern` as a RabbitMQ binding key over `<type>.<location>.<sku>`: `stock.reserved.#`, `#.WH-EAST.*`."""
        subscription = Subscription(name or f"subscriber-{len(self.subscriptions) + 1}", pattern, handler)
        self.subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.remove(subscription)

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            key = routing_key(event)
            for subscription in tuple(self.subscriptions):
                if topic_matches(subscription.pattern, key):
                    await self._deliver(subscription, event)
            self.published += 1

    async def _deliver(self, subscription: Subscription, event: Mapping[str, Any]) -> None:
        try:
            await subscription.handler(event)
        except Exception as exc:
            log.exception("subscriber_failed", subscription=subscription.name, event_id=event.get("id"))
            self.dead_letters.append(DeadLetter(subscription.name, event, repr(exc)))

    async def close(self) -> None:
        """Nothing to release; here so both buses close the same way."""
