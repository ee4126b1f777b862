"""Replenishment against the real databases, with a simulated clock and sales through the real use cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stockd.bootstrap import Stockd
from stockd.domain.errors import InvalidStateError, ValidationError
from stockd.domain.replenishment import Budget, PoStatus
from stockd.service_layer import purchasing
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.replenishment import apply_stock_event
from tests.support.clock import FakeClock
from tests.support.invariants import assert_invariants
from tests.support.replenishment import events, run_replenishment, setup_catalog, simulate


async def _policy_rop(services: Stockd, sku: str, location: str = "WH") -> int:
    policy = await services.runner.run(lambda uow: uow.replenishment.get_policy(sku, location))
    assert policy is not None
    return policy.reorder_point


async def _stock(services: Stockd, sku: str, location: str = "WH") -> tuple[int, int]:
    level = await services.runner.run(lambda uow: uow.stock.get(sku, location))
    assert level is not None
    return level.on_hand, level.in_transit


async def test_reorder_points_follow_sales_velocity(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 20_000)})
    await simulate(services, clock, 42, {"TEE": 5})
    await run_replenishment(services)
    steady = await _policy_rop(services, "TEE")
    await simulate(services, clock, 28, {"TEE": 20})
    await run_replenishment(services)
    busy = await _policy_rop(services, "TEE")
    await simulate(services, clock, 35, {"TEE": 1})
    await run_replenishment(services)
    quiet = await _policy_rop(services, "TEE")
    # 7 promised lead days: about 35 units of lead-time demand at 5/day, 140 at 20/day, 7 at 1/day.
    assert 35 <= steady < 60, steady
    assert busy > 2.5 * steady, (steady, busy)
    assert quiet < steady / 2, (steady, quiet)
    changes = await services.runner.run(lambda uow: uow.replenishment.changes("TEE", "WH", 10))
    assert [c.new for c in changes if c.field == "reorder_point"][:3] == [quiet, busy, steady]
    assert all("forecast" in c.reason for c in changes)
    assert len(await events(services, "reorder_point.changed")) == 3
    await assert_invariants(services)


async def test_one_purchase_order_per_supplier_and_never_a_second_draft(services: Stockd, clock: FakeClock) -> None:
    skus = {f"A{i}": ("ACME", 50) for i in range(4)} | {f"B{i}": ("BOLT", 50) for i in range(3)}
    await setup_catalog(services, skus, suppliers={"ACME": 5, "BOLT": 10})
    await simulate(services, clock, 14, dict.fromkeys(skus, 3))
    first = await run_replenishment(services)
    assert sorted(po.supplier for po in first.purchase_orders) == ["ACME", "BOLT"]
    by_supplier = {po.supplier: po for po in first.purchase_orders}
    assert sorted(ln.sku for ln in by_supplier["ACME"].lines) == ["A0", "A1", "A2", "A3"]
    assert sorted(ln.sku for ln in by_supplier["BOLT"].lines) == ["B0", "B1", "B2"]
    for po in first.purchase_orders:
        assert all(ln.quantity % 10 == 0 and ln.quantity >= 20 for ln in po.lines)
        assert po.status is PoStatus.DRAFT
    created = await events(services, "po.created")
    assert sorted(e["data"]["supplier"] for e in created) == ["ACME", "BOLT"]
    assert created[0]["data"]["lines"] and created[0]["data"]["currency"] == "EUR"

    again = await run_replenishment(services)
    assert again.purchase_orders == [], "SKUs on an open draft get no second draft"
    assert {s["sku"] for s in again.skipped} == set(skus)

    acme = by_supplier["ACME"]
    await services.runner.run(lambda uow: purchasing.send_po(uow, services.env, SYSTEM, acme.id))
    _on_hand, in_transit = await _stock(services, "A0")
    assert in_transit == next(ln.quantity for ln in acme.lines if ln.sku == "A0")
    third = await run_replenishment(services)
    assert third.purchase_orders == [], "stock in transit counts: no new order"
    assert len(await events(services, "po.sent")) == 1
    await assert_invariants(services)


async def test_receipts_move_in_transit_to_on_hand_partially_then_fully(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 30)})
    await simulate(services, clock, 14, {"TEE": 2})
    (po,) = (await run_replenishment(services)).purchase_orders
    (line,) = po.lines
    env = services.env
    await services.runner.run(lambda uow: purchasing.send_po(uow, env, SYSTEM, po.id))
    before, _ = await _stock(services, "TEE")

    async def receive(quantity: int) -> purchasing.PurchaseOrder:
        return await services.runner.run(
            lambda uow: purchasing.receive_po(uow, env, SYSTEM, po.id, {("TEE", "WH"): quantity}))

    with pytest.raises(ValidationError, match="outstanding"):
        await receive(line.quantity + 1)
    assert await _stock(services, "TEE") == (before, line.quantity), "an over-receipt changes nothing"
    partial = await receive(10)
    assert partial.status is PoStatus.PARTIALLY_RECEIVED
    assert await _stock(services, "TEE") == (before + 10, line.quantity - 10)
    full = await receive(line.quantity - 10)
    assert full.status is PoStatus.RECEIVED
    assert await _stock(services, "TEE") == (before + line.quantity, 0)
    with pytest.raises(InvalidStateError):
        await receive(1)
    received = await events(services, "po.received")
    assert [e["data"]["status"] for e in received] == ["partially_received", "received"]
    assert [e["data"]["late"] for e in received] == [False, False]
    await assert_invariants(services)


async def test_cancelling_a_sent_po_gives_back_what_is_in_transit(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 30)})
    await simulate(services, clock, 14, {"TEE": 2})
    (po,) = (await run_replenishment(services)).purchase_orders
    env = services.env
    await services.runner.run(lambda uow: purchasing.send_po(uow, env, SYSTEM, po.id))
    await services.runner.run(lambda uow: purchasing.receive_po(uow, env, SYSTEM, po.id, {("TEE", "WH"): 10}))
    cancelled = await services.runner.run(lambda uow: purchasing.cancel_po(uow, env, SYSTEM, po.id))
    assert cancelled.status is PoStatus.CANCELLED
    assert (await _stock(services, "TEE"))[1] == 0
    await assert_invariants(services)


async def test_a_late_po_raises_po_late_once(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 30)}, suppliers={"ACME": 5})
    await simulate(services, clock, 14, {"TEE": 2})
    (po,) = (await run_replenishment(services)).purchase_orders
    env = services.env
    await services.runner.run(lambda uow: purchasing.send_po(uow, env, SYSTEM, po.id))
    clock.advance(days=4)
    assert await services.runner.run(lambda uow: purchasing.flag_late_pos(uow, env)) == []
    clock.advance(days=3)
    flagged = await services.runner.run(lambda uow: purchasing.flag_late_pos(uow, env))
    assert [p.id for p in flagged] == [po.id]
    assert await services.runner.run(lambda uow: purchasing.flag_late_pos(uow, env)) == []
    (late,) = await events(services, "po.late")
    assert late["data"]["po_id"] == po.id and late["data"]["supplier"] == "ACME"
    assert late["data"]["days_late"] == pytest.approx(2.0)
    stored = await services.runner.run(lambda uow: purchasing.get_po(uow, po.id))
    assert stored.late


async def test_the_third_late_delivery_moves_orders_to_the_backup_supplier(
    services: Stockd, clock: FakeClock
) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 40)}, suppliers={"ACME": 3, "SPARE": 6}, backups={"TEE": "SPARE"})
    env = services.env
    await simulate(services, clock, 14, {"TEE": 3})
    suppliers_used = []
    for _ in range(4):
        result = await run_replenishment(services)
        (po,) = result.purchase_orders
        suppliers_used.append(po.supplier)
        await services.runner.run(lambda uow, po_id=po.id: purchasing.send_po(uow, env, SYSTEM, po_id))
        clock.advance(days=5)  # promised 3 days: every ACME delivery is 2 days late
        await services.runner.run(lambda uow, po_id=po.id: purchasing.receive_po(uow, env, SYSTEM, po_id, None))
        await simulate(services, clock, 10, {"TEE": 6})
    assert suppliers_used == ["ACME", "ACME", "ACME", "SPARE"]
    (switched,) = await events(services, "supplier.switched")
    assert switched["data"] == {
        "sku": "TEE", "from_supplier": "ACME", "to_supplier": "SPARE", "late_deliveries": 3,
        "reason": switched["data"]["reason"]}
    assert "3 late deliveries" in switched["data"]["reason"]
    stats = await services.runner.run(lambda uow: purchasing.reliability(uow, "ACME"))
    assert (stats.receipts, stats.late_receipts, stats.on_time_rate) == (3, 3, 0.0)
    assert stats.lead_time.measured and stats.lead_time.mean == pytest.approx(5.0)
    await assert_invariants(services)


async def test_the_budget_caps_the_drafted_orders_and_reports_the_cuts(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"CHEAP": ("ACME", 40), "DEAR": ("ACME", 40)})
    env = services.env

    async def set_prices(uow: UnitOfWork) -> None:
        from stockd.service_layer import catalog, commands

        await catalog.update_product(uow, env, SYSTEM, commands.UpdateProduct("CHEAP", price=Decimal("4.50")))
        await catalog.update_product(uow, env, SYSTEM, commands.UpdateProduct("DEAR", price=Decimal("40.00")))

    await services.runner.run(set_prices)
    await simulate(services, clock, 14, {"CHEAP": 3, "DEAR": 3})
    unlimited = await run_replenishment(services, dry_run=True)
    (wanted,) = unlimited.purchase_orders
    budget = Budget(f"{clock.current:%Y-%m}", "EUR", wanted.total / 2)
    await services.runner.run(lambda uow: uow.replenishment.set_budget(budget, clock.now()))
    result = await run_replenishment(services)
    (po,) = result.purchase_orders
    assert po.total <= budget.amount
    assert result.cuts and result.cuts[0].sku == "CHEAP", "the lower margin is cut first"
    kept = {ln.sku: ln.quantity for ln in po.lines}
    assert kept.get("DEAR") == next(ln.quantity for ln in wanted.lines if ln.sku == "DEAR")
    assert all(q % 10 == 0 for q in kept.values())
    runs = await services.runner.run(lambda uow: uow.replenishment.list_runs(5))
    assert runs[0]["cuts"][0]["sku"] == "CHEAP" and runs[0]["budgets"][0]["amount"] == str(budget.amount)
    await services.runner.run(lambda uow: purchasing.cancel_po(uow, env, SYSTEM, po.id))
    clock.advance(minutes=1)
    assert (await run_replenishment(services)).purchase_orders, "a cancelled PO no longer uses the budget"


async def test_stock_low_is_emitted_once_and_cleared_once(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 200)})
    await simulate(services, clock, 14, {"TEE": 4})
    await run_replenishment(services)
    rop = await _policy_rop(services, "TEE")
    env = services.env

    def stock_event(event_id: str, available: int) -> dict[str, object]:
        return {"id": event_id, "type": "stock.shipped", "sku": "TEE", "location": "WH", "sequence": 1,
                "data": {"available": available}}

    emitted = []
    for i, available in enumerate([rop + 5, rop, rop - 3, rop + 40, rop + 50, rop]):
        event = stock_event(f"e{i}", available)
        emitted.append(await services.runner.run(lambda uow, ev=event: apply_stock_event(uow, env, ev)))
    assert emitted == [None, "stock.low", None, "stock.low_cleared", None, "stock.low"]
    low = await events(services, "stock.low")
    assert low[0]["data"] == {"sku": "TEE", "location": "WH", "available": rop, "reorder_point": rop}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_scheduled_job_flags_late_pos_and_drafts_orders(services: Stockd, clock: FakeClock) -> None:
    import asyncio

    from stockd.entrypoints.workers.replenisher import run_replenisher

    await setup_catalog(services, {"TEE": ("ACME", 30), "MUG": ("ACME", 30)}, suppliers={"ACME": 2})
    await simulate(services, clock, 14, {"TEE": 2, "MUG": 2})
    (po,) = (await run_replenishment(services)).purchase_orders
    await services.runner.run(lambda uow: purchasing.send_po(uow, services.env, SYSTEM, po.id))
    clock.advance(days=3)
    await simulate(services, clock, 2, {"TEE": 2, "MUG": 2})
    services.settings.replenish_interval_seconds = 0.05
    stop = asyncio.Event()
    job = asyncio.create_task(run_replenisher(services, stop))
    for _ in range(200):
        if await events(services, "po.late"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # a few more rounds: po.late stays single
    stop.set()
    await job
    (late,) = await events(services, "po.late")
    assert late["data"]["po_id"] == po.id


async def test_a_stockout_raises_the_service_level_with_its_reason(services: Stockd, clock: FakeClock) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 44)})
    await simulate(services, clock, 8, {"TEE": [1, 5]})
    await run_replenishment(services)
    before = await services.runner.run(lambda uow: uow.replenishment.get_policy("TEE", "WH"))
    await simulate(services, clock, 10, {"TEE": [1, 5]})  # 20 left, sold down to 0
    await run_replenishment(services)
    after = await services.runner.run(lambda uow: uow.replenishment.get_policy("TEE", "WH"))
    assert before is not None and after is not None
    assert (before.service_level, after.service_level) == (0.95, 0.975)
    changes = await services.runner.run(lambda uow: uow.replenishment.changes("TEE", "WH", 10))
    (raised,) = [c for c in changes if c.field == "service_level"]
    assert (raised.old, raised.new) == (0.95, 0.975) and "1 stockout(s)" in raised.reason
    latest = (await events(services, "reorder_point.changed"))[-1]["data"]
    assert latest["reason"].startswith("1 stockout(s)") and latest["new"] == after.reorder_point
    assert after.safety_stock > before.safety_stock, "a higher service level holds more safety stock"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_low_stock_watcher_runs_on_the_bus(services: Stockd, clock: FakeClock) -> None:
    import asyncio

    from stockd.entrypoints.workers.consumers import low_stock_consumer, run_consumers
    from stockd.entrypoints.workers.relay import run_relay
    from tests.support.replenishment import sell

    await setup_catalog(services, {"TEE": ("ACME", 100)})
    await simulate(services, clock, 10, {"TEE": 3})
    await run_replenishment(services)
    rop = await _policy_rop(services, "TEE")
    stop = asyncio.Event()
    jobs = [asyncio.create_task(run_relay(services, stop)),
            asyncio.create_task(run_consumers(services, stop, [low_stock_consumer]))]
    await asyncio.sleep(0.1)
    on_hand, _ = await _stock(services, "TEE")
    await sell(services, "TEE", "WH", on_hand - rop)  # down to the reorder point
    await sell(services, "TEE", "WH", 1)
    for _ in range(100):
        if await events(services, "stock.low"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*jobs)
    (low,) = await events(services, "stock.low")
    assert low["data"] == {"sku": "TEE", "location": "WH", "available": rop, "reorder_point": rop}
