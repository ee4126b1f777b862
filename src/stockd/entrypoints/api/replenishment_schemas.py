"""HTTP bodies of replenishment: suppliers, sources, reorder policies, forecasts, purchase orders, budgets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from stockd.domain.forecasting import DemandForecast
from stockd.domain.replenishment import (
    MAX_SERVICE_LEVEL,
    MIN_SERVICE_LEVEL,
    OrderMethod,
    PolicyChange,
    PoStatus,
    Priority,
    PurchaseOrder,
    Reliability,
    ReorderPolicy,
    Supplier,
    SupplierProduct,
)
from stockd.entrypoints.api.schemas import MAX_QUANTITY, Body, Code, Money, Quantity, Text
from stockd.service_layer.policies import PolicyOverride
from stockd.service_layer.purchasing import SupplierFields

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217", examples=["EUR"])]
LeadDays = Annotated[int, Field(strict=True, ge=0, le=365, description="promised lead time in days")]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
Override = Annotated[int, Field(strict=True, ge=-1, le=MAX_QUANTITY, description="-1 clears the override")]
ServiceLevel = Annotated[float, Field(ge=MIN_SERVICE_LEVEL, le=MAX_SERVICE_LEVEL, allow_inf_nan=False)]


class SupplierIn(Body):
    code: Code
    name: Text
    currency: Currency
    lead_time_days: LeadDays
    contact: Text | None = None

    def fields(self) -> SupplierFields:
        return SupplierFields(self.name, self.currency, self.lead_time_days, self.contact)


class SupplierPatch(Body):
    name: Text | None = None
    currency: Currency | None = None
    lead_time_days: LeadDays | None = None
    contact: Text | None = None
    active: bool | None = None

    def fields(self) -> SupplierFields:
        return SupplierFields(self.name, self.currency, self.lead_time_days, self.contact, self.active)


class SupplierOut(BaseModel):
    code: str
    name: str
    currency: str
    lead_time_days: int
    contact: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Supplier) -> SupplierOut:
        return cls(**s.__dict__)

    @classmethod
    def render(cls, s: Supplier) -> dict[str, Any]:
        return cls.of(s).model_dump(mode="json")


class SupplierProductIn(Body):
    unit_cost: Money
    pack_size: Count = 1
    min_order: Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)] = 0
    priority: Priority = Priority.PRIMARY
    active: bool = True


class SupplierProductOut(BaseModel):
    supplier: str
    sku: str
    unit_cost: Decimal
    pack_size: int
    min_order: int
    priority: Priority
    active: bool
    late_deliveries: int
    suspended: bool = Field(description="too many late deliveries: orders go to the backup")

    @classmethod
    def of(cls, link: SupplierProduct) -> SupplierProductOut:
        return cls(**link.__dict__)

    @classmethod
    def render(cls, link: SupplierProduct) -> dict[str, Any]:
        return cls.of(link).model_dump(mode="json")


class LeadTimeOut(BaseModel):
    mean_days: float
    std_days: float
    measured: bool
    samples: int


class ReliabilityOut(BaseModel):
    supplier: str
    receipts: int
    late_receipts: int
    on_time_rate: float | None
    lead_time: LeadTimeOut
    promised_lead_time_days: int

    @classmethod
    def of(cls, r: Reliability) -> ReliabilityOut:
        lead = LeadTimeOut(mean_days=r.lead_time.mean, std_days=r.lead_time.std, measured=r.lead_time.measured,
                           samples=r.lead_time.samples)
        return cls(supplier=r.supplier, receipts=r.receipts, late_receipts=r.late_receipts,
                   on_time_rate=r.on_time_rate, lead_time=lead, promised_lead_time_days=r.promised_lead_time_days)


class PolicyIn(Body):
    service_level: ServiceLevel | None = None
    order_method: OrderMethod | None = None
    cover_days: Annotated[int, Field(strict=True, ge=1, le=365)] | None = None
    static_reorder_point: Override | None = None
    static_order_quantity: Override | None = None

    def override(self) -> PolicyOverride:
        return PolicyOverride(self.service_level, self.order_method, self.cover_days, self.static_reorder_point,
                              self.static_order_quantity)


class PolicyOut(BaseModel):
    sku: str
    location: str
    service_level: float
    order_method: OrderMethod
    cover_days: int
    static_reorder_point: int | None
    static_order_quantity: int | None
    reorder_point: int = Field(description="computed: demand over the lead time + safety stock")
    effective_reorder_point: int = Field(description="the static override when set, else the computed one")
    safety_stock: int
    order_quantity: int
    daily_demand: float
    demand_sigma: float
    lead_time_days: float
    lead_time_std: float
    forecast_method: str | None
    supplier: str | None
    low: bool
    computed_at: datetime | None

    @classmethod
    def of(cls, p: ReorderPolicy) -> PolicyOut:
        values = {k: v for k, v in p.__dict__.items() if k != "reviewed_at"}
        return cls(**values, effective_reorder_point=p.effective_reorder_point)

    @classmethod
    def render(cls, p: ReorderPolicy) -> dict[str, Any]:
        return cls.of(p).model_dump(mode="json")


class PolicyChangeOut(BaseModel):
    field: str
    old: float | None
    new: float | None
    reason: str
    actor: str
    occurred_at: datetime

    @classmethod
    def of(cls, c: PolicyChange) -> PolicyChangeOut:
        return cls(field=c.field, old=c.old, new=c.new, reason=c.reason, actor=c.actor, occurred_at=c.occurred_at)


class AccuracyOut(BaseModel):
    holdout_days: int
    mae: float
    wape: float | None
    mase: float | None


class ForecastOut(BaseModel):
    sku: str
    location: str
    history_days: int
    daily: float = Field(description="expected units per day over the next 28 days")
    sigma: float
    trend: float
    method: str
    demand_class: str = Field(description="smooth, erratic, intermittent or lumpy (Syntetos-Boylan)")
    accuracy: AccuracyOut | None = Field(description="errors on the last 14 days, model fitted without them")

    @classmethod
    def of(cls, sku: str, location: str, f: DemandForecast | None) -> ForecastOut:
        if f is None:
            return cls(sku=sku, location=location, history_days=0, daily=0.0, sigma=0.0, trend=0.0, method="zero",
                       demand_class="none", accuracy=None)
        acc = AccuracyOut(**f.accuracy.__dict__) if f.accuracy else None
        return cls(sku=sku, location=location, history_days=f.history_days, daily=f.daily, sigma=f.sigma,
                   trend=f.trend, method=f.method.value, demand_class=f.demand_class.value, accuracy=acc)


class PoLineOut(BaseModel):
    sku: str
    location: str
    quantity: int
    received: int
    unit_cost: Decimal


class PurchaseOrderOut(BaseModel):
    id: str
    supplier: str
    status: PoStatus
    currency: str
    total: Decimal
    lines: list[PoLineOut]
    created_at: datetime
    expected_at: datetime
    sent_at: datetime | None
    received_at: datetime | None
    late: bool

    @classmethod
    def of(cls, po: PurchaseOrder) -> PurchaseOrderOut:
        lines = [PoLineOut(sku=ln.sku, location=ln.location, quantity=ln.quantity, received=ln.received,
                           unit_cost=ln.unit_cost) for ln in po.lines]
        return cls(id=po.id, supplier=po.supplier, status=po.status, currency=po.currency, total=po.total,
                   lines=lines, created_at=po.created_at, expected_at=po.expected_at, sent_at=po.sent_at,
                   received_at=po.received_at, late=po.late)

    @classmethod
    def render(cls, po: PurchaseOrder) -> dict[str, Any]:
        return cls.of(po).model_dump(mode="json")


class ReceiveLineIn(Body):
    sku: Code
    location: Code
    quantity: Quantity


class PoReceiveIn(Body):
    lines: list[ReceiveLineIn] | None = Field(default=None, max_length=1000,
                                              description="omitted: receive everything outstanding")

    @model_validator(mode="after")
    def _distinct(self) -> PoReceiveIn:
        keys = [(ln.sku, ln.location) for ln in self.lines or []]
        if len(keys) != len(set(keys)):
            raise ValueError("each (sku, location) may appear once")
        if self.lines is not None and not self.lines:
            raise ValueError("lines, when given, must not be empty")
        return self

    def quantities(self) -> dict[tuple[str, str], int] | None:
        return None if self.lines is None else {(ln.sku, ln.location): ln.quantity for ln in self.lines}


class RunIn(Body):
    dry_run: bool = Field(default=False, description="compute and answer, write nothing")


class RunPoLineOut(BaseModel):
    sku: str
    location: str
    quantity: int
    unit_cost: str


class RunPoOut(BaseModel):
    id: str
    supplier: str
    currency: str
    total: str
    lines: list[RunPoLineOut]


class CutOut(BaseModel):
    supplier: str
    sku: str
    location: str
    requested: int
    kept: int
    cut: int
    priority: float = Field(description="stockout risk x unit margin; the lowest is cut first")
    amount_cut: str


class BudgetUseOut(BaseModel):
    period: str
    currency: str
    amount: str
    spent_before: str
    remaining_before: str
    drafted: str
    kept: str


class SkippedOut(BaseModel):
    sku: str
    location: str
    reason: str


class RunOut(BaseModel):
    run_id: str
    ran_at: datetime
    dry_run: bool
    purchase_orders: list[RunPoOut]
    cuts: list[CutOut]
    budgets: list[BudgetUseOut]
    skipped: list[SkippedOut]
    late_purchase_orders: list[str] = Field(default_factory=list, description="POs flagged late by this run")


class BudgetIn(Body):
    amount: Money


class BudgetOut(BaseModel):
    period: str
    currency: str
    amount: Decimal
