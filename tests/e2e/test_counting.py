"""Cycle counts over the API: the three discrepancy paths, freezing, resolution, racing shipments, blind counting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from stockd.adapters.db.tables import movements, outbox
from stockd.bootstrap import Stockd
from stockd.domain.security import Role
from tests.conftest import new_key, seed
from tests.support.clock import FakeClock
from tests.support.invariants import assert_invariants
from tests.support.pump import pump, subscribe_consumers


@pytest.fixture
async def stocked(services: Stockd) -> Stockd:
    await seed(services, {("TEE", "WH-A"): 100, ("MUG", "WH-A"): 10})
    subscribe_consumers(services)
    return services


async def open_count(client: httpx.AsyncClient, sku: str = "TEE", location: str = "WH-A") -> str:
    r = await client.post("/v1/counts", json={"sku": sku, "location": location})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def submit(client: httpx.AsyncClient, count_id: str, counted: int, **extra: Any) -> dict[str, Any]:
    r = await client.post(f"/v1/counts/{count_id}/submit", json={"counted": counted, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def row(client: httpx.AsyncClient, sku: str = "TEE") -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/stock/{sku}/WH-A")).json()
    return body


async def events(services: Stockd, type_: str) -> list[dict[str, Any]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.payload).where(outbox.c.type == type_).order_by(outbox.c.id))
        return [dict(r.payload) for r in rows]


async def alerts_of(client: httpx.AsyncClient, kind: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"kind": kind} | ({"status": status} if status else {})
    items: list[dict[str, Any]] = (await client.get("/v1/alerts", params=params)).json()["items"]
    return items


async def test_a_count_within_5_percent_is_adjusted_with_reason_cycle_count(
    client: httpx.AsyncClient, stocked: Stockd
) -> None:
    count_id = await open_count(client)
    done = await submit(client, count_id, 96)
    assert (done["status"], done["outcome"], done["expected"], done["adjustment"]) == ("adjusted", "adjusted", 100, -4)
    assert done["discrepancy_pct"] == "4.0000"
    level = await row(client)
    assert (level["on_hand"], level["frozen"]) == (96, False)
    ledger = (await client.get("/v1/movements", params={"sku": "TEE", "reference": count_id})).json()["items"]
    assert [(m["kind"], m["reason"], m["quantity"]) for m in ledger] == [("counted", "cycle_count", 4)]
    (recorded,) = await events(stocked, "count.recorded")
    expected = {"count_id": count_id, "counted": 96, "expected": 100, "discrepancy_pct": 4.0, "outcome": "adjusted"}
    assert {k: recorded["data"][k] for k in expected} == expected
    await pump(stocked)
    assert await alerts_of(client, "count_discrepancy") == []
    await assert_invariants(stocked)


async def test_a_count_between_5_and_10_percent_opens_an_investigation_without_adjusting(
    client: httpx.AsyncClient, stocked: Stockd
) -> None:
    count_id = await open_count(client)
    done = await submit(client, count_id, 92)
    assert (done["status"], done["outcome"], done["discrepancy_pct"]) == ("investigating", "investigating", "8.0000")
    level = await row(client)
    assert (level["on_hand"], level["frozen"]) == (100, False)
    r = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    assert r.status_code == 201, "an investigation alone does not freeze"
    await pump(stocked)
    (alert,) = await alerts_of(client, "count_discrepancy", "open")
    assert (alert["sku"], alert["location"], alert["severity"]) == ("TEE", "WH-A", "warning")
    assert "counted 92, expected 100" in alert["message"]
    assert await alerts_of(client, "sku_frozen") == []
    await assert_invariants(stocked)


async def test_over_10_percent_freezes_until_a_manager_accepts(client: httpx.AsyncClient, stocked: Stockd) -> None:
    count_id = await open_count(client)
    done = await submit(client, count_id, 85)
    assert (done["status"], done["outcome"]) == ("investigating", "frozen")
    assert (await row(client))["frozen"] is True
    refused = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    assert refused.status_code == 409 and refused.json()["code"] == "sku_frozen"
    assert "TEE is frozen at WH-A" in refused.json()["detail"]
    other = await client.post("/v1/reservations", json={"lines": [{"sku": "MUG", "location": "WH-A", "quantity": 1}]})
    assert other.status_code == 201, "only the counted row is frozen"
    (frozen,) = await events(stocked, "sku.frozen")
    assert (frozen["sku"], frozen["location"]) == ("TEE", "WH-A")
    await pump(stocked)
    assert [a["status"] for a in await alerts_of(client, "sku_frozen")] == ["open"]
    assert [a["status"] for a in await alerts_of(client, "count_discrepancy")] == ["open"]

    r = await client.post(f"/v1/counts/{count_id}/resolve", json={"action": "accept", "note": "recounted by hand"})
    assert r.status_code == 200, r.text
    assert r.json()["count"]["status"] == "accepted" and r.json()["recount"] is None
    level = await row(client)
    assert (level["on_hand"], level["frozen"]) == (85, False)
    ok = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    assert ok.status_code == 201, "resolving unfreezes"
    assert [e["type"] for e in await events(stocked, "sku.unfrozen")] == ["sku.unfrozen"]
    assert (await events(stocked, "count.resolved"))[0]["data"]["resolution"] == "accept"
    await pump(stocked)
    assert [a["status"] for a in await alerts_of(client, "sku_frozen")] == ["resolved"]
    assert [a["status"] for a in await alerts_of(client, "count_discrepancy")] == ["resolved"]
    again = await client.post(f"/v1/counts/{count_id}/resolve", json={"action": "reject"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    await assert_invariants(stocked)


async def test_reject_unfreezes_without_adjusting_and_recount_keeps_the_freeze(
    client: httpx.AsyncClient, stocked: Stockd
) -> None:
    first = await open_count(client)
    await submit(client, first, 50)
    r = await client.post(f"/v1/counts/{first}/resolve", json={"action": "recount"})
    assert r.status_code == 200, r.text
    recount = r.json()["recount"]
    assert (r.json()["count"]["status"], recount["status"], recount["recount_of"]) == ("recounted", "open", first)
    assert (await row(client))["frozen"] is True, "a recount keeps the row frozen"
    second = await submit(client, recount["id"], 70)
    assert second["outcome"] == "frozen"
    r = await client.post(f"/v1/counts/{recount['id']}/resolve", json={"action": "reject"})
    assert r.status_code == 200 and r.json()["count"]["status"] == "rejected"
    level = await row(client)
    assert (level["on_hand"], level["frozen"]) == (100, False), "rejected: nothing adjusted, unfrozen"
    third = await submit(client, await open_count(client), 99)
    assert third["status"] == "adjusted"
    await assert_invariants(stocked)


async def test_a_recount_that_agrees_with_the_system_unfreezes(client: httpx.AsyncClient, stocked: Stockd) -> None:
    first = await open_count(client)
    await submit(client, first, 0)
    recount = (await client.post(f"/v1/counts/{first}/resolve", json={"action": "recount"})).json()["recount"]
    assert (await submit(client, recount["id"], 100))["status"] == "matched"
    assert (await row(client))["frozen"] is False


async def test_a_shipment_racing_the_count_yields_the_right_adjustment(
    client: httpx.AsyncClient, stocked: Stockd, clock: FakeClock
) -> None:
    held = (await client.post("/v1/reservations", json={
        "lines": [{"sku": "TEE", "location": "WH-A", "quantity": 10}]})).json()
    count_id = await open_count(client)
    clock.advance(minutes=5)
    counted_at = clock.now()  # the shelf holds 97: 3 units were lost before the count
    clock.advance(minutes=5)
    assert (await client.post(f"/v1/reservations/{held['id']}/ship")).status_code == 200  # 10 leave after the count
    clock.advance(minutes=5)
    done = await submit(client, count_id, 97, counted_at=counted_at.isoformat())
    assert (done["expected"], done["adjustment"], done["status"]) == (100, -3, "adjusted")
    assert (await row(client))["on_hand"] == 87, "100 - 10 shipped - 3 lost"
    await assert_invariants(stocked)


async def test_the_counter_counts_blind(client: httpx.AsyncClient, anonymous: httpx.AsyncClient,
                                        stocked: Stockd) -> None:
    operator = {"Authorization": f"Bearer {await new_key(stocked, Role.OPERATOR)}"}
    opened = await anonymous.post("/v1/counts", headers=operator, json={"sku": "TEE", "location": "WH-A"})
    assert opened.status_code == 201, opened.text
    count_id = opened.json()["id"]
    for response in (opened, await anonymous.get(f"/v1/counts/{count_id}", headers=operator)):
        assert not {"snapshot_on_hand", "expected", "adjustment", "discrepancy_pct"} & response.json().keys()
        assert "100" not in response.text
    submitted = await anonymous.post(f"/v1/counts/{count_id}/submit", headers=operator, json={"counted": 91})
    assert submitted.status_code == 200 and "expected" not in submitted.json()
    listed = await anonymous.get("/v1/counts", headers=operator)
    assert "expected" not in listed.json()["items"][0]
    manager = {"Authorization": f"Bearer {await new_key(stocked, Role.MANAGER)}"}
    seen = (await anonymous.get(f"/v1/counts/{count_id}", headers=manager)).json()
    assert (seen["snapshot_on_hand"], seen["expected"], seen["adjustment"]) == (100, 100, -9)
    denied = await anonymous.post(f"/v1/counts/{count_id}/resolve", headers=operator, json={"action": "accept"})
    assert denied.status_code == 403


async def test_bad_count_input_is_refused_and_changes_nothing(client: httpx.AsyncClient, stocked: Stockd,
                                                              clock: FakeClock) -> None:
    count_id = await open_count(client)
    twin = await client.post("/v1/counts", json={"sku": "TEE", "location": "WH-A"})
    assert twin.status_code == 409 and count_id in twin.json()["detail"]
    for body in ({"counted": -1}, {"counted": 1.5}, {"counted": "7"}, {}, {"counted": 1, "extra": 1}):
        assert (await client.post(f"/v1/counts/{count_id}/submit", json=body)).status_code == 422, body
    early = clock.now().replace(year=2020).isoformat()
    r = await client.post(f"/v1/counts/{count_id}/submit", json={"counted": 1, "counted_at": early})
    assert r.status_code == 422 and "before the count was opened" in r.json()["detail"]
    assert (await client.post("/v1/counts/nope/submit", json={"counted": 1})).status_code == 404
    assert (await client.post("/v1/counts", json={"sku": "NOPE", "location": "WH-A"})).status_code == 422
    assert (await client.post(f"/v1/counts/{count_id}/resolve", json={"action": "accept"})).status_code == 409
    assert (await client.post(f"/v1/counts/{count_id}/resolve", json={"action": "maybe"})).status_code == 422
    assert (await client.get(f"/v1/counts/{count_id}")).json()["status"] == "open"
    assert (await row(client))["on_hand"] == 100
    async with stocked.engine.connect() as conn:
        assert (await conn.execute(select(movements).where(movements.c.kind == "counted"))).first() is None
