"""The alert and webhook consumers, the webhook delivery loop and the counting schedules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

import structlog

from stockd.adapters.bus.in_memory import Handler
from stockd.adapters.webhooks.sender import HttpWebhookSender
from stockd.bootstrap import Stockd
from stockd.domain.webhooks import DeliveryStatus, Subscription
from stockd.entrypoints.policies import abc_policy, retry_policy, spike_policy
from stockd.service_layer import alerting, counting, webhooks
from stockd.service_layer.cache import Refreshed
from stockd.service_layer.consumers import apply_once
from stockd.service_layer.ports import InboxUnitOfWork, UnitOfWork, WebhookSender
from stockd.service_layer.runner import StorageUnavailableError

log = structlog.get_logger("stockd.notifications")
T = TypeVar("T")

ALERT_BINDINGS = alerting.BINDINGS
# Every family of event stockd emits, rather than `#`: a catch-all queue would make every routing key routable, so a
# misrouted event would never show up as unroutable at the relay.
WEBHOOK_BINDINGS = ("stock.#", "sku.#", "count.#", "alert.#", "po.#", "supplier.#", "reorder_point.#", "channel.#",
                    "transfer.#", "reservation.#")
DELIVERY_BATCH = 50


def alert_handler(stockd: Stockd) -> Handler:
    """Events to alerts, each event applied once (the inbox drops redeliveries and stale stock events). Stock events
    that cannot change an alert (the great majority) are passed over without a transaction."""
    spikes = spike_policy(stockd.settings)
    out_of_stock = Refreshed(stockd.runner, alerting.rows_out_of_stock, stockd.settings.notification_cache_seconds)

    async def apply(uow: InboxUnitOfWork, event: dict[str, Any]) -> None:
        await alerting.on_event(uow, stockd.env, spikes, event)

    async def handle(event: Mapping[str, Any]) -> None:
        if not alerting.wants(event, await out_of_stock.get()):
            return
        await apply_once(stockd.consumer_uow, stockd.env.clock, "alerts", dict(event), apply)
        if alerting.is_ledger_event(event):
            out_of_stock.forget()

    return handle


def webhook_handler(stockd: Stockd) -> Handler:
    """Queue deliveries for matching subscriptions: one quick insert, the POST happens in the delivery loop. The
    active subscriptions are re-read at most every `notification_cache_seconds`."""

    async def active(uow: UnitOfWork) -> list[Subscription]:
        return await uow.webhooks.active()

    subscriptions = Refreshed(stockd.runner, active, stockd.settings.notification_cache_seconds)

    async def handle(event: Mapping[str, Any]) -> None:
        wanted = [s.id for s in await subscriptions.get() if s.wants(str(event.get("type", "")))]
        if wanted:
            await stockd.runner.run(lambda uow: webhooks.enqueue(uow, stockd.env, wanted, event))

    return handle


async def deliver_due(stockd: Stockd, sender: WebhookSender, limit: int = DELIVERY_BATCH) -> list[DeliveryStatus]:
    """One round: claim due deliveries, POST them concurrently outside any transaction, record each result."""
    jobs = await stockd.runner.run(lambda uow: webhooks.claim(uow, stockd.env, limit))
    results = await asyncio.gather(*(webhooks.attempt(sender, job) for job in jobs))
    policy = retry_policy(stockd.settings)
    statuses = []
    for result in results:
        statuses.append(await stockd.runner.run(
            lambda uow, r=result: webhooks.record(uow, stockd.env, policy, r)))  # type: ignore[misc]
        if not result.ok:
            log.warning("webhook_failed", delivery=result.job.delivery_id, url=result.job.url, error=result.error)
    return statuses


async def run_webhook_deliveries(stockd: Stockd, stop: asyncio.Event, sender: WebhookSender | None = None) -> None:
    own = HttpWebhookSender(stockd.settings.webhook_timeout_seconds) if sender is None else None
    active = sender or own
    assert active is not None
    try:
        while not stop.is_set():
            sent = 0
            try:
                sent = len(await deliver_due(stockd, active))
            except StorageUnavailableError as exc:
                log.warning("webhooks_database_unavailable", error=str(exc)[:200])
            except Exception:
                log.exception("webhook_round_failed")
            if sent < DELIVERY_BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=stockd.settings.webhook_poll_interval_seconds)
    finally:
        if own is not None:
            await own.close()


async def schedule_once(stockd: Stockd) -> bool:
    """The periodic jobs: recompute ABC classes when they are older than their interval; re-check the expiry
    spike alert (so it resolves once expiries stop, even with no new expiry event). True if ABC was recomputed."""
    s = stockd.settings
    every = timedelta(seconds=s.abc_recompute_interval_seconds)
    policy, spikes = abc_policy(s), spike_policy(s)

    async def run(uow: UnitOfWork) -> bool:
        return await counting.recompute_abc_if_stale(uow, stockd.env, policy, every)

    recomputed = await stockd.runner.run(run)
    await stockd.runner.run(lambda uow: alerting.check_expiry_spike(uow, stockd.env, spikes))
    await stockd.runner.run(lambda uow: alerting.reconcile_out_of_stock(uow, stockd.env))
    return recomputed


async def run_schedules(stockd: Stockd, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            if await schedule_once(stockd):
                log.info("abc_recomputed")
        except StorageUnavailableError as exc:
            log.warning("schedules_database_unavailable", error=str(exc)[:200])
        except Exception:
            log.exception("schedules_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=stockd.settings.schedule_tick_seconds)
