"""Ingest device events: each applied exactly once, counts resolved by their device timestamp."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from stockd.domain.devices import DeviceEvent, Outcome
from stockd.domain.errors import StockdError
from stockd.domain.movements import Change
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork

MAX_CLOCK_SKEW = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Malformed:
    """An event that did not parse: kept with its reason so the audit trail shows it."""

    event_id: str | None
    reason: str
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeviceResult:
    index: int
    event_id: str | None
    outcome: Outcome
    reason: str | None = None


async def ingest(
    uow: UnitOfWork, env: Env, actor: Actor, batch: Sequence[DeviceEvent | Malformed]
) -> list[DeviceResult]:
    """Apply a batch in device-timestamp order; each event in its own savepoint, so a bad one is rejected with
    its reason while the others apply, and none is ever half applied."""
    actor.check_locations(loc for item in batch if isinstance(item, DeviceEvent) for loc in item.locations)
    now = env.clock.now()
    ids = [item.event_id for item in batch if item.event_id is not None]
    # A batch touches many rows in time order; taking their locks up front in (sku, location) order means two
    # batches (or a batch and an order) queue instead of deadlocking. Only then look for duplicates: a twin in
    # another batch locks the same row, so by now it has committed and is seen.
    await uow.stock.lock([(item.sku, loc) for item in batch if isinstance(item, DeviceEvent) for loc in item.locations])
    seen = await uow.devices.seen(ids)
    results: list[DeviceResult] = []
    order = sorted(range(len(batch)), key=lambda i: _sort_key(batch[i]))
    for index in order:
        item = batch[index]
        if item.event_id is not None and item.event_id in seen:
            results.append(DeviceResult(index, item.event_id, Outcome.DUPLICATE))
        elif isinstance(item, Malformed):
            await uow.devices.record(item.event_id, None, actor.name, now, Outcome.REJECTED, item.reason, item.raw)
            results.append(DeviceResult(index, item.event_id, Outcome.REJECTED, item.reason))
            if item.event_id is not None:
                seen.add(item.event_id)
        elif item.event_id in seen:
            results.append(DeviceResult(index, item.event_id, Outcome.DUPLICATE))
        else:
            seen.add(item.event_id)
            results.append(await _apply_recorded(uow, actor, item, index, now))
    return sorted(results, key=lambda r: r.index)


async def _apply_recorded(uow: UnitOfWork, actor: Actor, event: DeviceEvent, index: int, now: datetime) -> DeviceResult:
    reason: str | None = None
    try:
        if event.timestamp - now > MAX_CLOCK_SKEW:
            raise _Refused("timestamp is in the future")
        async with uow.savepoint():
            # The event row goes first: a twin arriving concurrently collides on its id and retries as a duplicate.
            await uow.devices.record(event.event_id, event, actor.name, now, Outcome.APPLIED, None, None)
            outcome = await _apply(uow, actor, event, now)
            if outcome is not Outcome.APPLIED:
                await uow.devices.set_outcome(event.event_id, outcome, None)
    except (StockdError, _Refused) as exc:
        outcome, reason = Outcome.REJECTED, str(exc)
        await uow.devices.record(event.event_id, event, actor.name, now, outcome, reason, None)
    return DeviceResult(index, event.event_id, outcome, reason)


async def _apply(uow: UnitOfWork, actor: Actor, event: DeviceEvent, now: datetime) -> Outcome:
    if event.is_count:
        return await _apply_count(uow, actor, event, now)
    changes: list[Change] = []
    for change in event.delta_changes(actor.name):
        counted_at = await uow.devices.last_count(change.sku, change.location)
        if counted_at is None or event.timestamp > counted_at:
            changes.append(change)
    if not changes:
        return Outcome.SUPERSEDED
    await uow.ledger.record(changes, actor, now)
    return Outcome.APPLIED


async def _apply_count(uow: UnitOfWork, actor: Actor, event: DeviceEvent, now: datetime) -> Outcome:
    counted_at = await uow.devices.last_count(event.sku, event.location)
    if counted_at is not None and event.timestamp <= counted_at:
        return Outcome.STALE
    level = await uow.stock.locked(event.sku, event.location)
    later = await uow.devices.deltas_after(event.sku, event.location, event.timestamp)
    change = event.count_change(actor.name, level.on_hand if level else 0, later)
    if change is not None:
        await uow.ledger.record([change], actor, now)
    await uow.devices.set_last_count(event.sku, event.location, event.timestamp)
    return Outcome.APPLIED


def _sort_key(item: DeviceEvent | Malformed) -> tuple[int, datetime]:
    """Malformed first (they touch nothing), then by device time: counts and deltas settle in time order."""
    return (0, _EPOCH) if isinstance(item, Malformed) else (1, item.timestamp)


class _Refused(Exception):
    pass
