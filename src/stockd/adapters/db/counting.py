"""Cycle counts and ABC classes in SQL."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import abc_classes, count_tasks, movements, products, stock
from stockd.domain.counting import (
    ACTIVE_STATUSES,
    AbcClass,
    CountOutcome,
    CountStatus,
    CountTask,
    DueCount,
    Resolution,
    SkuClass,
)
from stockd.domain.movements import MovementKind
from stockd.service_layer.ports import CountFilter

_MUTABLE = ("status", "counted", "counted_at", "counted_by", "submitted_at", "expected", "discrepancy_pct",
            "adjustment", "outcome", "resolution", "resolved_at", "resolved_by", "note")


def _values(task: CountTask) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(task, name) for name in _MUTABLE}
    for name in ("status", "outcome", "resolution"):
        values[name] = values[name].value if values[name] is not None else None
    return values


def _task(row: Row[*tuple[Any, ...]]) -> CountTask:
    m = row._mapping
    return CountTask(
        id=m["id"], sku=m["sku"], location=m["location"], status=CountStatus(m["status"]),
        opened_at=m["opened_at"], opened_by=m["opened_by"], snapshot_on_hand=m["snapshot_on_hand"],
        snapshot_sequence=m["snapshot_sequence"], recount_of=m["recount_of"], counted=m["counted"],
        counted_at=m["counted_at"], counted_by=m["counted_by"], submitted_at=m["submitted_at"],
        expected=m["expected"],
        discrepancy_pct=Decimal(m["discrepancy_pct"]) if m["discrepancy_pct"] is not None else None,
        adjustment=m["adjustment"], outcome=CountOutcome(m["outcome"]) if m["outcome"] else None,
        resolution=Resolution(m["resolution"]) if m["resolution"] else None, resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"], note=m["note"],
    )


class SqlCountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, task: CountTask) -> None:
        await self._conn.execute(insert(count_tasks).values(
            id=task.id, sku=task.sku, location=task.location, opened_at=task.opened_at, opened_by=task.opened_by,
            snapshot_on_hand=task.snapshot_on_hand, snapshot_sequence=task.snapshot_sequence,
            recount_of=task.recount_of, **_values(task),
        ))

    async def get(self, count_id: str) -> CountTask | None:
        row = (await self._conn.execute(select(count_tasks).where(count_tasks.c.id == count_id))).first()
        return _task(row) if row is not None else None

    async def active_for(self, sku: str, location: str) -> CountTask | None:
        stmt = select(count_tasks).where(count_tasks.c.sku == sku, count_tasks.c.location == location,
                                         count_tasks.c.status.in_(ACTIVE_STATUSES))
        row = (await self._conn.execute(stmt)).first()
        return _task(row) if row is not None else None

    async def save(self, task: CountTask, expected_status: CountStatus) -> bool:
        stmt = (update(count_tasks)
                .where(count_tasks.c.id == task.id, count_tasks.c.status == expected_status.value)
                .values(**_values(task)))
        return (await self._conn.execute(stmt)).rowcount == 1

    async def list(self, query: CountFilter) -> builtins.list[CountTask]:
        stmt = select(count_tasks).order_by(count_tasks.c.opened_at.desc(), count_tasks.c.id)
        if query.status is not None:
            stmt = stmt.where(count_tasks.c.status == query.status)
        if query.sku is not None:
            stmt = stmt.where(count_tasks.c.sku == query.sku)
        if query.location is not None:
            stmt = stmt.where(count_tasks.c.location == query.location)
        if query.locations is not None:
            stmt = stmt.where(count_tasks.c.location.in_(sorted(query.locations)))
        rows = await self._conn.execute(stmt.limit(query.limit).offset(query.offset))
        return [_task(r) for r in rows]

    async def on_hand_change_after(self, sku: str, location: str, after: datetime) -> int:
        stmt = select(func.coalesce(func.sum(movements.c.d_on_hand), 0)).where(
            movements.c.sku == sku, movements.c.location == location, movements.c.occurred_at > after)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def due(
        self, cutoffs: dict[AbcClass, datetime], location: str | None, scope: frozenset[str] | None,
        limit: int, offset: int,
    ) -> builtins.list[DueCount]:
        last = (select(count_tasks.c.sku, count_tasks.c.location,
                       func.max(count_tasks.c.counted_at).label("last_counted_at"))
                .where(count_tasks.c.counted_at.is_not(None))
                .group_by(count_tasks.c.sku, count_tasks.c.location).subquery())
        active = (select(count_tasks.c.id, count_tasks.c.sku, count_tasks.c.location)
                  .where(count_tasks.c.status.in_(ACTIVE_STATUSES)).subquery())
        cls = func.coalesce(abc_classes.c.abc_class, AbcClass.C.value)
        overdue = [and_(cls == c.value, last.c.last_counted_at <= cutoff) for c, cutoff in cutoffs.items()]
        stmt = (
            select(stock.c.sku, stock.c.location, cls.label("abc_class"), last.c.last_counted_at,
                   active.c.id.label("active_id"))
            .select_from(
                stock.outerjoin(abc_classes, abc_classes.c.sku == stock.c.sku)
                .outerjoin(last, and_(last.c.sku == stock.c.sku, last.c.location == stock.c.location))
                .outerjoin(active, and_(active.c.sku == stock.c.sku, active.c.location == stock.c.location))
            )
            .where(stock.c.on_hand > 0, or_(last.c.last_counted_at.is_(None), *overdue))
            .order_by(stock.c.location, cls, stock.c.sku)
            .limit(limit).offset(offset)
        )
        if location is not None:
            stmt = stmt.where(stock.c.location == location)
        if scope is not None:
            stmt = stmt.where(stock.c.location.in_(sorted(scope)))
        return [DueCount(r.sku, r.location, AbcClass(r.abc_class), r.last_counted_at, r.active_id)
                for r in await self._conn.execute(stmt)]


class SqlAbcRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def revenue_since(self, since: datetime) -> dict[str, Decimal]:
        sold = (select(movements.c.sku, func.sum(movements.c.quantity).label("units"))
                .where(movements.c.kind == MovementKind.SHIPPED.value, movements.c.occurred_at > since)
                .group_by(movements.c.sku).subquery())
        stmt = select(products.c.sku, products.c.price, sold.c.units).select_from(
            products.outerjoin(sold, sold.c.sku == products.c.sku))
        return {r.sku: Decimal(r.price) * int(r.units or 0) for r in await self._conn.execute(stmt)}

    async def replace(self, classes: Sequence[SkuClass]) -> None:
        await self._conn.execute(delete(abc_classes))
        rows = [{"sku": c.sku, "abc_class": c.abc_class.value, "revenue": c.revenue, "window_days": c.window_days,
                 "computed_at": c.computed_at} for c in classes]
        for start in range(0, len(rows), 1000):
            await self._conn.execute(insert(abc_classes), rows[start : start + 1000])

    async def list(self, abc_class: AbcClass | None, limit: int, offset: int) -> builtins.list[SkuClass]:
        stmt = (select(abc_classes).order_by(abc_classes.c.abc_class, abc_classes.c.revenue.desc(),
                                             abc_classes.c.sku).limit(limit).offset(offset))
        if abc_class is not None:
            stmt = stmt.where(abc_classes.c.abc_class == abc_class.value)
        return [SkuClass(r.sku, AbcClass(r.abc_class), Decimal(r.revenue), r.computed_at, r.window_days)
                for r in await self._conn.execute(stmt)]

    async def last_computed_at(self) -> datetime | None:
        value: datetime | None = (await self._conn.execute(select(func.max(abc_classes.c.computed_at)))).scalar()
        return value
