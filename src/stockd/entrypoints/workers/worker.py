"""`stockd worker`: the background work of a deployment, in its own process (as many as needed)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

import structlog

from stockd.bootstrap import bootstrap
from stockd.config import Settings
from stockd.entrypoints.workers.channels import run_channel_sync
from stockd.entrypoints.workers.consumers import run_consumers
from stockd.entrypoints.workers.device_source import run_device_source
from stockd.entrypoints.workers.notifications import run_schedules, run_webhook_deliveries
from stockd.entrypoints.workers.relay import run_relay
from stockd.entrypoints.workers.replenisher import run_replenisher
from stockd.entrypoints.workers.sweeper import run_sweeper

log = structlog.get_logger("stockd.worker")


async def run_worker(settings: Settings) -> None:
    """The outbox relay, the expiry sweeper and, with RabbitMQ, the device-event consumer and stockd's own event
    consumers (channel sync, alerts ...), until SIGTERM or SIGINT; the batch in flight finishes first."""
    stockd = bootstrap(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    jobs: list[Coroutine[Any, Any, None]] = [run_sweeper(stockd, stop), run_replenisher(stockd, stop)]
    jobs += [run_schedules(stockd, stop), run_webhook_deliveries(stockd, stop)]
    if stockd.bus is None:
        jobs.append(run_relay(stockd, stop))
        jobs.append(run_device_source(stockd, stop))
        jobs.append(run_consumers(stockd, stop))
        jobs.append(run_channel_sync(stockd, stop))
    else:
        # An in-process bus has no subscribers in this process: relaying here would mark events published
        # to nobody, and take them from the server whose own relay feeds its subscribers.
        log.warning("relay_disabled", reason="STOCKD_BUS_URL is the in-process bus; set an amqp:// URL")
    log.info("worker_started", relay=stockd.bus is None, devices=stockd.bus is None)
    try:
        await asyncio.gather(*jobs)
    finally:
        await stockd.close()
