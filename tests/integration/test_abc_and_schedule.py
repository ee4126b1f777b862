"""ABC classes from generated sales, and the count schedule per class."""

from __future__ import annotations

import random
from decimal import Decimal

import httpx

from stockd.bootstrap import Stockd
from stockd.domain.counting import AbcPolicy, classify
from stockd.entrypoints.workers.notifications import schedule_once
from tests.support.clock import FakeClock


async def sell(client: httpx.AsyncClient, sku: str, units: int) -> None:
    r = await client.post("/v1/reservations", json={"lines": [{"sku": sku, "location": "WH-A", "quantity": units}]})
    assert r.status_code == 201, r.text
    assert (await client.post(f"/v1/reservations/{r.json()['id']}/ship")).status_code == 200


async def catalog(client: httpx.AsyncClient, skus: dict[str, int]) -> None:
    await client.post("/v1/locations", json={"code": "WH-A", "name": "A", "kind": "warehouse"})
    for sku, price in skus.items():
        await client.post("/v1/products", json={"sku": sku, "name": sku, "unit_cost": 1, "price": price})
    await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": s, "quantity": 1000} for s in skus]})


async def test_abc_classes_follow_revenue_over_the_window(client: httpx.AsyncClient, services: Stockd,
                                                          clock: FakeClock) -> None:
    rnd = random.Random(7)
    prices = {f"SKU-{i:02}": rnd.randint(1, 50) for i in range(12)}
    await catalog(client, prices)
    units = {sku: rnd.choice([0, 1, 3, 8, 20]) for sku in prices}
    clock.advance(days=1)
    await sell(client, "SKU-00", 500)  # a big sale outside the window must not count
    clock.advance(days=100)
    for sku, n in units.items():
        if n:
            await sell(client, sku, n)
    r = await client.post("/v1/abc/recompute")
    assert r.status_code == 200, r.text
    got = {c["sku"]: c["abc_class"] for c in r.json()["items"]}
    revenue = {sku: Decimal(prices[sku] * units[sku]) for sku in prices}
    assert got == {sku: cls.value for sku, cls in classify(revenue, AbcPolicy()).items()}
    ranked = sorted(revenue, key=lambda s: -revenue[s])
    assert got[ranked[0]] == "A" and all(got[s] == "C" for s in prices if revenue[s] == 0)
    total = sum(revenue.values())
    a_revenue = sum(revenue[s] for s in prices if got[s] == "A")
    assert a_revenue - max(revenue[s] for s in prices if got[s] == "A") < total * Decimal("0.2")
    assert (await client.get("/v1/abc", params={"abc_class": "A"})).json()["items"][0]["sku"] == ranked[0]


async def test_counts_fall_due_by_class_interval(client: httpx.AsyncClient, services: Stockd,
                                                 clock: FakeClock) -> None:
    await catalog(client, {"FAST": 100, "MID": 10, "OTHER": 1, "SLOW": 1})
    await sell(client, "FAST", 2)  # 200 of 470: A
    await sell(client, "MID", 17)  # 170, after 43% of revenue: B
    await sell(client, "OTHER", 100)  # 100, after 79%: C
    assert await schedule_once(services) is True, "the schedule computes classes when there are none"
    assert await schedule_once(services) is False, "and not again before its interval"
    classes = {c["sku"]: c["abc_class"] for c in (await client.get("/v1/abc")).json()["items"]}
    assert classes == {"FAST": "A", "MID": "B", "OTHER": "C", "SLOW": "C"}

    async def due() -> set[str]:
        r = await client.get("/v1/counts/due", params={"location": "WH-A"})
        assert r.status_code == 200, r.text
        return {d["sku"] for d in r.json()["items"]}

    assert await due() == {"FAST", "MID", "OTHER", "SLOW"}, "never counted: all due"
    for sku in classes:
        count = (await client.post("/v1/counts", json={"sku": sku, "location": "WH-A"})).json()
        on_hand = (await client.get(f"/v1/stock/{sku}/WH-A")).json()["on_hand"]
        r = await client.post(f"/v1/counts/{count['id']}/submit", json={"counted": on_hand})
        assert r.status_code == 200 and r.json()["status"] == "matched"
    assert await due() == set()
    for days, expected in ((6, set()), (1, {"FAST"}), (23, {"FAST", "MID"}),
                           (60, {"FAST", "MID", "OTHER", "SLOW"})):
        clock.advance(days=days)
        assert await due() == expected, days
    assert (await client.get("/v1/counts/due", params={"location": "NOWHERE"})).status_code == 422
