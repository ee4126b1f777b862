"""Replenishment over HTTP: suppliers, policies, the run, purchase orders and budgets; bad input is a 4xx."""

from __future__ import annotations

import httpx
import pytest

from stockd.bootstrap import Stockd
from stockd.domain.security import Role
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.invariants import assert_invariants


async def setup_purchasing(client: httpx.AsyncClient) -> None:
    """setup_catalog, a supplier ACME selling TEE (packs of 6, at least 12) and a static reorder point of 20."""
    await setup_catalog(client)
    r = await client.post("/v1/suppliers", json={"code": "ACME", "name": "Acme", "currency": "EUR",
                                                 "lead_time_days": 7, "contact": "orders@acme.test"})
    assert r.status_code == 201, r.text
    r = await client.put("/v1/suppliers/ACME/products/TEE", json={"unit_cost": "2.00", "pack_size": 6,
                                                                   "min_order": 12})
    assert r.status_code == 200, r.text
    r = await client.put("/v1/reorder-policies/TEE/WH-A", json={"static_reorder_point": 20, "cover_days": 10})
    assert r.status_code == 200, r.text


async def drafted_po(client: httpx.AsyncClient) -> str:
    await setup_purchasing(client)
    r = await client.post("/v1/replenishment/run", json={})
    assert r.status_code == 200, r.text
    return str(r.json()["purchase_orders"][0]["id"])


async def test_a_buyer_drafts_sends_and_receives_a_purchase_order(client: httpx.AsyncClient, services: Stockd) -> None:
    await setup_purchasing(client)
    dry = await client.post("/v1/replenishment/run", json={"dry_run": True})
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert (await client.get("/v1/purchase-orders")).json() == [], "a dry run writes nothing"

    r = await client.post("/v1/replenishment/run", json={}, headers={"Idempotency-Key": "run-1"})
    assert r.status_code == 200, r.text
    (po,) = r.json()["purchase_orders"]
    # Position 10 at a static reorder point of 20 and no sales: order up to 21, in packs of 6 -> 12.
    assert po["supplier"] == "ACME" and po["lines"] == [
        {"sku": "TEE", "location": "WH-A", "quantity": 12, "unit_cost": "2.0000"}]
    assert po["total"] == "24.0000"
    replay = await client.post("/v1/replenishment/run", json={}, headers={"Idempotency-Key": "run-1"})
    assert replay.json() == r.json() and replay.headers["idempotent-replayed"] == "true"
    assert len((await client.get("/v1/purchase-orders", params={"status": "draft"})).json()) == 1

    sent = await client.post(f"/v1/purchase-orders/{po['id']}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert (await client.get("/v1/stock/TEE/WH-A")).json()["in_transit"] == 12
    again = await client.post(f"/v1/purchase-orders/{po['id']}/send")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"

    over = await client.post(f"/v1/purchase-orders/{po['id']}/receive",
                             json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 13}]})
    assert over.status_code == 422 and "outstanding" in over.json()["detail"]
    part = await client.post(f"/v1/purchase-orders/{po['id']}/receive",
                             json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 5}]})
    assert part.json()["status"] == "partially_received" and part.json()["lines"][0]["received"] == 5
    rest = await client.post(f"/v1/purchase-orders/{po['id']}/receive", json={})
    assert rest.json()["status"] == "received"
    level = (await client.get("/v1/stock/TEE/WH-A")).json()
    assert (level["on_hand"], level["in_transit"]) == (22, 0)

    stats = (await client.get("/v1/suppliers/ACME/stats")).json()
    assert stats["receipts"] == 1 and stats["on_time_rate"] == 1.0 and stats["lead_time"]["measured"] is False
    policy = (await client.get("/v1/reorder-policies/TEE/WH-A")).json()
    assert policy["effective_reorder_point"] == 20 and policy["supplier"] == "ACME"
    changes = (await client.get("/v1/reorder-policies/TEE/WH-A/changes")).json()
    assert {c["field"] for c in changes} >= {"static_reorder_point", "cover_days"}
    runs = (await client.get("/v1/replenishment/runs")).json()
    assert [len(run["purchase_orders"]) for run in runs] == [1]
    forecast = (await client.get("/v1/forecasts/TEE/WH-A")).json()
    assert forecast["method"] == "zero" and forecast["demand_class"] == "none"
    await assert_invariants(services)


async def test_budgets_are_set_per_month_and_currency(client: httpx.AsyncClient) -> None:
    r = await client.put("/v1/budgets/2026-03/EUR", json={"amount": "1000.00"})
    assert r.status_code == 200 and r.json() == {"period": "2026-03", "currency": "EUR", "amount": "1000.00"}
    await client.put("/v1/budgets/2026-03/EUR", json={"amount": "800"})
    assert (await client.get("/v1/budgets")).json() == [{"period": "2026-03", "currency": "EUR", "amount": "800.0000"}]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_bad_replenishment_input_is_a_clear_4xx_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await setup_purchasing(client)
    before = {path: (await client.get(path)).json() for path in ("/v1/suppliers", "/v1/suppliers/ACME/products",
                                                                 "/v1/reorder-policies", "/v1/budgets")}
    cases = [
        ("POST", "/v1/suppliers", {"code": "ACME", "name": "Again", "currency": "EUR", "lead_time_days": 1}, 409),
        ("POST", "/v1/suppliers", {"code": "X", "name": "X", "currency": "euro", "lead_time_days": 1}, 422),
        ("POST", "/v1/suppliers", {"code": "X", "name": "X", "currency": "EUR", "lead_time_days": -1}, 422),
        ("POST", "/v1/suppliers", {"code": "X", "name": "X", "currency": "EUR", "lead_time_days": "3"}, 422),
        ("PATCH", "/v1/suppliers/NOPE", {"name": "n"}, 404),
        ("PUT", "/v1/suppliers/NOPE/products/TEE", {"unit_cost": 1}, 404),
        ("PUT", "/v1/suppliers/ACME/products/NOPE", {"unit_cost": 1}, 404),
        ("PUT", "/v1/suppliers/ACME/products/TEE", {"unit_cost": 1, "pack_size": 0}, 422),
        ("PUT", "/v1/suppliers/ACME/products/TEE", {"unit_cost": 1, "pack_size": 5, "min_order": 7}, 422),
        ("PUT", "/v1/suppliers/ACME/products/TEE", {"unit_cost": "NaN"}, 422),
        ("PUT", "/v1/reorder-policies/TEE/WH-A", {"service_level": 1.5}, 422),
        ("PUT", "/v1/reorder-policies/TEE/WH-A", {"static_reorder_point": -2}, 422),
        ("PUT", "/v1/reorder-policies/TEE/NOWHERE", {"service_level": 0.9}, 404),
        ("PUT", "/v1/reorder-policies/TEE/WH-A", {"order_method": "magic"}, 422),
        ("PUT", "/v1/budgets/2026-13/EUR", {"amount": 5}, 422),
        ("PUT", "/v1/budgets/2026-03/eur", {"amount": 5}, 422),
        ("PUT", "/v1/budgets/2026-03/EUR", {"amount": -5}, 422),
        ("POST", "/v1/replenishment/run", {"dry_run": "maybe"}, 422),
        ("POST", "/v1/purchase-orders/nope/send", None, 404),
        ("POST", "/v1/purchase-orders/nope/receive", {}, 404),
        ("GET", "/v1/purchase-orders/nope", None, 404),
        ("GET", "/v1/purchase-orders?status=lost", None, 422),
        ("GET", "/v1/reorder-policies/MUG/WH-A", None, 404),
        ("GET", "/v1/forecasts/NOPE/WH-A", None, 404),
        ("GET", "/v1/suppliers/NOPE/stats", None, 404),
    ]
    for method, path, body, status in cases:
        r = await client.request(method, path, json=body)
        assert r.status_code == status, (method, path, body, r.text)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
    second = await client.put("/v1/suppliers/ACME/products/MUG", json={"unit_cost": 1})
    assert second.status_code == 200
    other = await client.post("/v1/suppliers", json={"code": "BOLT", "name": "B", "currency": "EUR",
                                                     "lead_time_days": 2})
    assert other.status_code == 201
    clash = await client.put("/v1/suppliers/BOLT/products/TEE", json={"unit_cost": 1, "priority": "primary"})
    assert clash.status_code == 409 and "primary" in clash.json()["detail"]
    r = await client.post("/v1/replenishment/run", json={})
    po_id = r.json()["purchase_orders"][0]["id"]
    for body in ({"lines": []}, {"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}] * 2},
                 {"lines": [{"sku": "MUG", "location": "WH-A", "quantity": 1}]}):
        bad = await client.post(f"/v1/purchase-orders/{po_id}/receive", json=body)
        assert bad.status_code in (409, 422), (body, bad.text)
    assert (await client.get("/v1/stock/TEE/WH-A")).json()["on_hand"] == 10
    after = {path: (await client.get(path)).json() for path in before}
    after["/v1/suppliers"] = [s for s in after["/v1/suppliers"] if s["code"] != "BOLT"]
    after["/v1/suppliers/ACME/products"] = [p for p in after["/v1/suppliers/ACME/products"] if p["sku"] != "MUG"]
    for policy in after["/v1/reorder-policies"]:
        policy["computed_at"] = None
    for policy in before["/v1/reorder-policies"]:
        policy["computed_at"] = None
    assert {k: v for k, v in after.items() if k != "/v1/reorder-policies"} == {
        k: v for k, v in before.items() if k != "/v1/reorder-policies"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_key_scoped_to_another_warehouse_cannot_see_or_act_on_its_orders(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd
) -> None:
    po_id = await drafted_po(client)
    token = await new_key(services, Role.MANAGER, locations=frozenset({"WH-B"}))
    scoped = {"Authorization": f"Bearer {token}"}
    refused = [
        await anonymous.post("/v1/replenishment/run", json={}, headers=scoped),
        await anonymous.get(f"/v1/purchase-orders/{po_id}", headers=scoped),
        await anonymous.post(f"/v1/purchase-orders/{po_id}/send", headers=scoped),
        await anonymous.post(f"/v1/purchase-orders/{po_id}/cancel", headers=scoped),
        await anonymous.put("/v1/reorder-policies/TEE/WH-A", json={"service_level": 0.9}, headers=scoped),
        await anonymous.get("/v1/reorder-policies/TEE/WH-A", headers=scoped),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert (await anonymous.get("/v1/purchase-orders", headers=scoped)).json() == []
    assert (await client.get(f"/v1/purchase-orders/{po_id}")).json()["status"] == "draft"
