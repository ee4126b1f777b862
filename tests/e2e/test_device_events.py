"""Device events over HTTP: exactly once, counts by latest timestamp, bad events rejected one by one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from stockd.bootstrap import Stockd
from stockd.domain.security import Role
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.invariants import assert_invariants

T0 = datetime(2026, 2, 16, 10, 0, tzinfo=UTC)


def ev(event_id: str, kind: str, quantity: int, minute: float, sku: str = "TEE", location: str = "WH-A",
       **extra: Any) -> dict[str, Any]:
    stamp = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return {"event": kind, "event_id": event_id, "product_id": sku, "location": location, "quantity": quantity,
            "timestamp": stamp, **extra}


async def on_hand(client: httpx.AsyncClient, sku: str = "TEE", location: str = "WH-A") -> int:
    return int((await client.get(f"/v1/stock/{sku}/{location}")).json()["on_hand"])


@pytest.fixture
async def device(services: Stockd, client: httpx.AsyncClient) -> dict[str, str]:
    """The demo catalogue, and a device key for WH-A and WH-B."""
    await setup_catalog(client)  # TEE: 10 on hand at WH-A; MUG: 4
    return {"Authorization": f"Bearer {await new_key(services, Role.DEVICE, frozenset({'WH-A', 'WH-B'}))}"}


async def test_the_same_event_five_times_applies_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, device: dict[str, str], services: Stockd
) -> None:
    event = ev("scan-1", "item_removed", 3, 1)
    outcomes = [(await anonymous.post("/v1/device-events", json=event, headers=device)).json()["results"][0]["outcome"]
                for _ in range(5)]
    assert outcomes == ["applied"] + ["duplicate"] * 4
    malformed = ev("scan-bad", "item_removed", 1, 2) | {"product_id": "bad sku!"}
    twice = [(await anonymous.post("/v1/device-events", json=malformed, headers=device)).json()["results"][0]["outcome"]
             for _ in range(2)]
    assert twice == ["rejected", "duplicate"], "a rejected event id is remembered too"
    bad = await anonymous.post("/v1/device-events", json=ev("scan-2", "item_removed", 0, 2), headers=device)
    assert bad.status_code == 422 and "positive quantity" in bad.json()["results"][0]["reason"]
    assert await on_hand(client) == 7
    await assert_invariants(services)


async def test_counts_resolve_by_latest_timestamp_whatever_the_arrival_order(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, device: dict[str, str], services: Stockd
) -> None:
    events = [
        ev("a", "item_added", 5, 1),  # 15
        ev("c1", "item_counted", 12, 2),  # 12: the count includes everything before it
        ev("r", "item_removed", 2, 3),  # 10
        ev("c0", "item_counted", 40, 1.5),  # older than c1: stale whenever it arrives
        ev("b", "item_added", 1, 0.5),  # before c1: already inside the count
        ev("c2", "item_counted", 9, 4),  # 9
        ev("a2", "item_added", 4, 5),  # 13
    ]
    expected = 13
    rng = random.Random(11)
    for attempt in range(3):
        shuffled = events[:]
        rng.shuffle(shuffled)
        prefix = f"run{attempt}-"
        renamed = [{**e, "event_id": prefix + e["event_id"]} for e in shuffled]
        if attempt:  # back to 10 on hand, so each run starts alike
            correction = {"sku": "TEE", "location": "WH-A", "reason": "correction", "quantity": 10 - expected}
            assert (await client.post("/v1/adjustments", json=correction)).status_code == 201
        for one in renamed:  # one by one, each its own request: arrival order is the shuffle
            await anonymous.post("/v1/device-events", json=one, headers=device)
        assert await on_hand(client) == expected, f"arrival order {[e['event_id'] for e in renamed]}"
        # later runs reuse the rows: move the timestamps past the earlier runs' counts
        events = [{**e, "timestamp": (datetime.fromisoformat(e["timestamp"]) + timedelta(hours=1)).isoformat()}
                  for e in events]
    await assert_invariants(services)


async def test_a_batch_rejects_bad_events_with_reasons_and_applies_the_good(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, device: dict[str, str], services: Stockd
) -> None:
    batch = [
        ev("good-1", "item_added", 2, 1),
        {"event": "item_added", "product_id": "TEE", "location": "WH-A", "quantity": 1},  # no id, no timestamp
        ev("ghost", "item_added", 1, 2, sku="GHOST"),
        ev("neg", "item_removed", -4, 3),
        ev("when", "item_added", 1, 4) | {"timestamp": "yesterday"},
        ev("naive", "item_added", 1, 4) | {"timestamp": "2026-02-16T10:00:00"},
        ev("too-many", "item_removed", 500, 5),
        ev("move", "item_moved", 3, 6, to_location="WH-B"),
        ev("weird", "item_teleported", 1, 7),
        ev("good-2", "item_counted", 20, 8, sku="MUG"),
        ev("future", "item_added", 1, 60 * 24 * 365 * 2),
    ]
    r = await anonymous.post("/v1/device-events/batch", json={"events": batch}, headers=device)
    assert r.status_code == 200
    body = r.json()
    outcome = {res["index"]: (res["outcome"], res["reason"]) for res in body["results"]}
    assert [outcome[i][0] for i in range(len(batch))] == [
        "applied", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "applied", "rejected",
        "applied", "rejected"]
    assert "event_id" in outcome[1][1] and "timestamp" in outcome[1][1]
    assert "GHOST" in outcome[2][1]
    assert "quantity" in outcome[3][1]
    assert "timestamp" in outcome[4][1] and "timestamp" in outcome[5][1]
    assert "available 12" in outcome[6][1] and "requested 500" in outcome[6][1]
    assert "event" in outcome[8][1]
    assert "future" in outcome[10][1]
    assert body["counts"]["applied"] == 3 and body["counts"]["rejected"] == 8
    assert await on_hand(client) == 9 and await on_hand(client, location="WH-B") == 3
    assert await on_hand(client, sku="MUG") == 20
    kinds = [m["kind"] for m in (await client.get("/v1/movements", params={"sku": "TEE"})).json()["items"]]
    assert kinds == ["received", "added", "moved_out", "moved_in"]
    await assert_invariants(services)


async def test_a_device_key_cannot_post_for_another_location(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, device: dict[str, str], services: Stockd
) -> None:
    r = await anonymous.post("/v1/device-events", json=ev("x", "item_added", 1, 1, location="SHOP"), headers=device)
    assert r.status_code == 403 and "SHOP" in r.json()["detail"]
    batch = {"events": [ev("y", "item_added", 1, 1), ev("z", "item_added", 1, 1, location="SHOP")]}
    assert (await anonymous.post("/v1/device-events/batch", json=batch, headers=device)).status_code == 403
    assert await on_hand(client) == 10, "nothing applied"
    viewer = {"Authorization": f"Bearer {await new_key(services, Role.VIEWER)}"}
    refused = await anonymous.post("/v1/device-events", json=ev("v", "item_added", 1, 1), headers=viewer)
    assert refused.status_code == 403


async def test_a_big_batch_with_duplicates_and_disorder_matches_a_simple_model(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, device: dict[str, str], services: Stockd
) -> None:
    await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 990}]})
    rng = random.Random(5)
    events = []
    for i in range(1000):
        kind = rng.choice(["item_added", "item_removed"])
        events.append(ev(f"e{i}", kind, rng.randint(1, 3), i / 10))
    model = 1000 + sum(e["quantity"] if e["event"] == "item_added" else -e["quantity"] for e in events)
    sent = events + rng.sample(events, 100)  # 10% duplicates
    rng.shuffle(sent)  # and out of order
    r = await anonymous.post("/v1/device-events/batch", json={"events": sent}, headers=device)
    counts = r.json()["counts"]
    assert counts["applied"] == 1000 and counts["duplicate"] == 100 and counts["rejected"] == 0
    assert await on_hand(client) == model
    await assert_invariants(services)
