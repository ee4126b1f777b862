"""The REST API as a client uses it (through the ASGI app, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from stockd.bootstrap import Stockd
from tests.support.clock import FakeClock
from tests.support.invariants import assert_invariants

JSON = {"content-type": "application/json"}


async def setup_catalog(client: httpx.AsyncClient) -> None:
    for code, kind in (("WH-A", "warehouse"), ("WH-B", "warehouse"), ("SHOP", "store")):
        r = await client.post("/v1/locations", json={"code": code, "name": f"Location {code}", "kind": kind})
        assert r.status_code == 201, r.text
    for sku in ("TEE", "MUG"):
        r = await client.post("/v1/products", json={"sku": sku, "name": sku.title(), "unit_cost": "2.5",
                                                    "price": 12})
        assert r.status_code == 201, r.text
    r = await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 10},
                                                                             {"sku": "MUG", "quantity": 4}]})
    assert r.status_code == 201, r.text


async def test_products_and_locations_are_managed_over_the_api(client: httpx.AsyncClient) -> None:
    await setup_catalog(client)
    r = await client.patch("/v1/products/TEE", json={"price": "15.00"})
    assert r.status_code == 200 and r.json()["price"] == "15.0000"
    assert [p["sku"] for p in (await client.get("/v1/products")).json()] == ["MUG", "TEE"]
    assert (await client.get("/v1/products", params={"q": "mu"})).json()[0]["sku"] == "MUG"
    assert (await client.get("/v1/locations/SHOP")).json()["kind"] == "store"
    r = await client.post("/v1/products", json={"sku": "TEE", "name": "again", "unit_cost": 1, "price": 1})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    assert (await client.get("/v1/products/NOPE")).status_code == 404


async def test_stock_shows_five_numbers_per_location_and_per_sku(client: httpx.AsyncClient) -> None:
    await setup_catalog(client)
    r = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 3}]})
    assert r.status_code == 201
    await client.post(f"/v1/reservations/{r.json()['id']}/commit")
    await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 2}]})
    await client.post("/v1/transfers", json={"source": "WH-A", "destination": "WH-B",
                                             "lines": [{"sku": "TEE", "quantity": 1}]})
    at_a = (await client.get("/v1/stock/TEE/WH-A")).json()
    assert {k: at_a[k] for k in ("on_hand", "reserved", "committed", "in_transit", "available")} == {
        "on_hand": 9, "reserved": 2, "committed": 3, "in_transit": 0, "available": 4}
    assert at_a["last_updated"]
    totals = (await client.get("/v1/stock/TEE")).json()
    assert (totals["on_hand"], totals["in_transit"], totals["available"]) == (9, 1, 4)
    assert {loc["location"] for loc in totals["locations"]} == {"WH-A", "WH-B"}
    listed = (await client.get("/v1/stock", params={"location": "WH-A"})).json()["items"]
    assert {row["sku"] for row in listed} == {"TEE", "MUG"}
    shop = (await client.get("/v1/stock/TEE/SHOP")).json()
    assert shop["available"] == 0 and shop["on_hand"] == 0


async def test_reservation_lifecycle_over_http(client: httpx.AsyncClient, services: Stockd) -> None:
    await setup_catalog(client)
    body = {"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 4},
                      {"sku": "MUG", "location": "WH-A", "quantity": 4}], "order_id": "order-77", "ttl_seconds": 600}
    held = (await client.post("/v1/reservations", json=body)).json()
    assert held["status"] == "active" and held["order_id"] == "order-77"
    short = await client.post("/v1/reservations", json={"lines": [{"sku": "MUG", "location": "WH-A", "quantity": 1}]})
    assert short.status_code == 409
    problem = short.json()
    assert problem["code"] == "insufficient_stock"
    assert problem["shortfalls"] == [{"sku": "MUG", "location": "WH-A", "requested": 1, "available": 0}]
    assert "requested 1, available 0" in problem["detail"]
    assert short.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"/v1/reservations/{held['id']}/commit")).json()["status"] == "committed"
    assert (await client.post(f"/v1/reservations/{held['id']}/ship")).json()["status"] == "shipped"
    again = await client.post(f"/v1/reservations/{held['id']}/release")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    rows = await assert_invariants(services)
    assert rows[("TEE", "WH-A")]["on_hand"] == 6 and rows[("MUG", "WH-A")]["on_hand"] == 0


async def test_expiry_over_http(client: httpx.AsyncClient, clock: FakeClock, services: Stockd) -> None:
    await setup_catalog(client)
    held = (await client.post("/v1/reservations", json={
        "lines": [{"sku": "MUG", "location": "WH-A", "quantity": 4}], "ttl_seconds": 5})).json()
    assert (await client.get("/v1/stock/MUG/WH-A")).json()["available"] == 0
    clock.advance(seconds=5)
    assert (await client.get("/v1/stock/MUG/WH-A")).json()["available"] == 4
    assert (await client.get(f"/v1/reservations/{held['id']}")).json()["status"] == "expired"
    late = await client.post(f"/v1/reservations/{held['id']}/commit")
    assert late.status_code == 409 and late.json()["code"] == "reservation_expired"
    kinds = [m["kind"] for m in (await client.get("/v1/movements", params={"sku": "MUG"})).json()["items"]]
    assert kinds == ["received", "reserved", "expired"]
    await assert_invariants(services)


async def test_adjust_return_transfer_and_the_ledger(client: httpx.AsyncClient, services: Stockd) -> None:
    await setup_catalog(client)
    r = await client.post("/v1/adjustments", json={"sku": "TEE", "location": "WH-A", "quantity": -2,
                                                   "reason": "damaged", "note": "crushed box"})
    assert r.status_code == 201 and r.json()["on_hand"] == 8
    wrong_sign = await client.post("/v1/adjustments", json={"sku": "TEE", "location": "WH-A", "quantity": 2,
                                                            "reason": "damaged"})
    assert wrong_sign.status_code == 422 and "negative" in wrong_sign.json()["detail"]
    too_much = await client.post("/v1/adjustments", json={"sku": "TEE", "location": "WH-A", "quantity": -9,
                                                          "reason": "shrinkage"})
    assert too_much.status_code == 409
    assert (await client.post("/v1/returns", json={"sku": "TEE", "location": "SHOP", "quantity": 1,
                                                   "reference": "RMA-1"})).json()["on_hand"] == 1
    transfer = (await client.post("/v1/transfers", json={"source": "WH-A", "destination": "WH-B",
                                                         "lines": [{"sku": "TEE", "quantity": 5}]})).json()
    assert transfer["status"] == "in_transit"
    assert (await client.get("/v1/stock/TEE/WH-B")).json()["in_transit"] == 5
    received = await client.post(f"/v1/transfers/{transfer['id']}/receive")
    assert received.json()["status"] == "received"
    assert (await client.post(f"/v1/transfers/{transfer['id']}/receive")).status_code == 409
    at_b = (await client.get("/v1/stock/TEE/WH-B")).json()
    assert (at_b["on_hand"], at_b["in_transit"]) == (5, 0)
    page = (await client.get("/v1/movements", params={"sku": "TEE", "location": "WH-A"})).json()
    adjusted = next(m for m in page["items"] if m["kind"] == "adjusted")
    assert adjusted["reason"] == "damaged" and adjusted["reference"] == "crushed box"
    assert adjusted["before"]["on_hand"] == 10 and adjusted["after"]["on_hand"] == 8
    assert adjusted["actor"] and adjusted["request_id"]
    first = (await client.get("/v1/movements", params={"limit": 2})).json()
    rest = (await client.get("/v1/movements", params={"after_id": first["next_after_id"], "limit": 100})).json()
    # 2 received, 1 adjusted, 1 returned, 2 transferred, 1 transfer received
    assert len(first["items"]) + len(rest["items"]) == 7
    assert (await client.get("/v1/reconciliation")).json() == {"consistent": True, "drift": []}
    await assert_invariants(services)


async def test_ledger_time_range(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await setup_catalog(client)
    clock.advance(hours=1)
    marker = clock.now().isoformat()
    await client.post("/v1/returns", json={"sku": "MUG", "location": "WH-A", "quantity": 1})
    items = (await client.get("/v1/movements", params={"since": marker})).json()["items"]
    assert [m["kind"] for m in items] == ["returned"]
    before = (await client.get("/v1/movements", params={"until": marker})).json()["items"]
    assert {m["kind"] for m in before} == {"received"}


async def test_idempotency_key_replays_the_first_answer(client: httpx.AsyncClient, services: Stockd) -> None:
    await setup_catalog(client)
    body = {"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 2}]}
    headers = {"Idempotency-Key": "checkout-123"}
    first = await client.post("/v1/reservations", json=body, headers=headers)
    replay = await client.post("/v1/reservations", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/reservations", json={**body, "ttl_seconds": 60}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    rows = await assert_invariants(services)
    assert rows[("TEE", "WH-A")]["reserved"] == 2


async def test_concurrent_requests_with_one_key_have_one_effect(client: httpx.AsyncClient, services: Stockd) -> None:
    await setup_catalog(client)
    body = {"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]}
    responses = await asyncio.gather(*(client.post("/v1/reservations", json=body, headers={"Idempotency-Key": "k"})
                                       for _ in range(10)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    rows = await assert_invariants(services)
    assert rows[("TEE", "WH-A")]["reserved"] == 1


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"a b"])
async def test_a_malformed_idempotency_key_is_refused(client: httpx.AsyncClient, key: bytes) -> None:
    await setup_catalog(client)
    r = await client.post("/v1/returns", json={"sku": "MUG", "location": "WH-A", "quantity": 1},
                          headers={"Idempotency-Key": key})
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]


async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json()["database"] == "ok"
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/reservations" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200
