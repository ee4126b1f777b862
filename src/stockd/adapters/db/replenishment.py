"""Suppliers, reorder policies, purchase orders, receipts, budgets; and daily demand summed from the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import (
    budgets,
    movements,
    purchase_order_lines,
    purchase_orders,
    reorder_point_changes,
    reorder_policies,
    replenishment_runs,
    supplier_products,
    supplier_receipts,
    suppliers,
)
from stockd.domain.replenishment import (
    Budget,
    OrderMethod,
    PolicyChange,
    PoLine,
    PoStatus,
    Priority,
    PurchaseOrder,
    Receipt,
    ReorderPolicy,
    Supplier,
    SupplierProduct,
)
from stockd.service_layer.ports import OpenLine


def _supplier(row: Row[Any]) -> Supplier:
    m = row._mapping
    return Supplier(m["code"], m["name"], m["currency"], m["lead_time_days"], m["contact"], bool(m["active"]),
                    m["created_at"], m["updated_at"])


def _link(row: Row[Any]) -> SupplierProduct:
    m = row._mapping
    return SupplierProduct(m["supplier"], m["sku"], Decimal(m["unit_cost"]), m["pack_size"], m["min_order"],
                           Priority(m["priority"]), bool(m["active"]), m["late_deliveries"], bool(m["suspended"]))


_FLOATS = ("service_level", "daily_demand", "demand_sigma", "lead_time_days", "lead_time_std")


def _policy(row: Row[Any]) -> ReorderPolicy:
    m = dict(row._mapping)
    for name in _FLOATS:
        m[name] = float(m[name])
    m["order_method"] = OrderMethod(m["order_method"])
    m["low"] = bool(m["low"])
    return ReorderPolicy(**m)


def _policy_row(p: ReorderPolicy) -> dict[str, Any]:
    row = dict(p.__dict__)
    for name in _FLOATS:
        row[name] = Decimal(str(round(row[name], 6)))
    row["order_method"] = p.order_method.value
    return row


class SqlReplenishmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def add_supplier(self, supplier: Supplier) -> None:
        await self._conn.execute(insert(suppliers).values(**supplier.__dict__))

    async def get_supplier(self, code: str) -> Supplier | None:
        row = (await self._conn.execute(select(suppliers).where(suppliers.c.code == code))).first()
        return _supplier(row) if row is not None else None

    async def list_suppliers(self) -> list[Supplier]:
        return [_supplier(r) for r in await self._conn.execute(select(suppliers).order_by(suppliers.c.code))]

    async def update_supplier(self, supplier: Supplier) -> None:
        values = {k: v for k, v in supplier.__dict__.items() if k not in ("code", "created_at")}
        await self._conn.execute(update(suppliers).where(suppliers.c.code == supplier.code).values(**values))

    async def save_link(self, link: SupplierProduct, now: datetime) -> None:
        values = {**link.__dict__, "priority": link.priority.value, "updated_at": now}
        stmt = self._insert(supplier_products).values(**values)
        changed = {k: stmt.excluded[k] for k in values if k not in ("supplier", "sku")}
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["supplier", "sku"], set_=changed))

    async def links(self, sku: str | None = None, supplier: str | None = None) -> list[SupplierProduct]:
        stmt = select(supplier_products).order_by(supplier_products.c.sku, supplier_products.c.supplier)
        if sku is not None:
            stmt = stmt.where(supplier_products.c.sku == sku)
        if supplier is not None:
            stmt = stmt.where(supplier_products.c.supplier == supplier)
        return [_link(r) for r in await self._conn.execute(stmt)]

    async def get_policy(self, sku: str, location: str) -> ReorderPolicy | None:
        stmt = select(reorder_policies).where(reorder_policies.c.sku == sku, reorder_policies.c.location == location)
        row = (await self._conn.execute(stmt)).first()
        return _policy(row) if row is not None else None

    async def list_policies(self, sku: str | None = None) -> list[ReorderPolicy]:
        stmt = select(reorder_policies).order_by(reorder_policies.c.sku, reorder_policies.c.location)
        if sku is not None:
            stmt = stmt.where(reorder_policies.c.sku == sku)
        return [_policy(r) for r in await self._conn.execute(stmt)]

    async def save_policy(self, policy: ReorderPolicy) -> None:
        values = _policy_row(policy)
        stmt = self._insert(reorder_policies).values(**values)
        changed = {k: stmt.excluded[k] for k in values if k not in ("sku", "location", "low")}
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["sku", "location"], set_=changed))

    async def set_low(self, sku: str, location: str, low: bool) -> bool:
        stmt = (update(reorder_policies)
                .where(reorder_policies.c.sku == sku, reorder_policies.c.location == location,
                       reorder_policies.c.low == (not low))
                .values(low=low))
        return bool((await self._conn.execute(stmt)).rowcount)

    async def record_change(self, change: PolicyChange) -> None:
        values = {**change.__dict__}
        for name in ("old", "new"):
            values[name] = None if values[name] is None else Decimal(str(round(values[name], 4)))
        await self._conn.execute(insert(reorder_point_changes).values(**values))

    async def changes(self, sku: str, location: str, limit: int) -> list[PolicyChange]:
        t = reorder_point_changes
        stmt = (select(t).where(t.c.sku == sku, t.c.location == location)
                .order_by(t.c.id.desc()).limit(limit))
        return [
            PolicyChange(r.sku, r.location, r.field, None if r.old is None else float(r.old),
                         None if r.new is None else float(r.new), r.reason, r.occurred_at, r.actor)
            for r in await self._conn.execute(stmt)
        ]

    async def add_po(self, po: PurchaseOrder) -> None:
        await self._conn.execute(insert(purchase_orders).values(
            id=po.id, supplier=po.supplier, status=po.status.value, currency=po.currency, total=po.total,
            created_at=po.created_at, expected_at=po.expected_at, sent_at=po.sent_at, received_at=po.received_at,
            late=po.late, run_id=po.run_id,
        ))
        await self._conn.execute(insert(purchase_order_lines), [
            {"po_id": po.id, "sku": ln.sku, "location": ln.location, "quantity": ln.quantity,
             "received": ln.received, "unit_cost": ln.unit_cost}
            for ln in po.lines
        ])

    async def get_po(self, po_id: str) -> PurchaseOrder | None:
        found = await self._pos(purchase_orders.c.id == po_id, limit=1)
        return found[0] if found else None

    async def list_pos(self, status: PoStatus | None, supplier: str | None, limit: int) -> list[PurchaseOrder]:
        conditions = []
        if status is not None:
            conditions.append(purchase_orders.c.status == status.value)
        if supplier is not None:
            conditions.append(purchase_orders.c.supplier == supplier)
        return await self._pos(and_(True, *conditions), limit=limit)

    async def _pos(self, condition: Any, limit: int) -> list[PurchaseOrder]:
        po = purchase_orders
        heads = list(await self._conn.execute(
            select(po).where(condition).order_by(po.c.created_at.desc(), po.c.id).limit(limit)
        ))
        if not heads:
            return []
        lines: dict[str, list[PoLine]] = defaultdict(list)
        stmt = (select(purchase_order_lines)
                .where(purchase_order_lines.c.po_id.in_([h.id for h in heads]))
                .order_by(purchase_order_lines.c.sku, purchase_order_lines.c.location))
        for r in await self._conn.execute(stmt):
            lines[r.po_id].append(PoLine(r.sku, r.location, r.quantity, Decimal(r.unit_cost), r.received))
        return [
            PurchaseOrder(h.id, h.supplier, PoStatus(h.status), h.currency, tuple(lines[h.id]), h.created_at,
                          h.expected_at, h.sent_at, h.received_at, bool(h.late), h.run_id)
            for h in heads
        ]

    async def transition_po(
        self, po_id: str, sources: Sequence[PoStatus], target: PoStatus, now: datetime,
        expected_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": target.value}
        if expected_at is not None:
            values["expected_at"] = expected_at
        if target is PoStatus.SENT:
            values["sent_at"] = now
        if target is PoStatus.RECEIVED:
            values["received_at"] = now
        stmt = (update(purchase_orders)
                .where(purchase_orders.c.id == po_id, purchase_orders.c.status.in_([s.value for s in sources]))
                .values(**values))
        return bool((await self._conn.execute(stmt)).rowcount)

    async def set_received(self, po_id: str, line: PoLine) -> None:
        t = purchase_order_lines
        await self._conn.execute(
            update(t).where(t.c.po_id == po_id, t.c.sku == line.sku, t.c.location == line.location)
            .values(received=line.received)
        )

    async def mark_late(self, po_id: str) -> bool:
        stmt = (update(purchase_orders)
                .where(purchase_orders.c.id == po_id, purchase_orders.c.late == False)  # noqa: E712
                .values(late=True))
        return bool((await self._conn.execute(stmt)).rowcount)

    async def overdue(self, now: datetime) -> list[PurchaseOrder]:
        po = purchase_orders
        return await self._pos(and_(po.c.status.in_(["sent", "partially_received"]), po.c.expected_at < now,
                                    po.c.late == False), limit=1000)  # noqa: E712

    async def open_lines(self) -> list[OpenLine]:
        po, ln = purchase_orders, purchase_order_lines
        stmt = (select(po.c.id, po.c.supplier, po.c.status, ln.c.sku, ln.c.location, ln.c.quantity, ln.c.received)
                .join(ln, ln.c.po_id == po.c.id)
                .where(po.c.status.in_([s.value for s in PoStatus if s.open])))
        return [OpenLine(r.id, r.supplier, PoStatus(r.status), r.sku, r.location, r.quantity - r.received)
                for r in await self._conn.execute(stmt)]

    async def add_receipt(self, receipt: Receipt) -> None:
        values = {**receipt.__dict__, "lead_time_days": Decimal(str(round(receipt.lead_time_days, 4)))}
        await self._conn.execute(insert(supplier_receipts).values(**values))

    async def receipts(self, supplier: str) -> list[Receipt]:
        t = supplier_receipts
        stmt = select(t).where(t.c.supplier == supplier).order_by(t.c.id)
        return [Receipt(r.po_id, r.supplier, r.sku, r.location, r.quantity, r.received_at, float(r.lead_time_days),
                        bool(r.late)) for r in await self._conn.execute(stmt)]

    async def daily_sales(
        self, since: datetime, until: datetime, kinds: Sequence[str]
    ) -> dict[tuple[str, str], dict[str, int]]:
        m = movements
        # Summed per row in SQL; bucketed per day in Python (date functions differ between the databases).
        stmt = (select(m.c.sku, m.c.location, m.c.occurred_at, m.c.quantity)
                .where(m.c.kind.in_(list(kinds)), m.c.occurred_at >= since, m.c.occurred_at < until))
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        result = await self._conn.stream(stmt)
        async for r in result:
            out[(r.sku, r.location)][r.occurred_at.date().isoformat()] += r.quantity
        return {k: dict(v) for k, v in out.items()}

    async def empty_days(self, since: datetime, until: datetime) -> dict[tuple[str, str], set[str]]:
        m = movements
        stmt = (select(m.c.sku, m.c.location, m.c.occurred_at, (m.c.on_hand - m.c.reserved - m.c.committed)
                       .label("available"))
                .where(m.c.occurred_at >= since, m.c.occurred_at < until)
                .order_by(m.c.sku, m.c.location, m.c.sequence))
        closing: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
        result = await self._conn.stream(stmt)
        async for r in result:
            closing[(r.sku, r.location)][r.occurred_at.date()] = r.available
        out: dict[tuple[str, str], set[str]] = {}
        last_day = (until - timedelta(days=1)).date()
        for key, per_day in closing.items():
            empty, available, day = set(), None, min(per_day)
            while day <= last_day:
                if available is not None and available <= 0:
                    empty.add(day.isoformat())
                available = per_day.get(day, available)
                day += timedelta(days=1)
            if empty:
                out[key] = empty
        return out

    async def stockouts(self, sku: str, location: str, since: datetime) -> int:
        m = movements
        stmt = select(func.count()).where(
            m.c.sku == sku, m.c.location == location, m.c.occurred_at >= since,
            m.c.on_hand - m.c.reserved - m.c.committed <= 0,
            m.c.d_on_hand - m.c.d_reserved - m.c.d_committed < 0,
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def set_budget(self, budget: Budget, now: datetime) -> None:
        stmt = self._insert(budgets).values(period=budget.period, currency=budget.currency, amount=budget.amount,
                                            updated_at=now)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["period", "currency"], set_={"amount": stmt.excluded.amount, "updated_at": now}))

    async def budgets(self) -> list[Budget]:
        stmt = select(budgets).order_by(budgets.c.period.desc(), budgets.c.currency)
        return [Budget(r.period, r.currency, Decimal(r.amount)) for r in await self._conn.execute(stmt)]

    async def get_budget(self, period: str, currency: str) -> Budget | None:
        stmt = select(budgets).where(budgets.c.period == period, budgets.c.currency == currency)
        r = (await self._conn.execute(stmt)).first()
        return Budget(r.period, r.currency, Decimal(r.amount)) if r is not None else None

    async def committed_spend(self, since: datetime, until: datetime, currency: str) -> Decimal:
        po = purchase_orders
        stmt = select(func.coalesce(func.sum(po.c.total), 0)).where(
            po.c.created_at >= since, po.c.created_at < until, po.c.currency == currency,
            po.c.status != PoStatus.CANCELLED.value,
        )
        return Decimal((await self._conn.execute(stmt)).scalar_one())

    async def add_run(self, run_id: str, ran_at: datetime, dry_run: bool, body: dict[str, Any]) -> None:
        await self._conn.execute(insert(replenishment_runs).values(id=run_id, ran_at=ran_at, dry_run=dry_run,
                                                                   body=body))

    async def list_runs(self, limit: int) -> list[dict[str, Any]]:
        t = replenishment_runs
        stmt = select(t.c.body).order_by(t.c.ran_at.desc(), t.c.id).limit(limit)
        return [dict(r.body) for r in await self._conn.execute(stmt)]
