"""Cycle counting use cases: ABC classes, what is due, blind count tasks, discrepancies and their resolution."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from stockd.domain.counting import (
    CYCLE_COUNT_REASON,
    AbcPolicy,
    CountOutcome,
    CountPolicy,
    CountStatus,
    CountTask,
    DueCount,
    Resolution,
    SkuClass,
    classify,
    discrepancy_pct,
)
from stockd.domain.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    UnknownLocationError,
    UnknownProductError,
    ValidationError,
)
from stockd.domain.movements import Change, MovementKind
from stockd.domain.stock import Delta
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, CountFilter, UnitOfWork
from stockd.service_layer.reservations import expire_due

MAX_CLOCK_SKEW = timedelta(minutes=5)


class CountNotFoundError(NotFoundError):
    code = "count_not_found"

    def __init__(self, count_id: str) -> None:
        super().__init__(f"no count task {count_id!r}")


async def recompute_abc(uow: UnitOfWork, env: Env, policy: AbcPolicy) -> list[SkuClass]:
    """Classify every product by its revenue (shipped units x current price) over the policy's window."""
    now = env.clock.now()
    revenue = await uow.abc.revenue_since(now - timedelta(days=policy.window_days))
    classes = classify(revenue, policy)
    result = [SkuClass(sku, cls, revenue[sku], now, policy.window_days) for sku, cls in sorted(classes.items())]
    await uow.abc.replace(result)
    return result


async def recompute_abc_if_stale(uow: UnitOfWork, env: Env, policy: AbcPolicy, every: timedelta) -> bool:
    """The scheduled recompute: only when the stored classes are older than `every` (several workers may ask)."""
    last = await uow.abc.last_computed_at()
    if last is not None and env.clock.now() - last < every:
        return False
    await recompute_abc(uow, env, policy)
    return True


async def counts_due(
    uow: UnitOfWork, env: Env, actor: Actor, policy: CountPolicy, location: str | None, limit: int, offset: int
) -> list[DueCount]:
    """Rows with stock whose last count is older than their class's interval (A 7 d, B 30 d, C 90 d)."""
    if location is not None:
        actor.check_locations([location])
        if await uow.locations.get(location) is None:
            raise UnknownLocationError(location)
    return await uow.counts.due(policy.cutoffs(env.clock.now()), location, actor.locations, limit, offset)


async def open_count(uow: UnitOfWork, env: Env, actor: Actor, sku: str, location: str) -> CountTask:
    """Start a blind count of one row, remembering the system's number at this moment."""
    actor.check_locations([location])
    if await uow.products.get(sku) is None:
        raise UnknownProductError(sku)
    if await uow.locations.get(location) is None:
        raise UnknownLocationError(location)
    return await _open(uow, env, actor, sku, location, None)


async def _open(uow: UnitOfWork, env: Env, actor: Actor, sku: str, location: str, recount_of: str | None
                ) -> CountTask:
    active = await uow.counts.active_for(sku, location)
    if active is not None:
        raise AlreadyExistsError(f"count {active.id} is already {active.status.value} for {sku} at {location}")
    level = await uow.stock.get(sku, location)
    task = CountTask(
        id=env.new_id(), sku=sku, location=location, status=CountStatus.OPEN, opened_at=env.clock.now(),
        opened_by=actor.name, snapshot_on_hand=level.on_hand if level else 0,
        snapshot_sequence=level.sequence if level else 0, recount_of=recount_of,
    )
    # A twin opening concurrently collides on the one-active-count index; the retry then finds this one.
    await uow.counts.add(task)
    return task


async def get_count(uow: UnitOfWork, actor: Actor, count_id: str) -> CountTask:
    task = await uow.counts.get(count_id)
    if task is None:
        raise CountNotFoundError(count_id)
    actor.check_locations([task.location])
    return task


async def list_counts(uow: UnitOfWork, actor: Actor, query: CountFilter) -> list[CountTask]:
    if query.location is not None:
        actor.check_locations([query.location])
    return await uow.counts.list(replace(query, locations=actor.locations))


async def submit_count(
    uow: UnitOfWork, env: Env, actor: Actor, policy: CountPolicy, count_id: str, counted: int,
    counted_at: datetime | None = None,
) -> CountTask:
    """Judge a counted quantity against on_hand as it was when counted (movements recorded after counted_at are
    taken out), then adjust (within tolerance), or open an investigation (beyond), freezing the row (far beyond)."""
    task = await get_count(uow, actor, count_id)
    if task.status is not CountStatus.OPEN:
        raise InvalidStateError(f"count {count_id} is {task.status.value}; only an open count takes a quantity")
    now = env.clock.now()
    at = counted_at or now
    if at > now + MAX_CLOCK_SKEW:
        raise ValidationError("counted_at is in the future")
    if at < task.opened_at:
        raise ValidationError(f"counted_at is before the count was opened ({task.opened_at.isoformat()})")
    # Holds past their expiry no longer count: an adjustment down may take what they held.
    await expire_due(uow, env, [task.sku])
    # The row is locked from here to commit: no movement can slip between reading it and adjusting it.
    level = await uow.stock.locked(task.sku, task.location)
    on_hand = level.on_hand if level else 0
    expected = max(0, on_hand - await uow.counts.on_hand_change_after(task.sku, task.location, at))
    adjustment = counted - expected
    outcome = policy.judge(counted, expected)
    note = None
    if outcome is CountOutcome.ADJUSTED and level is not None and level.available + adjustment < 0:
        # The shelf holds less than is promised to orders: a person must decide, not an automatic write-off.
        outcome, note = CountOutcome.INVESTIGATING, "the count is below what is reserved and committed"
    status = {CountOutcome.MATCHED: CountStatus.MATCHED, CountOutcome.ADJUSTED: CountStatus.ADJUSTED}.get(
        outcome, CountStatus.INVESTIGATING)
    done = replace(task, status=status, counted=counted, counted_at=at, counted_by=actor.name, submitted_at=now,
                   expected=expected, discrepancy_pct=discrepancy_pct(counted, expected), adjustment=adjustment,
                   outcome=outcome, note=note)
    await _save(uow, done, CountStatus.OPEN)
    if outcome is CountOutcome.ADJUSTED:
        await _adjust(uow, actor, done, now)
    if outcome is CountOutcome.FROZEN:
        reason = f"count {done.id}: counted {counted}, expected {expected}"
        await uow.ledger.set_frozen(task.sku, task.location, True, reason, actor, now)
    elif status is not CountStatus.INVESTIGATING and task.recount_of is not None:
        # A recount that agrees with the system settles the investigation that asked for it.
        await uow.ledger.set_frozen(task.sku, task.location, False, None, actor, now)
    await uow.events.emit("count.recorded", _recorded(done), now, sku=task.sku, location=task.location)
    return done


async def resolve_count(
    uow: UnitOfWork, env: Env, actor: Actor, count_id: str, resolution: Resolution, note: str | None = None
) -> tuple[CountTask, CountTask | None]:
    """A manager settles an investigation: accept (apply the count as of its time, unfreeze), recount (a new
    blind task, the row stays frozen) or reject (change nothing, unfreeze)."""
    task = await get_count(uow, actor, count_id)
    if task.status is not CountStatus.INVESTIGATING:
        raise InvalidStateError(f"count {count_id} is {task.status.value}; only a count under investigation "
                                "can be resolved")
    now = env.clock.now()
    status = {Resolution.ACCEPT: CountStatus.ACCEPTED, Resolution.REJECT: CountStatus.REJECTED,
              Resolution.RECOUNT: CountStatus.RECOUNTED}[resolution]
    done = replace(task, status=status, resolution=resolution, resolved_at=now, resolved_by=actor.name,
                   note=note or task.note)
    await _save(uow, done, CountStatus.INVESTIGATING)
    recount = None
    if resolution is Resolution.ACCEPT:
        await expire_due(uow, env, [task.sku])
        await _adjust(uow, actor, done, now)
    if resolution is Resolution.RECOUNT:
        recount = await _open(uow, env, actor, task.sku, task.location, task.id)
    else:
        await uow.ledger.set_frozen(task.sku, task.location, False, None, actor, now)
    data = {"count_id": done.id, "sku": done.sku, "location": done.location, "resolution": resolution.value,
            "adjustment": done.adjustment if resolution is Resolution.ACCEPT else 0,
            "recount_id": recount.id if recount else None, "actor": actor.name, "note": done.note}
    await uow.events.emit("count.resolved", data, now, sku=task.sku, location=task.location)
    return done, recount


async def _save(uow: UnitOfWork, task: CountTask, source: CountStatus) -> None:
    if not await uow.counts.save(task, source):
        raise InvalidStateError(f"count {task.id} changed concurrently; read it again")


async def _adjust(uow: UnitOfWork, actor: Actor, task: CountTask, now: datetime) -> None:
    """Apply counted - expected (the discrepancy as of the count) to the row as it is now."""
    if not task.adjustment:
        return
    change = Change(task.sku, task.location, MovementKind.COUNTED, Delta(on_hand=task.adjustment),
                    abs(task.adjustment), reason=CYCLE_COUNT_REASON, reference=task.id)
    await uow.ledger.record([change], actor, now)


def _recorded(task: CountTask) -> dict[str, Any]:
    assert task.outcome is not None
    pct = task.discrepancy_pct
    return {"count_id": task.id, "sku": task.sku, "location": task.location, "counted": task.counted,
            "expected": task.expected, "discrepancy_pct": float(pct) if pct is not None else None,
            "outcome": task.outcome.value, "adjustment": task.adjustment,
            "counted_at": task.counted_at.isoformat() if task.counted_at else None, "recount_of": task.recount_of}
