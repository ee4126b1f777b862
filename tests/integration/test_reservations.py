"""Reservation rules on the real databases (each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from stockd.bootstrap import Stockd
from stockd.domain.errors import InsufficientStockError, InvalidStateError, ReservationExpiredError
from stockd.domain.reservations import Line, Reservation, ReservationStatus
from stockd.service_layer import reservations as uc
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.commands import Reserve
from stockd.service_layer.ports import Actor
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.invariants import assert_invariants

BUYER = Actor("buyer", "admin")


def order(*lines: tuple[str, str, int], ttl: float = 1800, order_id: str | None = None) -> Reserve:
    return Reserve(tuple(Line(*ln) for ln in lines), timedelta(seconds=ttl), order_id=order_id)


async def reserve(services: Stockd, cmd: Reserve) -> Reservation:
    return await services.runner.run(lambda uow: uc.reserve(uow, services.env, BUYER, cmd))


async def attempt(services: Stockd, cmd: Reserve) -> Reservation | InsufficientStockError:
    try:
        return await reserve(services, cmd)
    except InsufficientStockError as exc:
        return exc


async def test_last_unit_goes_to_exactly_one_of_two_buyers(services: Stockd) -> None:
    await seed(services, {("SKU-1", "WH-A"): 1})
    results = await asyncio.gather(*(attempt(services, order(("SKU-1", "WH-A", 1))) for _ in range(2)))
    assert sum(isinstance(r, Reservation) for r in results) == 1
    loser = next(r for r in results if isinstance(r, InsufficientStockError))
    assert "requested 1, available 0" in str(loser)
    rows = await assert_invariants(services)
    assert rows[("SKU-1", "WH-A")]["reserved"] == 1


async def test_200_concurrent_buyers_for_50_units_exactly_50_win(services: Stockd) -> None:
    await seed(services, {("HOT", "WH-A"): 50})
    results = await asyncio.gather(*(attempt(services, order(("HOT", "WH-A", 1))) for _ in range(200)))
    winners = [r for r in results if isinstance(r, Reservation)]
    losers = [r for r in results if isinstance(r, InsufficientStockError)]
    assert len(winners) == 50 and len(losers) == 150
    assert all(s.requested == 1 and s.available == 0 for exc in losers for s in exc.shortfalls)
    rows = await assert_invariants(services)
    assert rows[("HOT", "WH-A")] | {"sequence": 0} == {
        "on_hand": 50, "reserved": 50, "committed": 0, "in_transit": 0, "sequence": 0}


async def test_multi_line_orders_in_opposite_orders_are_all_or_nothing(services: Stockd) -> None:
    await seed(services, {("A", "WH-1"): 30, ("B", "WH-1"): 60, ("B", "WH-2"): 10})
    rng = random.Random(7)
    orders = []
    for _ in range(120):
        lines = [("A", "WH-1", 1), ("B", "WH-1", 1), ("B", "WH-2", 1) if rng.random() < 0.2 else ("B", "WH-1", 1)]
        rng.shuffle(lines)
        orders.append(order(*lines))
    results = await asyncio.gather(*(attempt(services, o) for o in orders))
    won = [r for r in results if isinstance(r, Reservation)]
    rows = await assert_invariants(services)
    # A limits the winners to 30; every winner holds all its lines, no loser holds any.
    assert len(won) == 30
    assert rows[("A", "WH-1")]["reserved"] == 30
    held_b = sum(ln.quantity for r in won for ln in r.lines if ln.sku == "B")
    assert rows[("B", "WH-1")]["reserved"] + rows[("B", "WH-2")]["reserved"] == held_b == 60


async def test_lines_for_the_same_sku_are_summed_before_the_check(services: Stockd) -> None:
    await seed(services, {("BUNDLE", "WH-A"): 5})
    with pytest.raises(InsufficientStockError) as refused:
        await reserve(services, order(("BUNDLE", "WH-A", 3), ("BUNDLE", "WH-A", 3)))
    assert refused.value.shortfalls[0].requested == 6
    rows = await assert_invariants(services)
    assert rows[("BUNDLE", "WH-A")]["reserved"] == 0


async def test_a_failed_line_leaves_nothing_behind(services: Stockd) -> None:
    await seed(services, {("A", "WH-1"): 5, ("Z", "WH-1"): 1})
    with pytest.raises(InsufficientStockError):
        await reserve(services, order(("A", "WH-1", 2), ("Z", "WH-1", 2)))
    rows = await assert_invariants(services)
    assert rows[("A", "WH-1")]["reserved"] == 0 and rows[("Z", "WH-1")]["reserved"] == 0


async def test_commit_then_ship_moves_the_numbers(services: Stockd) -> None:
    await seed(services, {("S", "W"): 10})
    held = await reserve(services, order(("S", "W", 4)))
    env = services.env
    committed = await services.runner.run(lambda uow: uc.commit(uow, env, BUYER, held.id))
    assert committed.status is ReservationStatus.COMMITTED
    rows = await assert_invariants(services)
    assert (rows[("S", "W")]["reserved"], rows[("S", "W")]["committed"]) == (0, 4)
    await services.runner.run(lambda uow: uc.ship(uow, env, BUYER, held.id))
    rows = await assert_invariants(services)
    assert rows[("S", "W")]["on_hand"] == 6 and rows[("S", "W")]["committed"] == 0
    with pytest.raises(InvalidStateError):
        await services.runner.run(lambda uow: uc.release(uow, env, BUYER, held.id))


async def test_release_of_committed_stock_makes_it_available_again(services: Stockd) -> None:
    await seed(services, {("S", "W"): 3})
    held = await reserve(services, order(("S", "W", 3)))
    env = services.env
    await services.runner.run(lambda uow: uc.commit(uow, env, BUYER, held.id))
    await services.runner.run(lambda uow: uc.release(uow, env, BUYER, held.id))
    rows = await assert_invariants(services)
    assert rows[("S", "W")] | {"sequence": 0} == {
        "on_hand": 3, "reserved": 0, "committed": 0, "in_transit": 0, "sequence": 0}


async def test_an_expired_hold_stops_counting_before_any_sweeper(services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("S", "W"): 2})
    first = await reserve(services, order(("S", "W", 2), ttl=60))
    with pytest.raises(InsufficientStockError):
        await reserve(services, order(("S", "W", 1)))
    clock.advance(seconds=60)
    second = await reserve(services, order(("S", "W", 2)))
    env = services.env
    expired = await services.runner.run(lambda uow: uc.get_reservation(uow, env, BUYER, first.id))
    assert expired.status is ReservationStatus.EXPIRED
    assert second.status is ReservationStatus.ACTIVE
    with pytest.raises(ReservationExpiredError):
        await services.runner.run(lambda uow: uc.commit(uow, env, BUYER, first.id))
    await assert_invariants(services)


async def test_a_read_releases_what_has_expired(services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("S", "W"): 5})
    await reserve(services, order(("S", "W", 5), ttl=30))
    clock.advance(seconds=31)
    totals = await services.runner.run(lambda uow: stock_uc.stock_of_sku(uow, services.env, BUYER, "S"))
    assert totals.available == 5 and totals.reserved == 0
    await assert_invariants(services)


async def test_two_sweepers_release_each_reservation_once(services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("S", "W"): 100, ("T", "W"): 100})
    for i in range(40):
        await reserve(services, order(("S", "W", 1), ("T", "W", 2), ttl=10 + i))
    clock.advance(seconds=100)
    counts = await asyncio.gather(*(services.runner.run(lambda uow: uc.expire_due(uow, services.env))
                                    for _ in range(4)))
    assert sum(counts) == 40
    rows = await assert_invariants(services)
    assert rows[("S", "W")]["reserved"] == 0 and rows[("T", "W")]["reserved"] == 0


async def test_the_same_order_id_cannot_hold_twice(services: Stockd) -> None:
    await seed(services, {("S", "W"): 10})
    results = await asyncio.gather(
        *(services.runner.run(lambda uow: uc.reserve(uow, services.env, BUYER, order(("S", "W", 1), order_id="o-1")))
          for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert all(isinstance(r, Reservation) or "already has reservation" in str(r) for r in results)
    rows = await assert_invariants(services)
    assert rows[("S", "W")]["reserved"] == 1
