"""The in-process bus and the routing rules it shares with RabbitMQ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from stockd.adapters.bus.in_memory import InMemoryBus
from stockd.adapters.bus.routing import routing_key, topic_matches


def event(event_type: str = "stock.reserved", sku: str | None = "TEE", location: str | None = "WH-A",
          event_id: str = "e1") -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "sku": sku, "location": location, "sequence": 1, "data": {}}


def test_the_routing_key_is_type_location_sku() -> None:
    assert routing_key(event()) == "stock.reserved.WH-A.TEE"
    assert routing_key(event(sku="A.B", location="X.Y")) == "stock.reserved.X_Y.A_B", "dots would add words"
    assert routing_key(event("po.created", sku=None, location=None)) == "po.created._._"


@pytest.mark.parametrize(("pattern", "key", "matches"), [
    ("#", "stock.reserved.WH-A.TEE", True),
    ("stock.reserved.#", "stock.reserved.WH-A.TEE", True),
    ("stock.*.WH-A.*", "stock.released.WH-A.MUG", True),
    ("stock.*.WH-A.*", "stock.released.WH-B.MUG", False),
    ("stock.*", "stock.reserved.WH-A.TEE", False),
    ("stock.#.TEE", "stock.reserved.WH-A.TEE", True),
    ("stock.reserved.#", "stock.reserved", True),
    ("*.*.*.*", "po.created._._", True),
])
def test_topic_patterns_mean_what_they_mean_in_rabbitmq(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


async def test_each_event_goes_to_every_matching_subscriber_in_order() -> None:
    bus = InMemoryBus()
    everything: list[str] = []
    reserved: list[str] = []

    async def all_of_them(e: Mapping[str, Any]) -> None:
        everything.append(e["id"])

    async def only_reserved(e: Mapping[str, Any]) -> None:
        reserved.append(e["id"])

    bus.subscribe("#", all_of_them)
    bus.subscribe("stock.reserved.#", only_reserved)
    await bus.publish([event(event_id="1"), event("stock.released", event_id="2"), event(event_id="3")])
    assert everything == ["1", "2", "3"] and reserved == ["1", "3"]


async def test_a_failing_subscriber_gets_a_dead_letter_and_the_others_still_get_the_event() -> None:
    bus = InMemoryBus()
    got: list[str] = []

    async def poison(e: Mapping[str, Any]) -> None:
        raise ValueError("cannot handle it")

    async def fine(e: Mapping[str, Any]) -> None:
        got.append(e["id"])

    bus.subscribe("#", poison, name="broken")
    bus.subscribe("#", fine)
    await bus.publish([event(event_id="1"), event(event_id="2")])
    assert got == ["1", "2"]
    assert [(d.subscription, d.event["id"]) for d in bus.dead_letters] == [("broken", "1"), ("broken", "2")]
