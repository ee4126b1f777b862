"""Channel sync: a stock change marks the channels it feeds; a pusher computes and sends what they may show.

Why this shape:
- The quantity is computed from the database at push time, not taken from the event, so a burst of changes
  coalesces into one push of the final value, and an event arriving late can never send a stale number.
- Each (channel, sku) row carries a generation, bumped by every change; a push records the generation it was
  computed from. A change that lands while a push is in flight leaves the row behind, so it is pushed again.
- A push is sent only when the value differs from the last one pushed (resync forces it), and never inside a
  transaction: claim + compute is one short transaction, the HTTP call none, recording the result another.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from stockd.domain.channels import Channel, retry_delay, sellable_quantity
from stockd.domain.stock import StockLevel
from stockd.service_layer.channel_ports import DueItem, PushOutcome, QuantityPush, QuantityPusher
from stockd.service_layer.env import Env
from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.runner import Runner


@dataclass(frozen=True)
class SyncPolicy:
    batch_size: int = 250
    lease_seconds: float = 120.0  # a pusher that dies mid-push frees its rows after this
    retry_base_seconds: float = 0.25
    retry_max_seconds: float = 5.0
    alert_after: int = 3  # consecutive failures before channel.sync_failed


@dataclass(frozen=True)
class Prepared:
    channel: Channel
    pushes: list[QuantityPush]
    items: dict[str, DueItem]
    unchanged: int


@dataclass
class SyncRound:
    claimed: int = 0
    unchanged: int = 0
    pushed: int = 0
    failed: int = 0
    outcomes: list[PushOutcome] = field(default_factory=list)


async def note_stock_changed(uow: UnitOfWork, sku: str, location: str | None) -> int:
    """A stock row changed (or was frozen): every channel fed by that location is now behind on the SKU.

    Bumping a counter is safe to repeat, so a redelivered event needs no inbox: at worst one extra recompute,
    which finds the value unchanged and sends nothing."""
    return await uow.channel_sync.mark_changed(sku, location)


async def sync_channel(runner: Runner, env: Env, pusher: QuantityPusher, channel_name: str, policy: SyncPolicy,
                       jitter: Callable[[], float] = random.random) -> SyncRound:
    """One round for one channel: claim the SKUs that are behind and due, push the new values, record results."""
    prepared = await runner.run(lambda uow: _prepare(uow, env, channel_name, policy))
    if prepared is None:
        return SyncRound()
    result = SyncRound(claimed=len(prepared.items), unchanged=prepared.unchanged)
    if not prepared.pushes:
        return result
    outcomes = await pusher.push(prepared.channel, prepared.pushes)
    result.outcomes = outcomes
    await runner.run(lambda uow: _record(uow, env, prepared, outcomes, policy, jitter))
    result.failed = sum(1 for o in outcomes if not o.ok)
    result.pushed = len(prepared.pushes) - result.failed
    return result


async def _prepare(uow: UnitOfWork, env: Env, channel_name: str, policy: SyncPolicy) -> Prepared | None:
    channel = await uow.channels.get(channel_name)
    if channel is None or not channel.active:
        return None
    now = env.clock.now()
    items = await uow.channel_sync.claim(channel.name, now, now + timedelta(seconds=policy.lease_seconds),
                                         policy.batch_size)
    if not items:
        return None
    by_sku: dict[str, list[StockLevel]] = defaultdict(list)
    for level in await uow.channel_sync.levels([i.listing.sku for i in items], channel.locations):
        by_sku[level.sku].append(level)
    pushes: list[QuantityPush] = []
    unchanged = 0
    for item in items:
        quantity = sellable_quantity(by_sku[item.listing.sku], channel.buffer, channel.min_reserve)
        if quantity == item.last_pushed and not item.force:
            await uow.channel_sync.synced(channel.name, item.listing.sku, item.generation, quantity, None)
            if item.failing:
                await _recovered(uow, env, channel, item)
            unchanged += 1
            continue
        pushes.append(QuantityPush(item.listing, quantity, item.last_pushed, _key(channel, item, quantity)))
    return Prepared(channel, pushes, {i.listing.sku: i for i in items}, unchanged)


async def _record(uow: UnitOfWork, env: Env, prepared: Prepared, outcomes: Sequence[PushOutcome],
                  policy: SyncPolicy, jitter: Callable[[], float]) -> None:
    now = env.clock.now()
    channel = prepared.channel
    by_sku = {o.sku: o for o in outcomes}
    for push in prepared.pushes:
        sku = push.listing.sku
        item = prepared.items[sku]
        outcome = by_sku.get(sku, PushOutcome(sku, "the connector gave no answer for this SKU"))
        if outcome.ok:
            await uow.channel_sync.synced(channel.name, sku, item.generation, push.quantity, now)
            await uow.events.emit("channel.pushed", {"channel": channel.name, "sku": sku, "quantity": push.quantity,
                                                     "previous": push.previous}, now, sku=sku)
            if item.failing:
                await _recovered(uow, env, channel, item)
            continue
        attempts = item.attempts + 1
        delay = retry_delay(attempts, policy.retry_base_seconds, policy.retry_max_seconds, jitter())
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, 60.0))
        failing = item.failing or attempts >= policy.alert_after
        error = outcome.error or "failed"
        await uow.channel_sync.failed(channel.name, sku, push.quantity, error, attempts, failing,
                                      now + timedelta(seconds=delay))
        if failing and not item.failing:
            await uow.events.emit("channel.sync_failed", {"channel": channel.name, "sku": sku, "error": error,
                                                          "attempts": attempts}, now, sku=sku)


async def _recovered(uow: UnitOfWork, env: Env, channel: Channel, item: DueItem) -> None:
    await uow.events.emit("channel.sync_recovered", {"channel": channel.name, "sku": item.listing.sku},
                          env.clock.now(), sku=item.listing.sku)


def _key(channel: Channel, item: DueItem, quantity: int) -> str:
    """The same push retried (same SKU, generation, value) has the same key; any new value a new one."""
    text = f"{channel.name}|{item.listing.sku}|{item.generation}|{quantity}|{item.last_pushed}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
