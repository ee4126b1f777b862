"""The ledger: guarded UPDATE of the stock row + movement + outbox event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.events import outbox_row
from stockd.adapters.db.tables import locations, movements, outbox, products, stock
from stockd.domain.errors import (
    InsufficientStockError,
    Shortfall,
    SkuFrozenError,
    UnknownLocationError,
    UnknownProductError,
)
from stockd.domain.events import Event
from stockd.domain.movements import Change, MovementKind
from stockd.domain.stock import Delta, StockLevel
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import Actor, IdGenerator
from stockd.service_layer.runner import RetryableConflictError

_RETURNING = (stock.c.sku, stock.c.location, stock.c.on_hand, stock.c.reserved, stock.c.committed,
              stock.c.in_transit, stock.c.sequence, stock.c.updated_at, stock.c.frozen)


def level_of(row: Row[*tuple[Any, ...]]) -> StockLevel:
    m = row._mapping
    return StockLevel(m["sku"], m["location"], m["on_hand"], m["reserved"], m["committed"], m["in_transit"],
                      m["sequence"], m["updated_at"], bool(m["frozen"]))


class SqlLedger:
    def __init__(self, conn: AsyncConnection, new_id: IdGenerator) -> None:
        self._conn = conn
        self._new_id = new_id
        self.wrote_events = False  # read by the unit of work after commit, to wake the outbox relay

    async def record(self, changes: Sequence[Change], actor: Actor, now: datetime) -> list[StockLevel]:
        # Rows are always locked in (sku, location) order, whatever the request's order: two orders
        # over the same SKUs in opposite orders then queue instead of deadlocking.
        ordered = sorted(changes, key=lambda c: c.key)
        finals: dict[tuple[str, str], StockLevel] = {}
        movement_rows: list[dict[str, Any]] = []
        outbox_rows: list[dict[str, Any]] = []
        for change in ordered:
            level = await self._apply(change, now)
            finals[change.key] = level
            event_id = self._new_id()
            by = SYSTEM if change.by_system else actor
            movement_rows.append(_movement_row(event_id, change, level, by, now))
            outbox_rows.append(_outbox_row(event_id, change, level, by, now))
        if movement_rows:
            await self._conn.execute(insert(movements), movement_rows)
            await self._conn.execute(insert(outbox), outbox_rows)
            self.wrote_events = True
        return list(finals.values())

    async def _apply(self, change: Change, now: datetime) -> StockLevel:
        level = await self._guarded_update(change, now)
        if level is not None:
            return level
        current = await self._current(change.sku, change.location)
        if current is not None:
            if change.kind is MovementKind.RESERVED and current.frozen:
                raise SkuFrozenError(change.sku, change.location)
            if current.available < -change.delta.available:
                raise InsufficientStockError(
                    [Shortfall(change.sku, change.location, change.quantity, current.available)]
                )
            # The row was committed by a concurrent first change after our UPDATE looked: run it again.
            raise RetryableConflictError(f"{change.sku} at {change.location} appeared concurrently")
        await self._require_known(change.sku, change.location)
        if _takes_stock(change.delta):
            raise InsufficientStockError([Shortfall(change.sku, change.location, change.quantity, 0)])
        await self._create_row(change.sku, change.location, now)
        level = await self._guarded_update(change, now)
        if level is None:  # pragma: no cover - the row was just created and the change only adds
            raise RuntimeError(f"could not apply {change} to a new stock row")
        return level

    async def _guarded_update(self, change: Change, now: datetime) -> StockLevel | None:
        d = change.delta
        stmt = (
            update(stock)
            .where(stock.c.sku == change.sku, stock.c.location == change.location, *_guards(change))
            .values(
                on_hand=stock.c.on_hand + d.on_hand,
                reserved=stock.c.reserved + d.reserved,
                committed=stock.c.committed + d.committed,
                in_transit=stock.c.in_transit + d.in_transit,
                sequence=stock.c.sequence + 1,
                updated_at=now,
            )
            .returning(*_RETURNING)
        )
        row = (await self._conn.execute(stmt)).first()
        return level_of(row) if row is not None else None

    async def set_frozen(
        self, sku: str, location: str, frozen: bool, reason: str | None, actor: Actor, now: datetime
    ) -> StockLevel | None:
        """Freeze or unfreeze one row and emit sku.frozen / sku.unfrozen; None when it already was so (or
        does not exist). The row's sequence stays (it numbers the ledger's movements, gapless), so the event
        carries none: a consumer reads the flag from the row, not from the event's order."""
        stmt = (
            update(stock)
            .where(stock.c.sku == sku, stock.c.location == location, stock.c.frozen == (not frozen))
            .values(frozen=frozen, frozen_reason=reason if frozen else None)
            .returning(*_RETURNING)
        )
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        level = level_of(row)
        event = Event(
            id=self._new_id(), type="sku.frozen" if frozen else "sku.unfrozen", time=now, sku=sku,
            location=location, sequence=None,
            data={"reason": reason, "available": level.available, "on_hand": level.on_hand,
                  "actor": actor.name, "request_id": actor.request_id},
        )
        await self._conn.execute(insert(outbox).values(outbox_row(event)))
        self.wrote_events = True
        return level

    async def _current(self, sku: str, location: str) -> StockLevel | None:
        stmt = select(*_RETURNING).where(stock.c.sku == sku, stock.c.location == location)
        row = (await self._conn.execute(stmt)).first()
        return level_of(row) if row is not None else None

    async def _require_known(self, sku: str, location: str) -> None:
        if (await self._conn.execute(select(products.c.sku).where(products.c.sku == sku))).first() is None:
            raise UnknownProductError(sku)
        found = await self._conn.execute(select(locations.c.code).where(locations.c.code == location))
        if found.first() is None:
            raise UnknownLocationError(location)

    async def _create_row(self, sku: str, location: str, now: datetime) -> None:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(stock).values(
            sku=sku, location=location, on_hand=0, reserved=0, committed=0, in_transit=0, sequence=0,
            updated_at=now,
        )
        await self._conn.execute(stmt.on_conflict_do_nothing(index_elements=["sku", "location"]))


def _guards(change: Change) -> list[ColumnElement[bool]]:
    """Only what a change could break is checked: buckets it lowers, and availability if it shrinks.
    A frozen row takes no new reservation (everything else, shipping what is already held, still moves)."""
    d = change.delta
    guards: list[ColumnElement[bool]] = []
    if change.kind is MovementKind.RESERVED:
        guards.append(stock.c.frozen == false())
    for name in ("on_hand", "reserved", "committed", "in_transit"):
        amount = getattr(d, name)
        if amount < 0:
            guards.append(stock.c[name] >= -amount)
    if d.available < 0:
        guards.append(stock.c.on_hand - stock.c.reserved - stock.c.committed >= -d.available)
    return [and_(*guards)] if guards else []


def _takes_stock(d: Delta) -> bool:
    return min(d.on_hand, d.reserved, d.committed, d.in_transit, d.available) < 0


def _movement_row(event_id: str, c: Change, after: StockLevel, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id, "sku": c.sku, "location": c.location, "sequence": after.sequence,
        "kind": c.kind.value, "quantity": c.quantity,
        "d_on_hand": c.delta.on_hand, "d_reserved": c.delta.reserved,
        "d_committed": c.delta.committed, "d_in_transit": c.delta.in_transit,
        "on_hand": after.on_hand, "reserved": after.reserved,
        "committed": after.committed, "in_transit": after.in_transit,
        "reason": c.reason, "reference": c.reference,
        "actor": actor.name, "role": actor.role, "request_id": actor.request_id, "occurred_at": now,
    }


def _outbox_row(event_id: str, c: Change, after: StockLevel, actor: Actor, now: datetime) -> dict[str, Any]:
    event = Event(
        id=event_id,
        type=c.kind.event_type,
        time=now,
        sku=c.sku,
        location=c.location,
        sequence=after.sequence,
        data={
            "kind": c.kind.value, "quantity": c.quantity, "reason": c.reason, "reference": c.reference,
            "on_hand": after.on_hand, "reserved": after.reserved, "committed": after.committed,
            "in_transit": after.in_transit, "available": after.available,
            "actor": actor.name, "request_id": actor.request_id,
        },
    )
    return {
        "event_id": event_id, "type": event.type, "sku": c.sku, "location": c.location,
        "sequence": after.sequence, "payload": event.envelope(), "created_at": now, "attempts": 0,
    }
