"""The background sweeper gives expired stock back by itself, with nobody reading or reserving."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from stockd.bootstrap import Stockd
from stockd.domain.reservations import Line, ReservationStatus
from stockd.entrypoints.workers.sweeper import run_sweeper
from stockd.service_layer import reservations as uc
from stockd.service_layer.commands import Reserve
from stockd.service_layer.env import SYSTEM
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.invariants import assert_invariants


async def test_the_sweeper_releases_expired_holds_by_itself(services: Stockd, clock: FakeClock) -> None:
    await seed(services, {("S", "W"): 10})
    cmd = Reserve((Line("S", "W", 4),), timedelta(minutes=30))
    held = [await services.runner.run(lambda uow: uc.reserve(uow, services.env, SYSTEM, cmd)) for _ in range(2)]
    stop = asyncio.Event()
    quick = replace(services, settings=services.settings.model_copy(update={"sweep_interval_seconds": 0.05}))
    task = asyncio.create_task(run_sweeper(quick, stop))
    try:
        await asyncio.sleep(0.2)
        rows = await assert_invariants(services)
        assert rows[("S", "W")]["reserved"] == 8, "nothing is due yet"
        clock.advance(minutes=30)
        for _ in range(100):
            rows = await assert_invariants(services)
            if rows[("S", "W")]["reserved"] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert rows[("S", "W")]["reserved"] == 0
    uow = services.uow()
    async with uow:
        statuses = {(await uow.reservations.get(r.id)).status for r in held}  # type: ignore[union-attr]
    assert statuses == {ReservationStatus.EXPIRED}
