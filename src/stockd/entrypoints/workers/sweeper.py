"""The expiry sweeper: gives back stock held past its expiry, and forgets old idempotency keys."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from stockd.bootstrap import Stockd
from stockd.service_layer.reservations import EXPIRY_BATCH, expire_due
from stockd.service_layer.runner import StorageUnavailableError

log = structlog.get_logger("stockd.sweeper")


async def sweep_once(stockd: Stockd) -> int:
    """Expire everything due now, batch by batch; returns how many reservations were released."""
    total = 0
    while True:
        released = await stockd.runner.run(lambda uow: expire_due(uow, stockd.env))
        total += released
        if released < EXPIRY_BATCH:
            return total


async def forget_old_keys(stockd: Stockd) -> int:
    cutoff = stockd.env.clock.now() - timedelta(hours=stockd.settings.idempotency_retention_hours)
    return await stockd.runner.run(lambda uow: uow.idempotency.forget_before(cutoff))


async def run_sweeper(stockd: Stockd, stop: asyncio.Event) -> None:
    interval = stockd.settings.sweep_interval_seconds
    rounds = 0
    while not stop.is_set():
        try:
            released = await sweep_once(stockd)
            if released:
                log.info("reservations_expired", count=released)
            rounds += 1
            if rounds % 720 == 1:
                await forget_old_keys(stockd)
        except StorageUnavailableError as exc:
            log.warning("sweeper_database_unavailable", error=str(exc)[:200])
        except Exception:
            log.exception("sweeper_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
