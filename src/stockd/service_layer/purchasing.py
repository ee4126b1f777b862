"""Suppliers and purchase orders: draft -> sent -> partially received / received, or cancelled; late POs;
supplier reliability, and the switch to a backup supplier after repeated late deliveries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from stockd.domain.catalog import check_code
from stockd.domain.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NotFoundError,
    UnknownProductError,
    ValidationError,
)
from stockd.domain.movements import Change, MovementKind
from stockd.domain.replenishment import (
    PoLine,
    PoStatus,
    Priority,
    PurchaseOrder,
    Receipt,
    Reliability,
    Supplier,
    SupplierProduct,
    choose_source,
    measured_lead_time,
)
from stockd.domain.stock import Delta
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork

DEFAULT_LATE_DELIVERIES_BEFORE_SWITCH = 3


class SupplierNotFoundError(NotFoundError):
    code = "supplier_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"no supplier {code!r}")


class PurchaseOrderNotFoundError(NotFoundError):
    code = "purchase_order_not_found"

    def __init__(self, po_id: str) -> None:
        super().__init__(f"no purchase order {po_id!r}")


@dataclass(frozen=True)
class SupplierFields:
    name: str | None = None
    currency: str | None = None
    lead_time_days: int | None = None
    contact: str | None = None
    active: bool | None = None


async def create_supplier(uow: UnitOfWork, env: Env, actor: Actor, code: str, fields: SupplierFields) -> Supplier:
    """A supplier needs a name, a currency (ISO 4217) and a promised lead time."""
    check_code(code, "supplier code")
    if fields.name is None or fields.currency is None or fields.lead_time_days is None:
        raise ValidationError("a supplier needs name, currency and lead_time_days")
    if await uow.replenishment.get_supplier(code) is not None:
        raise AlreadyExistsError(f"supplier {code!r} already exists")
    now = env.clock.now()
    supplier = Supplier(code, fields.name, fields.currency, fields.lead_time_days, fields.contact,
                        True if fields.active is None else fields.active, now, now)
    await uow.replenishment.add_supplier(supplier)
    return supplier


async def update_supplier(uow: UnitOfWork, env: Env, actor: Actor, code: str, fields: SupplierFields) -> Supplier:
    current = await get_supplier(uow, code)
    changes = {k: v for k, v in fields.__dict__.items() if v is not None}
    updated = replace(current, **changes, updated_at=env.clock.now())
    await uow.replenishment.update_supplier(updated)
    return updated


async def get_supplier(uow: UnitOfWork, code: str) -> Supplier:
    supplier = await uow.replenishment.get_supplier(code)
    if supplier is None:
        raise SupplierNotFoundError(code)
    return supplier


async def link_product(uow: UnitOfWork, env: Env, actor: Actor, link: SupplierProduct) -> SupplierProduct:
    """What a supplier sells of a SKU; saving it again updates cost, pack, minimum and priority, and a buyer
    re-activating a suspended source clears its late count."""
    await get_supplier(uow, link.supplier)
    if await uow.products.get(link.sku) is None:
        raise UnknownProductError(link.sku)
    if link.min_order % link.pack_size:
        raise ValidationError(f"min_order {link.min_order} must be a whole number of packs of {link.pack_size}")
    existing = {ln.supplier: ln for ln in await uow.replenishment.links(sku=link.sku)}
    if link.priority is Priority.PRIMARY and any(
        ln.priority is Priority.PRIMARY and s != link.supplier for s, ln in existing.items()
    ):
        raise InvalidStateError(f"{link.sku} already has a primary supplier; add this one as backup")
    kept = existing.get(link.supplier)
    if kept is not None and not link.suspended:
        link = replace(link, late_deliveries=0 if kept.suspended else kept.late_deliveries)
    await uow.replenishment.save_link(link, env.clock.now())
    return link


async def get_po(uow: UnitOfWork, po_id: str) -> PurchaseOrder:
    po = await uow.replenishment.get_po(po_id)
    if po is None:
        raise PurchaseOrderNotFoundError(po_id)
    return po


async def send_po(uow: UnitOfWork, env: Env, actor: Actor, po_id: str) -> PurchaseOrder:
    """Sending a draft puts its quantities in transit at their locations (through the ledger) and starts the
    lead time clock: the expected date is the supplier's promise from now."""
    po = await get_po(uow, po_id)
    actor.check_locations(ln.location for ln in po.lines)
    supplier = await get_supplier(uow, po.supplier)
    now = env.clock.now()
    expected = now + timedelta(days=supplier.lead_time_days)
    if not await uow.replenishment.transition_po(po.id, [PoStatus.DRAFT], PoStatus.SENT, now, expected):
        raise InvalidStateError(f"purchase order {po.id} is {po.status.value}; only a draft can be sent")
    changes = [Change(ln.sku, ln.location, MovementKind.ORDERED, Delta(in_transit=ln.quantity), ln.quantity,
                      reference=f"po:{po.id}") for ln in po.lines]
    await uow.ledger.record(changes, actor, now)
    await uow.events.emit("po.sent", {"po_id": po.id, "supplier": po.supplier}, now)
    return replace(po, status=PoStatus.SENT, sent_at=now, expected_at=expected)


async def receive_po(
    uow: UnitOfWork, env: Env, actor: Actor, po_id: str, quantities: dict[tuple[str, str], int] | None,
    late_deliveries_before_switch: int = DEFAULT_LATE_DELIVERIES_BEFORE_SWITCH,
) -> PurchaseOrder:
    """Goods arrive against a sent PO: in_transit becomes on_hand. `quantities` per (sku, location); None takes
    everything outstanding. Receiving more than is outstanding on a line is refused (nothing changes)."""
    po = await get_po(uow, po_id)
    actor.check_locations(ln.location for ln in po.lines)
    if po.status not in (PoStatus.SENT, PoStatus.PARTIALLY_RECEIVED):
        raise InvalidStateError(f"purchase order {po.id} is {po.status.value}; only a sent one can be received")
    lines = {(ln.sku, ln.location): ln for ln in po.lines}
    wanted = quantities if quantities is not None else {k: ln.outstanding for k, ln in lines.items() if ln.outstanding}
    _check_receipt(po, lines, wanted)
    now = env.clock.now()
    late = now > po.expected_at
    updated = dict(lines)
    for key, qty in sorted(wanted.items()):
        updated[key] = replace(lines[key], received=lines[key].received + qty)
        await uow.replenishment.set_received(po.id, updated[key])
    status = po.status_after_receipt(list(updated.values()))
    if not await uow.replenishment.transition_po(po.id, [po.status], status, now):
        raise InvalidStateError(f"purchase order {po.id} changed while receiving; try again")
    changes = [Change(sku, loc, MovementKind.PO_RECEIVED, Delta(on_hand=q, in_transit=-q), q,
                      reference=f"po:{po.id}") for (sku, loc), q in sorted(wanted.items())]
    await uow.ledger.record(changes, actor, now)
    lead_days = (now - (po.sent_at or po.created_at)).total_seconds() / 86400
    for (sku, loc), qty in sorted(wanted.items()):
        await uow.replenishment.add_receipt(Receipt(po.id, po.supplier, sku, loc, qty, now, lead_days, late))
    if late:
        first_late = sorted({sku for (sku, loc) in wanted if lines[(sku, loc)].received == 0})
        for sku in first_late:
            await _count_late_delivery(uow, env, po.supplier, sku, late_deliveries_before_switch)
    await uow.events.emit("po.received", {"po_id": po.id, "supplier": po.supplier, "status": status.value,
                                          "late": late}, now)
    return replace(po, status=status, lines=tuple(updated.values()), late=po.late or late,
                   received_at=now if status is PoStatus.RECEIVED else po.received_at)


def _check_receipt(po: PurchaseOrder, lines: dict[tuple[str, str], PoLine], wanted: dict[tuple[str, str], int]) -> None:
    if not wanted:
        raise ValidationError(f"nothing to receive on purchase order {po.id}")
    for (sku, loc), qty in wanted.items():
        line = lines.get((sku, loc))
        if line is None:
            raise ValidationError(f"purchase order {po.id} has no line for {sku} at {loc}")
        if qty <= 0 or qty > line.outstanding:
            raise ValidationError(f"{sku} at {loc}: receiving {qty}, but {line.outstanding} outstanding on {po.id}")


async def _count_late_delivery(uow: UnitOfWork, env: Env, supplier: str, sku: str, threshold: int) -> None:
    """One more late delivery of `sku` by `supplier`; at `threshold` its future orders go to the backup."""
    links = await uow.replenishment.links(sku=sku)
    link = next((ln for ln in links if ln.supplier == supplier), None)
    if link is None:
        return
    counted = replace(link, late_deliveries=link.late_deliveries + 1)
    backup = choose_source([ln for ln in links if ln.supplier != supplier])
    switch = counted.late_deliveries >= threshold and not link.suspended and backup is not None
    if switch:
        counted = replace(counted, suspended=True)
    await uow.replenishment.save_link(counted, env.clock.now())
    if switch and backup is not None:
        reason = (f"{counted.late_deliveries} late deliveries of {sku} by {supplier} (threshold {threshold}); "
                  f"future orders go to {backup.supplier}")
        await uow.events.emit("supplier.switched", {
            "sku": sku, "from_supplier": supplier, "to_supplier": backup.supplier,
            "late_deliveries": counted.late_deliveries, "reason": reason}, env.clock.now(), sku=sku)


async def cancel_po(uow: UnitOfWork, env: Env, actor: Actor, po_id: str) -> PurchaseOrder:
    """A draft is simply dropped; a sent PO gives back what is still in transit."""
    po = await get_po(uow, po_id)
    actor.check_locations(ln.location for ln in po.lines)
    now = env.clock.now()
    if not await uow.replenishment.transition_po(po.id, [PoStatus.DRAFT, PoStatus.SENT, PoStatus.PARTIALLY_RECEIVED],
                                                 PoStatus.CANCELLED, now):
        raise InvalidStateError(f"purchase order {po.id} is {po.status.value}; it can no longer be cancelled")
    if po.status is not PoStatus.DRAFT:
        changes = [Change(ln.sku, ln.location, MovementKind.ORDER_CANCELLED, Delta(in_transit=-ln.outstanding),
                          ln.outstanding, reference=f"po:{po.id}") for ln in po.lines if ln.outstanding]
        if changes:
            await uow.ledger.record(changes, actor, now)
    await uow.events.emit("po.cancelled", {"po_id": po.id, "supplier": po.supplier}, now)
    return replace(po, status=PoStatus.CANCELLED)


async def flag_late_pos(uow: UnitOfWork, env: Env) -> list[PurchaseOrder]:
    """Emit po.late once for each sent PO past its expected date and not fully received."""
    now = env.clock.now()
    flagged = []
    for po in await uow.replenishment.overdue(now):
        if await uow.replenishment.mark_late(po.id):
            days_late = (now - po.expected_at).total_seconds() / 86400
            await uow.events.emit("po.late", {"po_id": po.id, "supplier": po.supplier,
                                              "expected_at": po.expected_at.isoformat(),
                                              "days_late": round(days_late, 2)}, now)
            flagged.append(replace(po, late=True))
    return flagged


async def reliability(uow: UnitOfWork, code: str) -> Reliability:
    """On-time rate and measured lead time from the supplier's receipts."""
    supplier = await get_supplier(uow, code)
    receipts = await uow.replenishment.receipts(code)
    by_po: dict[str, tuple[float, bool]] = {}
    for r in receipts:  # a PO delivered in several receipts counts once, by its first delivery
        by_po.setdefault(r.po_id, (r.lead_time_days, r.late))
    late = sum(1 for _, was_late in by_po.values() if was_late)
    rate = (len(by_po) - late) / len(by_po) if by_po else None
    lead = measured_lead_time([lt for lt, _ in by_po.values()], supplier.lead_time_days)
    return Reliability(code, len(by_po), late, rate, lead, supplier.lead_time_days)


def po_event_lines(po: PurchaseOrder) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "location": ln.location, "quantity": ln.quantity, "unit_cost": str(ln.unit_cost)}
            for ln in po.lines]


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))
