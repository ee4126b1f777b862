"""The outbox relay worker: moves committed events to the bus, batch after batch, until told to stop.

Wake-up: a commit in this process that wrote events rings the doorbell, and the relay claims them at once
(milliseconds, no polling delay). Events committed by other processes (another server, the CLI) are found
by an idle poll every `relay_poll_interval_seconds`, an indexed query on the unpublished rows. A
cross-process wake-up (PostgreSQL LISTEN/NOTIFY) would shave that poll off, at the cost of a dedicated
connection per relay; `stockd serve` runs its own relay, so the poll only matters for other writers.

Failure: when the broker (or the database) refuses, the batch rolls back and stays unpublished; the relay
waits with capped exponential backoff and tries again. Nothing is lost, nothing skipped.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import structlog

from stockd.adapters.db.outbox import Doorbell, SqlOutboxRelay
from stockd.bootstrap import Stockd

log = structlog.get_logger("stockd.relay")

FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


@dataclass
class RelayStats:
    """What this process's relay has done, for /metrics and the dashboard's health panel."""

    running: bool = False
    published: int = 0
    failures: int = 0  # consecutive failed batches; 0 when the last one went through
    last_error: str | None = None
    last_success: float | None = None  # time.time() of the last batch that went through (even an empty one)


def backoff(failures: int) -> float:
    """Full jitter, so relays that failed together do not retry together."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**failures))


async def run_relay(stockd: Stockd, stop: asyncio.Event, stats: RelayStats | None = None) -> None:
    relay = stockd.relay()
    stats = stats or RelayStats()
    stats.running = True
    try:
        await _relay_until_stopped(stockd, relay, stop, stats)
    finally:
        stats.running = False


async def _relay_until_stopped(stockd: Stockd, relay: SqlOutboxRelay, stop: asyncio.Event, stats: RelayStats) -> None:
    failures = 0
    while not stop.is_set():
        # Cleared before the claim, not after the wait: a commit that lands while a batch is in flight
        # leaves the bell rung, and the next wait returns at once instead of missing it.
        stockd.doorbell.clear()
        published = await _relay_batch(relay, failures, stats)
        stats.failures = failures + 1 if published is None else 0
        if published is None:
            failures += 1
            await _pause(stop, None, backoff(failures))
        elif published < stockd.settings.relay_batch_size:
            failures = 0
            await _pause(stop, stockd.doorbell, stockd.settings.relay_poll_interval_seconds)
        else:
            failures = 0  # a full batch: there is probably more, go again at once


async def _relay_batch(relay: SqlOutboxRelay, failures: int, stats: RelayStats) -> int | None:
    try:
        published = await relay.relay_once()
    except Exception as exc:
        stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("relay_failed", error=stats.last_error, consecutive=failures + 1)
        return None
    stats.published += published
    stats.last_success = time.time()
    if failures:
        log.info("relay_recovered", after_failures=failures)
    return published


async def _pause(stop: asyncio.Event, doorbell: Doorbell | None, seconds: float) -> None:
    """Sleep `seconds`, or until a stop or (when given) the doorbell, whichever comes first."""
    waits: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
    if doorbell is not None:
        waits.append(asyncio.ensure_future(doorbell.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
