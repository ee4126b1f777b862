"""The replenishment schedule: every `replenish_interval_seconds`, flag late purchase orders (po.late) and run
replenishment (one draft PO per supplier). Runs in `stockd serve` and in `stockd worker`; two at once are safe
(a SKU on an open draft gets no second one; po.late is a compare-and-set)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from stockd.bootstrap import Stockd
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.purchasing import flag_late_pos
from stockd.service_layer.replenishment import RunResult, replenish
from stockd.service_layer.runner import StorageUnavailableError

log = structlog.get_logger("stockd.replenisher")


async def replenish_once(stockd: Stockd) -> RunResult:
    late = await stockd.runner.run(lambda uow: flag_late_pos(uow, stockd.env))
    if late:
        log.warning("purchase_orders_late", po_ids=[po.id for po in late])
    result = await replenish(stockd.runner, stockd.env, SYSTEM, stockd.forecaster, stockd.replenishment)
    if result.purchase_orders or result.cuts:
        log.info("replenishment_drafted", purchase_orders=len(result.purchase_orders), cuts=len(result.cuts))
    return result


async def run_replenisher(stockd: Stockd, stop: asyncio.Event) -> None:
    """The first run comes one interval after start, so a restart loop does not draft in a burst."""
    interval = stockd.settings.replenish_interval_seconds
    if interval <= 0:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            await replenish_once(stockd)
        except StorageUnavailableError as exc:
            log.warning("replenisher_database_unavailable", error=str(exc)[:200])
        except Exception:
            log.exception("replenisher_failed")
