"""Read side: stock rows, the ledger, and the reconciliation of one against the other."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.ledger import _RETURNING, level_of
from stockd.adapters.db.tables import BUCKETS, movements, stock
from stockd.domain.movements import Drift, Movement, MovementKind
from stockd.domain.stock import Delta, StockLevel
from stockd.service_layer.ports import MovementFilter


class SqlStockReader:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, sku: str, location: str) -> StockLevel | None:
        stmt = select(*_RETURNING).where(stock.c.sku == sku, stock.c.location == location)
        row = (await self._conn.execute(stmt)).first()
        return level_of(row) if row else None

    async def list(
        self, sku: str | None, location: str | None, limit: int, offset: int, scope: frozenset[str] | None = None
    ) -> builtins.list[StockLevel]:
        stmt = select(*_RETURNING).order_by(stock.c.sku, stock.c.location).limit(limit).offset(offset)
        if scope is not None:
            stmt = stmt.where(stock.c.location.in_(sorted(scope)))
        if sku is not None:
            stmt = stmt.where(stock.c.sku == sku)
        if location is not None:
            stmt = stmt.where(stock.c.location == location)
        return [level_of(r) for r in await self._conn.execute(stmt)]

    async def locked(self, sku: str, location: str) -> StockLevel | None:
        stmt = select(*_RETURNING).where(stock.c.sku == sku, stock.c.location == location).with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return level_of(row) if row else None

    async def lock(self, keys: Sequence[tuple[str, str]]) -> None:
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            stmt = (
                select(stock.c.sku)
                .where(tuple_(stock.c.sku, stock.c.location).in_(chunk))
                .order_by(stock.c.sku, stock.c.location)
                .with_for_update()
            )
            await self._conn.execute(stmt)

    async def for_sku(self, sku: str) -> builtins.list[StockLevel]:
        stmt = select(*_RETURNING).where(stock.c.sku == sku).order_by(stock.c.location)
        return [level_of(r) for r in await self._conn.execute(stmt)]


def _movement(row: Row[*tuple[Any, ...]]) -> Movement:
    m = row._mapping
    delta = Delta(m["d_on_hand"], m["d_reserved"], m["d_committed"], m["d_in_transit"])
    after = StockLevel(m["sku"], m["location"], m["on_hand"], m["reserved"], m["committed"], m["in_transit"],
                       m["sequence"], m["occurred_at"])
    return Movement(
        id=m["id"], sku=m["sku"], location=m["location"], kind=MovementKind(m["kind"]), quantity=m["quantity"],
        delta=delta, after=after, reason=m["reason"], reference=m["reference"], actor=m["actor"],
        role=m["role"], request_id=m["request_id"], occurred_at=m["occurred_at"], event_id=m["event_id"],
    )


class SqlMovementReader:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def list(self, query: MovementFilter) -> builtins.list[Movement]:
        stmt = select(movements).order_by(movements.c.id).limit(query.limit)
        conditions = {
            movements.c.sku: query.sku, movements.c.location: query.location,
            movements.c.kind: query.kind, movements.c.reference: query.reference,
        }
        for column, value in conditions.items():
            if value is not None:
                stmt = stmt.where(column == value)
        if query.since is not None:
            stmt = stmt.where(movements.c.occurred_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(movements.c.occurred_at < query.until)
        if query.after_id is not None:
            stmt = stmt.where(movements.c.id > query.after_id)
        if query.locations is not None:
            stmt = stmt.where(movements.c.location.in_(sorted(query.locations)))
        return [_movement(r) for r in await self._conn.execute(stmt)]

    async def drift(self) -> builtins.list[Drift]:
        return await reconcile(self._conn)


async def reconcile(conn: AsyncConnection) -> builtins.list[Drift]:
    """Invariant 7: replay the ledger's deltas per row and compare with the stock row. Must find nothing."""
    sums = (
        select(
            movements.c.sku, movements.c.location,
            *(func.coalesce(func.sum(movements.c[f"d_{b}"]), 0).label(b) for b in BUCKETS),
        )
        .group_by(movements.c.sku, movements.c.location)
        .subquery()
    )
    stmt = select(stock, *(sums.c[b].label(f"ledger_{b}") for b in BUCKETS)).select_from(
        stock.outerjoin(sums, (sums.c.sku == stock.c.sku) & (sums.c.location == stock.c.location))
    )
    drifts = []
    for row in await conn.execute(stmt):
        m = row._mapping
        for bucket in BUCKETS:
            ledger_value = int(m[f"ledger_{bucket}"] or 0)
            if ledger_value != m[bucket]:
                drifts.append(Drift(m["sku"], m["location"], bucket, m[bucket], ledger_value))
    return drifts
