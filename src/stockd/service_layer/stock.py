"""Use cases that move stock outside reservations: receive, adjust, return, transfer; and reads."""

from __future__ import annotations

from stockd.domain.errors import TransferNotFoundError, UnknownLocationError, UnknownProductError
from stockd.domain.movements import Change, MovementKind, adjustment_delta
from stockd.domain.stock import Delta, StockLevel, StockTotals
from stockd.domain.transfers import Transfer, TransferStatus
from stockd.service_layer.commands import Adjust, CreateTransfer, Receive, ReturnStock
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork
from stockd.service_layer.reservations import claim_expired, expire_due
from stockd.service_layer.runner import RetryableConflictError


async def receive(uow: UnitOfWork, env: Env, actor: Actor, cmd: Receive) -> list[StockLevel]:
    """Goods arrive at a location: on_hand rises by each line."""
    actor.check_locations([cmd.location])
    changes = [
        Change(ln.sku, cmd.location, MovementKind.RECEIVED, Delta(on_hand=ln.quantity), ln.quantity,
               reference=cmd.reference)
        for ln in cmd.lines
    ]
    return await uow.ledger.record(changes, actor, env.clock.now())


async def adjust(uow: UnitOfWork, env: Env, actor: Actor, cmd: Adjust) -> StockLevel:
    """A correction of on_hand with its reason; it may not take away stock that is reserved or committed."""
    actor.check_locations([cmd.location])
    delta = adjustment_delta(cmd.quantity, cmd.reason)
    change = Change(cmd.sku, cmd.location, MovementKind.ADJUSTED, delta, abs(cmd.quantity),
                    reason=cmd.reason.value, reference=cmd.note)
    now = env.clock.now()
    # Holds past their expiry no longer count: a write-off may take what they held.
    released = await claim_expired(uow, now, [cmd.sku]) if delta.on_hand < 0 else []
    levels = await uow.ledger.record([*released, change], actor, now)
    return next(lvl for lvl in levels if lvl.key == change.key)


async def return_stock(uow: UnitOfWork, env: Env, actor: Actor, cmd: ReturnStock) -> StockLevel:
    """A customer return put back on the shelf: on_hand rises."""
    actor.check_locations([cmd.location])
    change = Change(cmd.sku, cmd.location, MovementKind.RETURNED, Delta(on_hand=cmd.quantity), cmd.quantity,
                    reason="return", reference=cmd.reference)
    (level,) = await uow.ledger.record([change], actor, env.clock.now())
    return level


async def create_transfer(uow: UnitOfWork, env: Env, actor: Actor, cmd: CreateTransfer) -> Transfer:
    """Stock leaves the source's on_hand now and shows as in_transit at the destination.

    The source decides to ship, so a key scoped to the source may send to any location."""
    actor.check_locations([cmd.source])
    for code in (cmd.source, cmd.destination):
        if await uow.locations.get(code) is None:
            raise UnknownLocationError(code)
    transfer = Transfer(env.new_id(), cmd.source, cmd.destination, TransferStatus.IN_TRANSIT, cmd.lines,
                        env.clock.now())
    await uow.transfers.add(transfer)
    released = await claim_expired(uow, transfer.created_at, sorted({ln.sku for ln in transfer.lines}))
    await uow.ledger.record([*released, *transfer.dispatch_changes()], actor, transfer.created_at)
    return transfer


async def receive_transfer(uow: UnitOfWork, env: Env, actor: Actor, transfer_id: str) -> Transfer:
    transfer = await get_transfer(uow, actor, transfer_id)
    actor.check_locations([transfer.destination])
    changes = transfer.receive_changes()
    now = env.clock.now()
    if not await uow.transfers.transition(transfer.id, TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED, now):
        raise RetryableConflictError(transfer.id)
    await uow.ledger.record(changes, actor, now)
    return Transfer(transfer.id, transfer.source, transfer.destination, TransferStatus.RECEIVED,
                    transfer.lines, transfer.created_at, now)


async def get_transfer(uow: UnitOfWork, actor: Actor, transfer_id: str) -> Transfer:
    transfer = await uow.transfers.get(transfer_id)
    if transfer is None:
        raise TransferNotFoundError(transfer_id)
    if not (actor.may_touch(transfer.source) or actor.may_touch(transfer.destination)):
        actor.check_locations([transfer.source, transfer.destination])
    return transfer


async def stock_of_sku(uow: UnitOfWork, env: Env, actor: Actor, sku: str) -> StockTotals:
    """One SKU across the locations the caller may see, with expired holds already given back."""
    if await uow.products.get(sku) is None:
        raise UnknownProductError(sku)
    await expire_due(uow, env, [sku])
    levels = [lvl for lvl in await uow.stock.for_sku(sku) if actor.may_touch(lvl.location)]
    return StockTotals.of(sku, levels)


async def stock_at(uow: UnitOfWork, env: Env, actor: Actor, sku: str, location: str) -> StockLevel:
    actor.check_locations([location])
    if await uow.products.get(sku) is None:
        raise UnknownProductError(sku)
    if await uow.locations.get(location) is None:
        raise UnknownLocationError(location)
    await expire_due(uow, env, [sku])
    return await uow.stock.get(sku, location) or StockLevel(sku, location)


async def list_stock(
    uow: UnitOfWork, env: Env, actor: Actor, sku: str | None, location: str | None, limit: int, offset: int
) -> list[StockLevel]:
    if location is not None:
        actor.check_locations([location])
    await expire_due(uow, env, [sku] if sku else None)
    return await uow.stock.list(sku, location, limit, offset, actor.locations)
