"""Use cases for reservations: reserve (all or nothing), commit, ship, release, expire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from stockd.domain.errors import AlreadyExistsError, ReservationExpiredError, ReservationNotFoundError
from stockd.domain.movements import Change, MovementKind
from stockd.domain.reservations import Reservation, ReservationStatus, merge_lines
from stockd.domain.stock import Delta
from stockd.service_layer.commands import Reserve
from stockd.service_layer.env import SYSTEM, Env
from stockd.service_layer.ports import Actor, UnitOfWork
from stockd.service_layer.runner import RetryableConflictError

EXPIRY_BATCH = 200


async def reserve(uow: UnitOfWork, env: Env, actor: Actor, cmd: Reserve) -> Reservation:
    """Hold stock for an order: every line or none, each (sku, location) summed before it is checked.

    The check is the guarded UPDATE in the ledger, so the database decides who gets the last unit.
    """
    lines = merge_lines(cmd.lines)
    actor.check_locations(ln.location for ln in lines)
    actor.check_channel(cmd.channel if cmd.channel is not None else actor.channel)
    channel = cmd.channel if cmd.channel is not None else actor.channel
    if cmd.order_id is not None:
        existing = await uow.reservations.get_by_order(cmd.order_id)
        if existing is not None:
            raise AlreadyExistsError(f"order {cmd.order_id!r} already has reservation {existing.id}")
    now = env.clock.now()
    # Holds past their expiry on these SKUs stop counting now, not when the sweeper comes by.
    changes = await claim_expired(uow, now, sorted({ln.sku for ln in lines}))
    reservation = Reservation(
        id=env.new_id(),
        order_id=cmd.order_id,
        channel=channel,
        status=ReservationStatus.ACTIVE,
        lines=tuple(lines),
        expires_at=now + cmd.ttl,
        created_at=now,
        updated_at=now,
    )
    changes += [
        Change(ln.sku, ln.location, MovementKind.RESERVED, Delta(reserved=ln.quantity), ln.quantity,
               reference=reservation.id)
        for ln in lines
    ]
    # The ledger goes last: it takes the row locks, and they are held until commit, so everything that
    # needs no lock is written first. On one hot SKU the lock hold time is the throughput.
    await uow.reservations.add(reservation, actor)
    await uow.ledger.record(changes, actor, now)
    return reservation


async def get_reservation(uow: UnitOfWork, env: Env, actor: Actor, reservation_id: str) -> Reservation:
    """Reading a reservation past its expiry releases it first."""
    reservation = await _load(uow, actor, reservation_id)
    if reservation.is_expired(env.clock.now()):
        return await _settle(uow, env, SYSTEM, reservation, ReservationStatus.EXPIRED)
    return reservation


async def commit(uow: UnitOfWork, env: Env, actor: Actor, reservation_id: str) -> Reservation:
    """Picking and packing: reserved becomes committed. Refused once the hold has expired."""
    return await _settle_live(uow, env, actor, reservation_id, ReservationStatus.COMMITTED)


async def ship(uow: UnitOfWork, env: Env, actor: Actor, reservation_id: str) -> Reservation:
    """The goods leave: the held quantity leaves on_hand."""
    return await _settle_live(uow, env, actor, reservation_id, ReservationStatus.SHIPPED)


async def release(uow: UnitOfWork, env: Env, actor: Actor, reservation_id: str) -> Reservation:
    """Cancel: whatever was held or committed is available again."""
    reservation = await _load(uow, actor, reservation_id)
    if reservation.is_expired(env.clock.now()):
        return await _settle(uow, env, SYSTEM, reservation, ReservationStatus.EXPIRED)
    return await _settle(uow, env, actor, reservation, ReservationStatus.RELEASED)


async def expire_due(uow: UnitOfWork, env: Env, skus: Sequence[str] | None = None) -> int:
    """Release holds past their expiry (the sweeper, and any read that notices them)."""
    now = env.clock.now()
    changes = await claim_expired(uow, now, skus)
    if changes:
        await uow.ledger.record(changes, SYSTEM, now)
    return len({c.reference for c in changes})


async def _settle_live(
    uow: UnitOfWork, env: Env, actor: Actor, reservation_id: str, target: ReservationStatus
) -> Reservation:
    reservation = await _load(uow, actor, reservation_id)
    if reservation.status is ReservationStatus.EXPIRED or reservation.is_expired(env.clock.now()):
        raise ReservationExpiredError(reservation_id)
    return await _settle(uow, env, actor, reservation, target)


async def _settle(
    uow: UnitOfWork, env: Env, actor: Actor, reservation: Reservation, target: ReservationStatus
) -> Reservation:
    now = env.clock.now()
    changes = reservation.changes_for(target)
    if not await uow.reservations.transition(reservation.id, reservation.status, target, now):
        # Someone else moved it between our read and our write; rerun to answer from its new status.
        raise RetryableConflictError(reservation.id)
    await uow.ledger.record(changes, SYSTEM if target is ReservationStatus.EXPIRED else actor, now)
    return replace(reservation, status=target, updated_at=now)


async def claim_expired(uow: UnitOfWork, now: datetime, skus: Sequence[str] | None) -> list[Change]:
    """Mark the holds past their expiry on `skus` as expired and return the changes that give their stock back,
    for the caller to record with its own (in one ledger call, so rows are still locked in order)."""
    changes: list[Change] = []
    for reservation in await uow.reservations.due_to_expire(now, skus, EXPIRY_BATCH):
        # Compare-and-set on the status: of two sweepers (or a sweeper and a reader), one wins.
        if await uow.reservations.transition(
            reservation.id, ReservationStatus.ACTIVE, ReservationStatus.EXPIRED, now
        ):
            changes += reservation.changes_for(ReservationStatus.EXPIRED)
    return changes


async def _load(uow: UnitOfWork, actor: Actor, reservation_id: str) -> Reservation:
    reservation = await uow.reservations.get(reservation_id)
    if reservation is None:
        raise ReservationNotFoundError(reservation_id)
    actor.check_locations(ln.location for ln in reservation.lines)
    actor.check_channel(reservation.channel)
    return reservation
