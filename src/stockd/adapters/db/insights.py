"""Read-only SQL for the dashboard and the metrics: the stock table, ledger points, sales, outbox lag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.ledger import _RETURNING, level_of
from stockd.adapters.db.tables import movements, outbox, products, stock
from stockd.domain.trends import SALE_KINDS, LedgerPoint, SkuSales
from stockd.service_layer.ports import STOCK_SORT_KEYS, FrozenRow, OutboxLag, StockQuery, StockRow

_AVAILABLE = stock.c.on_hand - stock.c.reserved - stock.c.committed
_SORT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "sku": stock.c.sku, "name": products.c.name, "location": stock.c.location, "on_hand": stock.c.on_hand,
    "reserved": stock.c.reserved, "committed": stock.c.committed, "in_transit": stock.c.in_transit,
    "available": _AVAILABLE,
}
assert set(_SORT_COLUMNS) == set(STOCK_SORT_KEYS)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlInsightsReader:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def stock_table(self, query: StockQuery) -> list[StockRow]:
        column = _SORT_COLUMNS.get(query.sort, stock.c.sku)
        order = column.desc() if query.descending else column.asc()
        stmt: Select[Any] = (
            select(*_RETURNING, products.c.name)
            .select_from(stock.join(products, products.c.sku == stock.c.sku))
            .order_by(order, stock.c.sku, stock.c.location)
            .limit(query.limit)
            .offset(query.offset)
        )
        if query.locations is not None:
            stmt = stmt.where(stock.c.location.in_(sorted(query.locations)))
        if query.search:
            pattern = f"%{_escape_like(query.search.lower())}%"
            stmt = stmt.where(or_(*(func.lower(c).like(pattern, escape="\\")
                                    for c in (stock.c.sku, products.c.name, stock.c.location))))
        return [StockRow(level_of(row), row.name) for row in await self._conn.execute(stmt)]

    async def ledger_points(
        self, sku: str, since: datetime, limit: int, scope: frozenset[str] | None
    ) -> list[LedgerPoint]:
        m = movements.c
        stmt = (
            select(m.location, m.occurred_at, m.kind, m.quantity, m.d_on_hand, m.on_hand)
            .where(m.sku == sku, m.occurred_at >= since)
            .order_by(m.id.desc())
            .limit(limit)
        )
        if scope is not None:
            stmt = stmt.where(m.location.in_(sorted(scope)))
        rows = list(await self._conn.execute(stmt))
        return [LedgerPoint(r.location, r.occurred_at, r.kind, r.quantity, r.d_on_hand, r.on_hand)
                for r in reversed(rows)]

    async def sales_by_sku(self, since: datetime, scope: frozenset[str] | None) -> list[SkuSales]:
        m = movements.c
        sold_where = and_(m.kind.in_(sorted(SALE_KINDS)), m.occurred_at >= since)
        stock_where = stock.c.sku == products.c.sku
        if scope is not None:
            sold_where = and_(sold_where, m.location.in_(sorted(scope)))
            stock_where = and_(stock_where, stock.c.location.in_(sorted(scope)))
        sold = select(m.sku, func.sum(m.quantity).label("sold")).where(sold_where).group_by(m.sku).subquery()
        on_hand = select(func.coalesce(func.sum(stock.c.on_hand), 0)).where(stock_where).scalar_subquery()
        stmt = (
            select(products.c.sku, products.c.name, func.coalesce(sold.c.sold, 0).label("sold"),
                   on_hand.label("on_hand"))
            .select_from(products.outerjoin(sold, sold.c.sku == products.c.sku))
            .order_by(products.c.sku)
        )
        return [SkuSales(r.sku, r.name, int(r.sold), int(r.on_hand)) for r in await self._conn.execute(stmt)]

    async def outbox_lag(self) -> OutboxLag:
        stmt = select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        count, oldest = (await self._conn.execute(stmt)).one()
        return OutboxLag(int(count), oldest)

    async def movements_since(self, since: datetime) -> int:
        stmt = select(func.count()).select_from(movements).where(movements.c.occurred_at >= since)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def frozen_rows(self, scope: frozenset[str] | None) -> list[FrozenRow]:
        stmt = (
            select(*_RETURNING, products.c.name, stock.c.frozen_reason)
            .select_from(stock.join(products, products.c.sku == stock.c.sku))
            .where(stock.c.frozen.is_(True))
            .order_by(stock.c.sku, stock.c.location)
        )
        if scope is not None:
            stmt = stmt.where(stock.c.location.in_(sorted(scope)))
        return [FrozenRow(level_of(row), row.name, row.frozen_reason) for row in await self._conn.execute(stmt)]
