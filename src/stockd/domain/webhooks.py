"""Webhook subscriptions: which event types go to which URL, and the state of each delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stockd.domain.errors import ValidationError

_PATTERN = re.compile(r"^(#|\*|[a-z0-9_]+)(\.(#|\*|[a-z0-9_]+))*$")
MAX_PATTERNS = 50


def check_pattern(pattern: str) -> str:
    """Event-type patterns use the bus's topic words: `alert.*`, `po.created`, `stock.#`, `#` for all."""
    if len(pattern) > 100 or not _PATTERN.match(pattern):
        raise ValidationError(f"event pattern {pattern!r}: dot-separated words of a-z 0-9 _ , or * or #")
    return pattern


def type_matches(pattern: str, event_type: str) -> bool:
    """`*` is exactly one word, `#` zero or more (as RabbitMQ topics), over the event type only."""
    return _match(pattern.split("."), event_type.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    created_by: str
    description: str | None = None

    def wants(self, event_type: str) -> bool:
        return self.active and any(type_matches(p, event_type) for p in self.event_types)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up after the last attempt


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_code: int | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the n-th failed attempt: base, 2*base, 4*base ... up to cap."""
        delay: timedelta = self.base * (2 ** min(30, max(0, attempts - 1)))
        return min(self.cap, delay)
