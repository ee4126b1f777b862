"""Helpers for replenishment scenarios: catalog with suppliers, sales through the real use cases, the outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from stockd.adapters.db.tables import outbox
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import Stockd
from stockd.domain.catalog import LocationKind
from stockd.domain.replenishment import Priority, SupplierProduct
from stockd.domain.reservations import Line
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, commands, purchasing, reservations
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.purchasing import SupplierFields
from stockd.service_layer.replenishment import RunResult, replenish
from tests.support.clock import FakeClock


async def setup_catalog(
    services: Stockd, skus: dict[str, tuple[str, int]], location: str = "WH",
    suppliers: dict[str, int] | None = None, backups: dict[str, str] | None = None,
    pack_size: int = 10, min_order: int = 20, cost: str = "4.00", price: str = "10.00",
) -> None:
    """Products {sku: (primary supplier, opening stock)}, one location, suppliers {code: promised lead days},
    and optional backup sources {sku: supplier}."""
    suppliers = suppliers or {"ACME": 7}
    backups = backups or {}

    async def run(uow: UnitOfWork) -> None:
        env = services.env
        await catalog.create_location(uow, env, SYSTEM, commands.CreateLocation(location, location,
                                                                                 LocationKind.WAREHOUSE))
        for code, lead in suppliers.items():
            await purchasing.create_supplier(uow, env, SYSTEM, code, SupplierFields(f"{code} Ltd", "EUR", lead))
        for sku, (supplier, opening) in skus.items():
            await catalog.create_product(uow, env, SYSTEM, commands.CreateProduct(sku, sku, Decimal(cost),
                                                                                  Decimal(price)))
            await purchasing.link_product(uow, env, SYSTEM, SupplierProduct(
                supplier, sku, Decimal(cost), pack_size, min_order, Priority.PRIMARY))
            if sku in backups:
                await purchasing.link_product(uow, env, SYSTEM, SupplierProduct(
                    backups[sku], sku, Decimal(cost) * Decimal("1.1"), pack_size, min_order, Priority.BACKUP))
            if opening:
                await stock_uc.receive(uow, env, SYSTEM, commands.Receive(location, (TransferLine(sku, opening),)))

    await services.runner.run(run)


async def sell(services: Stockd, sku: str, location: str, quantity: int) -> bool:
    """A sale through the real use cases (reserve, then ship); False when the shelf could not serve it."""
    if quantity <= 0:
        return True
    from datetime import timedelta

    from stockd.domain.errors import InsufficientStockError

    async def run(uow: UnitOfWork) -> None:
        cmd = commands.Reserve((Line(sku, location, quantity),), timedelta(minutes=30), channel="web")
        held = await reservations.reserve(uow, services.env, SYSTEM, cmd)
        await reservations.ship(uow, services.env, SYSTEM, held.id)

    try:
        await services.runner.run(run)
    except InsufficientStockError:
        return False
    return True


async def run_replenishment(services: Stockd, dry_run: bool = False) -> RunResult:
    return await replenish(services.runner, services.env, SYSTEM, services.forecaster, services.replenishment,
                           dry_run)


async def simulate(services: Stockd, clock: FakeClock, days: int, daily: dict[str, int | list[int]],
                   location: str = "WH", replenish_every: int = 0) -> None:
    """`days` days of sales at `daily` units per SKU (a list cycles day by day), at noon; optionally a
    replenishment run every N days."""
    for day in range(days):
        clock.current = clock.current.replace(hour=12)
        for sku, quantity in daily.items():
            await sell(services, sku, location, quantity[day % len(quantity)] if isinstance(quantity, list)
                       else quantity)
        if replenish_every and day % replenish_every == 0:
            await run_replenishment(services)
        clock.advance(days=1)


async def events(services: Stockd, type_: str) -> list[dict[str, Any]]:
    uow = services.uow()
    assert isinstance(uow, SqlUnitOfWork)
    async with uow:
        rows = await uow.connection.execute(select(outbox.c.payload).where(outbox.c.type == type_)
                                            .order_by(outbox.c.id))
        return [dict(r.payload) for r in rows]
