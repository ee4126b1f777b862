"""Channel sync workers: the consumer that marks channels behind, and the pusher that catches them up.

The consumer (on `stock.#` and `sku.#`) only bumps a counter in the database and rings a doorbell: quick enough
to run inline in the in-process bus. The pusher runs one task per active channel, so a slow or dead channel never
delays another; each task wakes on the doorbell (milliseconds after the change), on its next retry falling due,
or on a poll that finds changes marked by other processes. It runs in `stockd serve` with the in-process bus and
in `stockd worker` with RabbitMQ, beside the consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import structlog

from stockd.adapters.channels.base import ChannelEndpoint
from stockd.adapters.channels.gateway import HttpChannelGateway
from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.entrypoints.workers.consumers import Consumer
from stockd.service_layer.channel_ports import QuantityPusher
from stockd.service_layer.channel_sync import SyncPolicy, note_stock_changed, sync_channel

log = structlog.get_logger("stockd.channels")

CONSUMER_NAME = "channel-sync"
ERROR_PAUSE_SECONDS = 1.0
SHUTDOWN_GRACE_SECONDS = 3.0


def channel_sync_consumer(stockd: Stockd) -> Consumer:
    async def handle(event: Mapping[str, Any]) -> None:
        sku = event.get("sku")
        if not sku:
            return
        location = event.get("location")
        marked = await stockd.runner.run(lambda uow: note_stock_changed(uow, str(sku), location))
        if marked:
            stockd.channel_doorbell.ring()

    return Consumer(CONSUMER_NAME, ("stock.#", "sku.#"), handle)


def policy_of(settings: Settings) -> SyncPolicy:
    return SyncPolicy(batch_size=settings.channel_batch_size, lease_seconds=settings.channel_lease_seconds,
                      retry_base_seconds=settings.channel_retry_base_seconds,
                      retry_max_seconds=settings.channel_retry_max_seconds,
                      alert_after=settings.channel_failure_alert_after)


def gateway_of(settings: Settings) -> HttpChannelGateway:
    endpoints = {
        name: ChannelEndpoint(
            base_url=e.base_url, token=e.token.get_secret_value() if e.token else None,
            secret=e.secret.get_secret_value() if e.secret else None, api_version=e.api_version,
            rate_per_second=e.rate_per_second, timeout_seconds=e.timeout_seconds,
        )
        for name, e in settings.channel_endpoints.items()
    }
    return HttpChannelGateway(endpoints)


async def run_channel_sync(stockd: Stockd, stop: asyncio.Event, pusher: QuantityPusher | None = None) -> None:
    """A pusher task per active channel until `stop` is set; channels added or deactivated are picked up."""
    gateway: HttpChannelGateway | None = None
    if pusher is None:
        gateway = pusher = gateway_of(stockd.settings)
    sync = _ChannelTasks(stockd, pusher, stop)
    poll = stockd.settings.channel_poll_interval_seconds
    refreshed = 0.0
    try:
        while not stop.is_set():
            stockd.channel_doorbell.clear()
            if time.monotonic() - refreshed >= poll:
                await sync.refresh()
                refreshed = time.monotonic()
            sync.wake_all()
            await pause(stop, stockd.channel_doorbell, poll)
    finally:
        await sync.close()
        if gateway is not None:
            await gateway.close()


class _ChannelTasks:
    def __init__(self, stockd: Stockd, pusher: QuantityPusher, stop: asyncio.Event) -> None:
        self._stockd = stockd
        self._pusher = pusher
        self._stop = stop
        self._policy = policy_of(stockd.settings)
        self._bells: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def refresh(self) -> None:
        try:
            active = {c.name for c in await self._stockd.runner.run(lambda uow: uow.channels.list(True))}
        except Exception as exc:
            log.warning("channel_list_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return
        for name in active - self._tasks.keys():
            self._bells[name] = asyncio.Event()
            self._tasks[name] = asyncio.create_task(self._loop(name, self._bells[name]))
            log.info("channel_sync_started", channel=name)
        for name in self._tasks.keys() - active:
            self._tasks.pop(name).cancel()
            self._bells.pop(name)

    def wake_all(self) -> None:
        for bell in self._bells.values():
            bell.set()

    async def close(self) -> None:
        """Let each channel finish the round in flight (its result recorded), then stop what is still running."""
        self.wake_all()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, name: str, bell: asyncio.Event) -> None:
        stockd, poll = self._stockd, self._stockd.settings.channel_poll_interval_seconds
        while not self._stop.is_set():
            bell.clear()
            try:
                done = await sync_channel(stockd.runner, stockd.env, self._pusher, name, self._policy)
            except Exception as exc:
                log.warning("channel_sync_failed", channel=name, error=f"{type(exc).__name__}: {exc}"[:300])
                await pause(self._stop, None, ERROR_PAUSE_SECONDS)
                continue
            if done.failed:
                log.warning("channel_push_failed", channel=name, failed=done.failed,
                            error=next(o.error for o in done.outcomes if not o.ok))
            if done.claimed:
                continue  # more may be waiting: go again at once
            await pause(self._stop, bell, await self._idle_for(name, poll))

    async def _idle_for(self, name: str, poll: float) -> float:
        """Until the next retry falls due, at most one poll interval."""
        try:
            due = await self._stockd.runner.run(lambda uow: uow.channel_sync.next_due(name))
        except Exception:
            return poll
        if due is None:
            return poll
        return min(poll, max(0.005, (due - self._stockd.env.clock.now()).total_seconds()))


async def pause(stop: asyncio.Event, bell: asyncio.Event | Any | None, seconds: float) -> None:
    """Sleep `seconds`, or until a stop or (when given) the bell, whichever comes first."""
    waits: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
    if bell is not None:
        waits.append(asyncio.ensure_future(bell.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
