"""A frozen stock row takes no new reservation; what is already held still ships; unfreezing restores it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stockd.adapters.db.tables import outbox
from stockd.bootstrap import Stockd
from stockd.domain.errors import SkuFrozenError
from stockd.domain.reservations import Reservation
from stockd.service_layer import reservations as uc
from stockd.service_layer.ports import Actor
from tests.conftest import seed
from tests.integration.test_reservations import BUYER, order, reserve
from tests.support.invariants import assert_invariants

MANAGER = Actor("manager", "manager")


async def set_frozen(services: Stockd, frozen: bool) -> object:
    now = services.env.clock.now()
    return await services.runner.run(
        lambda uow: uow.ledger.set_frozen("SKU-1", "WH-A", frozen, "count off by 12%", MANAGER, now)
    )


async def test_frozen_row_refuses_reservations_but_ships_what_is_held(services: Stockd) -> None:
    await seed(services, {("SKU-1", "WH-A"): 10, ("SKU-2", "WH-A"): 10})
    held = await reserve(services, order(("SKU-1", "WH-A", 2)))
    assert await set_frozen(services, True) is not None
    assert await set_frozen(services, True) is None  # already frozen: nothing changes, no second event

    with pytest.raises(SkuFrozenError, match="SKU-1 is frozen at WH-A"):
        await reserve(services, order(("SKU-2", "WH-A", 1), ("SKU-1", "WH-A", 1)))
    await services.runner.run(lambda uow: uc.commit(uow, services.env, BUYER, held.id))
    await services.runner.run(lambda uow: uc.ship(uow, services.env, BUYER, held.id))

    rows = await assert_invariants(services)
    assert rows[("SKU-2", "WH-A")]["reserved"] == 0  # the multi-line order changed nothing
    assert rows[("SKU-1", "WH-A")]["on_hand"] == 8

    assert await set_frozen(services, False) is not None
    assert isinstance(await reserve(services, order(("SKU-1", "WH-A", 8))), Reservation)
    level = await services.runner.run(lambda uow: uow.stock.get("SKU-1", "WH-A"))
    assert level is not None and not level.frozen and level.available == 0
    async with services.engine.connect() as conn:
        types = [r.type for r in await conn.execute(select(outbox.c.type).where(outbox.c.type.like("sku.%")))]
    assert types == ["sku.frozen", "sku.unfrozen"]
