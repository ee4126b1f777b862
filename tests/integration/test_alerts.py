"""Alerts are raised once per problem (repeats and racing triggers count occurrences), cleared by their events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from stockd.adapters.db.tables import alerts, outbox
from stockd.bootstrap import Stockd
from stockd.domain.alerts import AlertDraft, AlertKind, alert_key
from stockd.entrypoints.api.feed import ChangeFeed, Listener, run_feed
from stockd.entrypoints.workers.notifications import schedule_once
from stockd.service_layer.alerts import raise_alert
from stockd.service_layer.ports import UnitOfWork
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.pump import pump, subscribe_consumers


async def emit(services: Stockd, type_: str, data: dict[str, Any], sku: str | None = None,
               location: str | None = None) -> None:
    now = services.env.clock.now()

    async def run(uow: UnitOfWork) -> None:
        await uow.events.emit(type_, data, now, sku=sku, location=location)

    await services.runner.run(run)


async def listed(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/alerts", params=params)).json()["items"]
    return items


async def test_racing_and_repeated_triggers_raise_one_alert(services: Stockd) -> None:
    await seed(services, {("TEE", "WH-A"): 1})
    key = alert_key(AlertKind.LOW_STOCK, "TEE", "WH-A")
    draft = AlertDraft(AlertKind.LOW_STOCK, key, "TEE low at WH-A", "TEE", "WH-A", {"available": 1})
    results = await asyncio.gather(*(services.runner.run(lambda uow: raise_alert(uow, services.env, draft))
                                     for _ in range(12)))
    assert sum(created for _, created in results) == 1
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(alerts.c.occurrences, alerts.c.status))).all()
        raised = (await conn.execute(select(func.count()).where(outbox.c.type == "alert.raised"))).scalar_one()
    assert [tuple(r) for r in rows] == [(12, "open")]
    assert raised == 1, "one alert.raised event, not one per trigger"


async def test_events_raise_and_clear_alerts_once_each(client: httpx.AsyncClient, services: Stockd) -> None:
    subscribe_consumers(services)
    await client.post("/v1/locations", json={"code": "WH-A", "name": "A", "kind": "warehouse"})
    await client.post("/v1/products", json={"sku": "TEE", "name": "Tee", "unit_cost": 1, "price": 2})
    low = {"sku": "TEE", "location": "WH-A", "available": 2, "reorder_point": 5}
    for _ in range(3):
        await emit(services, "stock.low", low, "TEE", "WH-A")
    await emit(services, "po.late", {"po_id": "PO-7", "supplier": "ACME", "expected_at": "2026-03-01", "days_late": 2})
    await emit(services, "po.late", {"po_id": "PO-7", "supplier": "ACME", "expected_at": "2026-03-01", "days_late": 3})
    failed = {"channel": "shopify", "sku": "TEE", "error": "HTTP 502", "attempts": 3}
    await emit(services, "channel.sync_failed", failed, "TEE")
    await pump(services)
    opened = {a["kind"]: a for a in await listed(client, status="open")}
    assert set(opened) == {"low_stock", "po_late", "channel_sync_failing"}
    assert (opened["low_stock"]["occurrences"], opened["po_late"]["occurrences"]) == (3, 2)
    await pump(services)  # nothing new: redelivery would be dropped by the inbox anyway
    assert len(await listed(client)) == 3

    r = await client.post(f"/v1/alerts/{opened['low_stock']['id']}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["acknowledged_by"]
    await emit(services, "stock.low", low, "TEE", "WH-A")
    await emit(services, "stock.low_cleared", {**low, "available": 9}, "TEE", "WH-A")
    await emit(services, "po.received", {"po_id": "PO-7", "supplier": "ACME", "status": "partially_received",
                                         "late": True})
    await emit(services, "channel.sync_recovered", {"channel": "shopify", "sku": "TEE"}, "TEE")
    await pump(services)
    status = {a["kind"]: (a["status"], a["occurrences"]) for a in await listed(client)}
    assert status == {"low_stock": ("resolved", 4), "po_late": ("open", 2), "channel_sync_failing": ("resolved", 1)}
    await emit(services, "po.received", {"po_id": "PO-7", "supplier": "ACME", "status": "received", "late": True})
    await pump(services)
    assert await listed(client, status="open") == []

    await emit(services, "stock.low", low, "TEE", "WH-A")
    await pump(services)
    assert len(await listed(client, kind="low_stock")) == 2, "a problem that comes back after resolution is new"
    async with services.engine.connect() as conn:
        types = [r.type for r in await conn.execute(select(outbox.c.type).where(outbox.c.type.like("alert.%")))]
    assert types.count("alert.raised") == 4 and types.count("alert.acknowledged") == 1


async def test_out_of_stock_and_expiry_spike(client: httpx.AsyncClient, services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("TEE", "WH-A"): 2})
    services.settings.expiry_spike_threshold = 1  # two expiries within the window make a spike
    subscribe_consumers(services)
    line = {"sku": "TEE", "location": "WH-A", "quantity": 1}
    for _ in range(2):
        assert (await client.post("/v1/reservations", json={"lines": [line], "ttl_seconds": 60})).status_code == 201
    await pump(services)
    (alert,) = await listed(client, kind="out_of_stock")
    assert (alert["status"], alert["severity"], alert["sku"]) == ("open", "critical", "TEE")
    assert await listed(client, kind="reservation_expiry_spike") == []
    clock.advance(seconds=61)
    assert (await client.get("/v1/stock/TEE/WH-A")).json()["available"] == 2  # reading expires them
    await pump(services)
    assert [a["status"] for a in await listed(client, kind="out_of_stock")] == ["resolved"]
    (spike,) = await listed(client, kind="reservation_expiry_spike")
    assert spike["status"] == "open" and spike["data"]["expired"] == 2


async def test_alert_api_refuses_what_it_cannot_do(client: httpx.AsyncClient, services: Stockd) -> None:
    draft = AlertDraft(AlertKind.PO_LATE, alert_key(AlertKind.PO_LATE, "PO-1"), "late")
    alert, _ = await services.runner.run(lambda uow: raise_alert(uow, services.env, draft))
    assert (await client.post("/v1/alerts/nope/acknowledge")).status_code == 404
    assert (await client.get("/v1/alerts", params={"status": "sleeping"})).status_code == 422
    assert (await client.get("/v1/alerts", params={"limit": 10**9})).status_code == 422
    assert (await client.post(f"/v1/alerts/{alert.id}/resolve")).json()["status"] == "resolved"
    again = await client.post(f"/v1/alerts/{alert.id}/resolve")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert (await client.post(f"/v1/alerts/{alert.id}/acknowledge")).status_code == 409


async def test_alert_events_reach_the_live_feed(services: Stockd) -> None:
    feed = ChangeFeed()
    stop = asyncio.Event()
    task = asyncio.create_task(run_feed(services, feed, stop))
    await asyncio.sleep(0)
    listener = Listener(None, None, None)
    stream = feed.stream(listener)
    assert await anext(stream) == ": connected\n\n"
    draft = AlertDraft(AlertKind.PO_LATE, alert_key(AlertKind.PO_LATE, "PO-3"), "PO-3 is late")
    await services.runner.run(lambda uow: raise_alert(uow, services.env, draft))
    await pump(services)
    message = await asyncio.wait_for(anext(stream), 5)
    assert message.startswith("id: ") and "event: alert.raised" in message and "PO-3 is late" in message
    stop.set()
    await task
    await stream.aclose()


async def test_the_schedule_resolves_out_of_stock_alerts_whose_row_has_stock_again(
    client: httpx.AsyncClient, services: Stockd
) -> None:
    await seed(services, {("TEE", "WH-A"): 3})
    key = alert_key(AlertKind.OUT_OF_STOCK, "TEE", "WH-A")
    draft = AlertDraft(AlertKind.OUT_OF_STOCK, key, "TEE is out of stock at WH-A", "TEE", "WH-A")
    await services.runner.run(lambda uow: raise_alert(uow, services.env, draft))  # say, from a stale event
    await schedule_once(services)
    assert [a["status"] for a in await listed(client, kind="out_of_stock")] == ["resolved"]
