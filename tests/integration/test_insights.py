"""The dashboard's read side on SQLite and PostgreSQL: search and sort, trends, movers, outbox lag, scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stockd.bootstrap import Stockd
from stockd.domain.errors import ValidationError
from stockd.service_layer import commands, insights, reservations
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import Actor, StockQuery
from tests.conftest import seed
from tests.support.clock import FakeClock

EAST_ONLY = Actor("east", "viewer", locations=frozenset({"EAST"}))


async def test_stock_table_searches_sorts_and_respects_scope(services: Stockd) -> None:
    await seed(services, {("MUG-1", "EAST"): 5, ("MUG-2", "WEST"): 9, ("TEE_1", "EAST"): 1, ("TEEX1", "WEST"): 2})
    env = services.env

    async def table(actor: Actor, query: StockQuery) -> list[tuple[str, str, int]]:
        rows = await services.runner.run(lambda uow: insights.stock_table(uow, env, actor, query))
        return [(r.level.sku, r.level.location, r.level.available) for r in rows]

    assert [r[0] for r in await table(SYSTEM, StockQuery(search="mug"))] == ["MUG-1", "MUG-2"]
    assert [r[0] for r in await table(SYSTEM, StockQuery(search="product mug-2"))] == ["MUG-2"]
    assert [r[0] for r in await table(SYSTEM, StockQuery(search="tee_"))] == ["TEE_1"], "_ is not a wildcard"
    assert [r[2] for r in await table(SYSTEM, StockQuery(sort="available", descending=True))] == [9, 5, 2, 1]
    assert [r[1] for r in await table(EAST_ONLY, StockQuery())] == ["EAST", "EAST"]
    with pytest.raises(ValidationError):
        await table(SYSTEM, StockQuery(sort="on_hand; drop table stock"))


async def test_trend_movers_and_outbox_lag_come_from_the_ledger(services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("FAST", "EAST"): 10, ("FAST", "WEST"): 4, ("SLOW", "EAST"): 50})
    env = services.env
    clock.advance(minutes=10)
    held = await services.runner.run(lambda uow: reservations.reserve(
        uow, env, SYSTEM, commands.Reserve((commands.Line("FAST", "EAST", 3),), timedelta(minutes=30))))
    clock.advance(minutes=10)
    await services.runner.run(lambda uow: reservations.ship(uow, env, SYSTEM, held.id))
    clock.advance(minutes=10)
    trend = await services.runner.run(lambda uow: insights.trend(uow, env, SYSTEM, "FAST", 24))
    assert [v for _, v in trend.stock] == [0, 10, 14, 14, 11, 11]
    assert sum(v for _, v in trend.sales) == 3 and len(trend.sales) == 24
    east = await services.runner.run(lambda uow: insights.trend(uow, env, EAST_ONLY, "FAST", 24))
    assert [v for _, v in east.stock] == [0, 10, 10, 7, 7]
    ranked = await services.runner.run(lambda uow: insights.movers(uow, env, SYSTEM, 24))
    assert [s.sku for s in ranked.fastest] == ["FAST"] and ranked.fastest[0].sold == 3
    assert [s.sku for s in ranked.slowest] == ["SLOW", "FAST"]
    health = await services.runner.run(lambda uow: insights.system_health(uow, env))
    assert health.outbox.unpublished == 5 and health.outbox_age_seconds == 30 * 60
    assert health.events_per_second == 0, "nothing moved in the last minute of the fake clock"
    await services.relay().relay_once()
    health = await services.runner.run(lambda uow: insights.system_health(uow, env))
    assert health.outbox.unpublished == 0 and health.outbox_age_seconds == 0
