"""Routing keys and topic patterns, shared by the in-memory bus and RabbitMQ so one pattern means the same on both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A word that is absent (an event with no sku or location) still takes its place, so patterns keep their shape.
MISSING = "_"


def routing_key(event: Mapping[str, Any]) -> str:
    """`<type>.<location>.<sku>`, e.g. `stock.reserved.WH-EAST.TEE-BLK-M` (DESIGN, Events)."""
    return ".".join((str(event["type"]), _word(event.get("location")), _word(event.get("sku"))))


def _word(value: object) -> str:
    # A dot inside a SKU or location would split it into two words and shift every pattern after it.
    # The key only routes; consumers read the real values from the body.
    text = "" if value is None else str(value)
    return text.replace(".", "_") or MISSING


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic semantics: `*` is exactly one word, `#` zero or more."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])
