"""Replenishment rules: suppliers, reorder points, order quantities, the cash budget and the feedback loop."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist

from stockd.domain.errors import ValidationError

MIN_SERVICE_LEVEL = 0.80
MAX_SERVICE_LEVEL = 0.995


class Priority(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class OrderMethod(StrEnum):
    COVER = "cover"  # order enough for `cover_days` of forecast demand
    EOQ = "eoq"  # economic order quantity


@dataclass(frozen=True)
class Supplier:
    code: str
    name: str
    currency: str
    lead_time_days: int  # promised
    contact: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SupplierProduct:
    """What one supplier sells of one SKU, at what cost, in what packs; primary or backup source."""

    supplier: str
    sku: str
    unit_cost: Decimal
    pack_size: int
    min_order: int
    priority: Priority
    active: bool = True
    late_deliveries: int = 0
    suspended: bool = False  # too many late deliveries: orders go to the backup


@dataclass(frozen=True)
class LeadTime:
    """Lead time in days, measured from receipts when there are enough, else the promise."""

    mean: float
    std: float
    measured: bool
    samples: int


def measured_lead_time(samples: Sequence[float], promised: int, minimum: int = 2) -> LeadTime:
    """Mean and spread of real lead times once there are `minimum` receipts; the promise (no spread) before."""
    if len(samples) < minimum:
        return LeadTime(float(promised), 0.0, False, len(samples))
    return LeadTime(statistics.fmean(samples), statistics.stdev(samples), True, len(samples))


def choose_source(links: Sequence[SupplierProduct]) -> SupplierProduct | None:
    """The active, not suspended link, primaries first; a suspended primary is used only if nothing else is."""
    usable = [ln for ln in links if ln.active]
    preferred = sorted(usable, key=lambda ln: (ln.suspended, ln.priority is not Priority.PRIMARY, ln.supplier))
    return preferred[0] if preferred else None


def z_score(service_level: float) -> float:
    """The normal quantile for a cycle service level (0.95 -> 1.645)."""
    return NormalDist().inv_cdf(service_level)


@dataclass(frozen=True)
class ReorderPoint:
    reorder_point: int
    safety_stock: int
    demand_over_lead_time: float


def reorder_point(daily: float, sigma_daily: float, lead: LeadTime, service_level: float) -> ReorderPoint:
    """ROP = d * LT + z * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2): demand over the lead time plus safety stock
    against variable demand and variable lead time."""
    demand = daily * lead.mean
    spread = math.sqrt(lead.mean * sigma_daily**2 + daily**2 * lead.std**2)
    safety = max(0.0, z_score(service_level) * spread)
    return ReorderPoint(math.ceil(demand + safety), math.ceil(safety), demand)


def eoq(annual_demand: float, order_cost: float, unit_cost: float, holding_rate: float) -> float:
    """Wilson's economic order quantity: sqrt(2 D S / H), H the yearly cost of holding one unit."""
    holding = unit_cost * holding_rate
    if annual_demand <= 0 or holding <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * order_cost / holding)


def round_to_pack(quantity: float, pack_size: int, min_order: int) -> int:
    """Up to whole packs, and at least the minimum order (itself in whole packs)."""
    if quantity <= 0:
        return 0
    packs = math.ceil(max(quantity, min_order) / pack_size)
    return packs * pack_size


def order_quantity(position: int, rop: int, base: float, pack_size: int, min_order: int) -> int:
    """Order up to rop + base (base: days of cover or EOQ), at least one pack, in whole packs."""
    needed = rop + max(base, 1.0) - position
    return round_to_pack(needed, pack_size, min_order)


def stockout_risk(position: int, demand_over_lead_time: float, sigma_over_lead_time: float) -> float:
    """The chance that lead-time demand exceeds what is on hand and on order (normal approximation)."""
    if sigma_over_lead_time <= 0:
        return 1.0 if demand_over_lead_time >= position else 0.0
    return 1.0 - NormalDist(demand_over_lead_time, sigma_over_lead_time).cdf(position)


@dataclass(frozen=True)
class DraftLine:
    supplier: str
    sku: str
    location: str
    quantity: int
    unit_cost: Decimal
    pack_size: int
    min_order: int
    priority: float  # stockout risk x unit margin: who keeps its quantity when cash is short

    @property
    def amount(self) -> Decimal:
        return self.unit_cost * self.quantity


@dataclass(frozen=True)
class Cut:
    supplier: str
    sku: str
    location: str
    requested: int
    kept: int
    priority: float
    amount_cut: Decimal


def fit_budget(lines: Sequence[DraftLine], remaining: Decimal) -> tuple[list[DraftLine], list[Cut]]:
    """Shrink the lowest-priority lines first, a pack at a time, until the total fits what remains of the
    budget; a line that falls below its minimum order is dropped. Returns the kept lines and the cuts."""
    kept = {id(ln): ln for ln in lines}
    total = sum((ln.amount for ln in lines), Decimal(0))
    for line in sorted(lines, key=lambda ln: (ln.priority, ln.sku, ln.location)):
        if total <= remaining:
            break
        quantity = line.quantity
        while quantity > 0 and total > remaining:
            step = line.pack_size if quantity - line.pack_size >= line.min_order else quantity
            quantity -= step
            total -= line.unit_cost * step
        kept[id(line)] = replace(line, quantity=quantity)
    cuts = [
        Cut(ln.supplier, ln.sku, ln.location, ln.quantity, kept[id(ln)].quantity, ln.priority,
            ln.unit_cost * (ln.quantity - kept[id(ln)].quantity))
        for ln in lines if kept[id(ln)].quantity < ln.quantity
    ]
    return [kept[id(ln)] for ln in lines if kept[id(ln)].quantity > 0], cuts


@dataclass(frozen=True)
class Feedback:
    service_level: float
    reason: str


def feedback(service_level: float, stockouts: int, days_of_stock: float | None, cover_days: float,
             step: float = 0.5, overstock_factor: float = 3.0) -> Feedback | None:
    """A stockout halves the distance to a perfect service level; stock lasting more than `overstock_factor`
    times its cover lowers the level by 2 points. Bounded to [MIN_SERVICE_LEVEL, MAX_SERVICE_LEVEL]."""
    if stockouts > 0:
        raised = min(MAX_SERVICE_LEVEL, service_level + (1 - service_level) * step)
        if raised > service_level:
            return Feedback(round(raised, 4), f"{stockouts} stockout(s) since the last review: service level "
                                              f"{service_level:.4f} -> {raised:.4f}")
        return None
    if days_of_stock is not None and days_of_stock > overstock_factor * cover_days:
        lowered = max(MIN_SERVICE_LEVEL, service_level - 0.02)
        if lowered < service_level:
            return Feedback(round(lowered, 4), f"stock lasts {days_of_stock:.0f} days, over {overstock_factor:g}x "
                                               f"its {cover_days:g}-day cover: service level {service_level:.4f} "
                                               f"-> {lowered:.4f}")
    return None


def check_service_level(value: float) -> float:
    if not MIN_SERVICE_LEVEL <= value <= MAX_SERVICE_LEVEL:
        raise ValidationError(f"service_level must be between {MIN_SERVICE_LEVEL} and {MAX_SERVICE_LEVEL}")
    return value


class PoStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @property
    def open(self) -> bool:
        return self in (PoStatus.DRAFT, PoStatus.SENT, PoStatus.PARTIALLY_RECEIVED)


@dataclass(frozen=True)
class PoLine:
    sku: str
    location: str
    quantity: int
    unit_cost: Decimal
    received: int = 0

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received


@dataclass(frozen=True)
class PurchaseOrder:
    id: str
    supplier: str
    status: PoStatus
    currency: str
    lines: tuple[PoLine, ...]
    created_at: datetime
    expected_at: datetime
    sent_at: datetime | None = None
    received_at: datetime | None = None
    late: bool = False
    run_id: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((ln.unit_cost * ln.quantity for ln in self.lines), Decimal(0))

    def status_after_receipt(self, lines: Sequence[PoLine]) -> PoStatus:
        done = all(ln.received >= ln.quantity for ln in lines)
        return PoStatus.RECEIVED if done else PoStatus.PARTIALLY_RECEIVED


@dataclass(frozen=True)
class ReorderPolicy:
    """How one SKU is replenished at one location; the computed numbers and the overrides a buyer set."""

    sku: str
    location: str
    service_level: float = 0.95
    order_method: OrderMethod = OrderMethod.COVER
    cover_days: int = 14
    static_reorder_point: int | None = None  # set: overrides the computed reorder point
    static_order_quantity: int | None = None
    reorder_point: int = 0
    safety_stock: int = 0
    order_quantity: int = 0
    daily_demand: float = 0.0
    demand_sigma: float = 0.0
    lead_time_days: float = 0.0
    lead_time_std: float = 0.0
    forecast_method: str | None = None
    supplier: str | None = None
    low: bool = False  # stock.low was emitted and not yet cleared
    computed_at: datetime | None = None
    reviewed_at: datetime | None = None  # last feedback review (stockouts / overstock since then)

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.location)

    @property
    def effective_reorder_point(self) -> int:
        return self.static_reorder_point if self.static_reorder_point is not None else self.reorder_point


@dataclass(frozen=True)
class PolicyChange:
    """One change of a reorder point or a service level, and why (a recomputation, a stockout, a buyer)."""

    sku: str
    location: str
    field: str  # reorder_point | service_level | static_reorder_point
    old: float | None
    new: float | None
    reason: str
    occurred_at: datetime
    actor: str


@dataclass(frozen=True)
class Receipt:
    """Goods of one PO line that arrived: feeds the measured lead time and the on-time rate."""

    po_id: str
    supplier: str
    sku: str
    location: str
    quantity: int
    received_at: datetime
    lead_time_days: float
    late: bool


@dataclass(frozen=True)
class Budget:
    period: str  # YYYY-MM
    currency: str
    amount: Decimal


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True)
class Reliability:
    supplier: str
    receipts: int
    late_receipts: int
    on_time_rate: float | None
    lead_time: LeadTime
    promised_lead_time_days: int
