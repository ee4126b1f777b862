"""HTTP request and response bodies. Pydantic lives here, at the edge, and nowhere deeper."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from stockd.domain.catalog import Location, LocationKind, Product
from stockd.domain.devices import DeviceEvent, DeviceEventKind, Outcome
from stockd.domain.errors import ValidationError
from stockd.domain.movements import AdjustReason, Movement
from stockd.domain.reservations import MAX_LINES, Line, Reservation, ReservationStatus
from stockd.domain.security import ApiKey, AuditEntry, Role
from stockd.domain.stock import StockLevel, StockTotals
from stockd.domain.transfers import Transfer, TransferLine, TransferStatus
from stockd.service_layer import commands

MAX_QUANTITY = 1_000_000_000
MAX_DEVICE_BATCH = 5000


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


Code = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"),
    Field(description="letters, digits and . _ : - ; at most 64", examples=["SKU-1001"]),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
                 AfterValidator(_printable)]
# For free-text query parameters: a NUL reaching PostgreSQL is a 500 (invalid byte sequence), not a 422.
Printable = AfterValidator(_printable)
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY, description="a whole number of units")]
SignedQuantity = Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e9"), max_digits=14, decimal_places=4, allow_inf_nan=False)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(Body):
    sku: Code
    name: Text
    unit_cost: Money
    price: Money

    def command(self) -> commands.CreateProduct:
        return commands.CreateProduct(self.sku, self.name, self.unit_cost, self.price)


class ProductPatch(Body):
    name: Text | None = None
    unit_cost: Money | None = None
    price: Money | None = None


class ProductOut(BaseModel):
    sku: str
    name: str
    unit_cost: Decimal
    price: Decimal
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(sku=p.sku, name=p.name, unit_cost=p.unit_cost, price=p.price, created_at=p.created_at,
                   updated_at=p.updated_at)

    @classmethod
    def render(cls, p: Product) -> dict[str, Any]:
        return cls.of(p).model_dump(mode="json")


class LocationIn(Body):
    code: Code
    name: Text
    kind: LocationKind = Field(description="warehouse, store or 3pl")


class LocationPatch(Body):
    name: Text | None = None
    kind: LocationKind | None = None


class LocationOut(BaseModel):
    code: str
    name: str
    kind: LocationKind
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, loc: Location) -> LocationOut:
        return cls(code=loc.code, name=loc.name, kind=loc.kind, created_at=loc.created_at,
                   updated_at=loc.updated_at)

    @classmethod
    def render(cls, loc: Location) -> dict[str, Any]:
        return cls.of(loc).model_dump(mode="json")


class StockLevelOut(BaseModel):
    sku: str
    location: str
    on_hand: int
    reserved: int
    committed: int
    in_transit: int
    available: int = Field(description="on_hand - reserved - committed: what can still be promised")
    sequence: int
    last_updated: datetime | None
    frozen: bool = Field(description="a count discrepancy is under investigation: no new reservations here")

    @classmethod
    def of(cls, s: StockLevel) -> StockLevelOut:
        return cls(sku=s.sku, location=s.location, on_hand=s.on_hand, reserved=s.reserved,
                   committed=s.committed, in_transit=s.in_transit, available=s.available,
                   sequence=s.sequence, last_updated=s.last_updated, frozen=s.frozen)

    @classmethod
    def render(cls, s: StockLevel) -> dict[str, Any]:
        return cls.of(s).model_dump(mode="json")

    @classmethod
    def render_many(cls, levels: list[StockLevel]) -> dict[str, Any]:
        return {"items": [cls.of(s).model_dump(mode="json") for s in levels]}


class StockListOut(BaseModel):
    items: list[StockLevelOut]


class StockTotalsOut(BaseModel):
    sku: str
    on_hand: int
    reserved: int
    committed: int
    in_transit: int
    available: int
    last_updated: datetime | None
    locations: list[StockLevelOut]

    @classmethod
    def of(cls, t: StockTotals) -> StockTotalsOut:
        return cls(sku=t.sku, on_hand=t.on_hand, reserved=t.reserved, committed=t.committed,
                   in_transit=t.in_transit, available=t.available, last_updated=t.last_updated,
                   locations=[StockLevelOut.of(s) for s in t.locations])


class LineIn(Body):
    sku: Code
    location: Code
    quantity: Quantity


class ReserveIn(Body):
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    ttl_seconds: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        default=None, description="how long the hold lasts; the server default is 30 minutes"
    )
    order_id: Text | None = Field(default=None, max_length=128, description="unique per order when given")
    channel: Code | None = None

    def command(self, default_ttl: int, max_ttl: int) -> commands.Reserve:
        ttl = self.ttl_seconds if self.ttl_seconds is not None else default_ttl
        if ttl > max_ttl:
            raise ValidationError(f"ttl_seconds may be at most {max_ttl}")
        return commands.Reserve(
            lines=tuple(Line(ln.sku, ln.location, ln.quantity) for ln in self.lines),
            ttl=timedelta(seconds=ttl), order_id=self.order_id, channel=self.channel,
        )


class LineOut(BaseModel):
    sku: str
    location: str
    quantity: int


class ReservationOut(BaseModel):
    id: str
    order_id: str | None
    channel: str | None
    status: ReservationStatus
    lines: list[LineOut]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def render(cls, r: Reservation) -> dict[str, Any]:
        return cls(
            id=r.id, order_id=r.order_id, channel=r.channel, status=r.status,
            lines=[LineOut(sku=ln.sku, location=ln.location, quantity=ln.quantity) for ln in r.lines],
            expires_at=r.expires_at, created_at=r.created_at, updated_at=r.updated_at,
        ).model_dump(mode="json")


class SkuQuantityIn(Body):
    sku: Code
    quantity: Quantity


class ReceiveIn(Body):
    location: Code
    lines: list[SkuQuantityIn] = Field(min_length=1, max_length=MAX_LINES)
    reference: Text | None = Field(default=None, description="e.g. a purchase order or delivery note")

    def command(self) -> commands.Receive:
        return commands.Receive(self.location, tuple(TransferLine(ln.sku, ln.quantity) for ln in self.lines),
                                self.reference)


class AdjustIn(Body):
    sku: Code
    location: Code
    quantity: SignedQuantity = Field(description="signed change of on_hand; never 0")
    reason: AdjustReason
    note: Text | None = None

    def command(self) -> commands.Adjust:
        return commands.Adjust(self.sku, self.location, self.quantity, self.reason, self.note)


class ReturnIn(Body):
    sku: Code
    location: Code
    quantity: Quantity
    reference: Text | None = Field(default=None, description="e.g. the RMA or order number")

    def command(self) -> commands.ReturnStock:
        return commands.ReturnStock(self.sku, self.location, self.quantity, self.reference)


class TransferIn(Body):
    source: Code
    destination: Code
    lines: list[SkuQuantityIn] = Field(min_length=1, max_length=MAX_LINES)

    def command(self) -> commands.CreateTransfer:
        return commands.CreateTransfer(
            self.source, self.destination, tuple(TransferLine(ln.sku, ln.quantity) for ln in self.lines)
        )


class TransferLineOut(BaseModel):
    sku: str
    quantity: int


class TransferOut(BaseModel):
    id: str
    source: str
    destination: str
    status: TransferStatus
    lines: list[TransferLineOut]
    created_at: datetime
    received_at: datetime | None

    @classmethod
    def render(cls, t: Transfer) -> dict[str, Any]:
        return cls(
            id=t.id, source=t.source, destination=t.destination, status=t.status,
            lines=[TransferLineOut(sku=ln.sku, quantity=ln.quantity) for ln in t.lines],
            created_at=t.created_at, received_at=t.received_at,
        ).model_dump(mode="json")


class Numbers(BaseModel):
    on_hand: int
    reserved: int
    committed: int
    in_transit: int
    available: int

    @classmethod
    def of(cls, s: StockLevel) -> Numbers:
        return cls(on_hand=s.on_hand, reserved=s.reserved, committed=s.committed, in_transit=s.in_transit,
                   available=s.available)


class MovementOut(BaseModel):
    id: int
    event_id: str
    sku: str
    location: str
    sequence: int
    kind: str
    quantity: int
    reason: str | None
    reference: str | None
    actor: str
    role: str
    request_id: str | None
    occurred_at: datetime
    before: Numbers
    after: Numbers

    @classmethod
    def of(cls, m: Movement) -> MovementOut:
        return cls(
            id=m.id, event_id=m.event_id, sku=m.sku, location=m.location, sequence=m.after.sequence,
            kind=m.kind.value, quantity=m.quantity, reason=m.reason, reference=m.reference, actor=m.actor,
            role=m.role, request_id=m.request_id, occurred_at=m.occurred_at, before=Numbers.of(m.before),
            after=Numbers.of(m.after),
        )


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page; null at the end")


class DriftOut(BaseModel):
    sku: str
    location: str
    bucket: str
    row: int
    ledger: int


class ReconciliationOut(BaseModel):
    consistent: bool
    drift: list[DriftOut]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    shortfalls: list[dict[str, Any]] | None = None


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "insufficient stock, or not allowed in this state"}
}


class KeyIn(Body):
    name: Text
    role: Role
    locations: list[Code] | None = Field(default=None, min_length=1, max_length=500,
                                         description="limit the key to these locations; omit for all")
    channel: Code | None = Field(default=None, description="the sales channel a channel key acts for")


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    locations: list[str] | None
    channel: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> KeyOut:
        return cls(id=k.id, name=k.name, role=k.role, locations=sorted(k.locations) if k.locations else None,
                   channel=k.channel, created_at=k.created_at, created_by=k.created_by, revoked_at=k.revoked_at)

    @classmethod
    def render(cls, k: ApiKey) -> dict[str, Any]:
        return cls.of(k).model_dump(mode="json")


class KeyCreatedOut(KeyOut):
    token: str = Field(description="the key itself: shown once, never stored, never shown again")


class AuditOut(BaseModel):
    occurred_at: datetime
    actor: str
    role: str
    request_id: str | None
    action: str
    target: str | None
    sku: str | None
    location: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(**e.__dict__)


class AuditPage(BaseModel):
    items: list[AuditOut]


class DeviceEventIn(Body):
    """One event from a barcode scanner, RFID reader, IoT sensor or WMS (DESIGN.md device input format)."""

    event: DeviceEventKind
    event_id: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$")]
    product_id: Code
    location: Code
    quantity: Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
    timestamp: AwareDatetime
    to_location: Code | None = Field(default=None, description="item_moved only: where the units went")

    def domain(self) -> DeviceEvent:
        if self.event is DeviceEventKind.ITEM_MOVED:
            if self.to_location is None or self.to_location == self.location:
                raise ValueError("item_moved needs a to_location different from location")
        elif self.to_location is not None:
            raise ValueError("to_location belongs to item_moved only")
        if self.event is not DeviceEventKind.ITEM_COUNTED and self.quantity == 0:
            raise ValueError(f"{self.event.value} needs a positive quantity")
        return DeviceEvent(self.event_id, self.event, self.product_id, self.location, self.quantity,
                           self.timestamp, self.to_location)


class DeviceBatchIn(Body):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_DEVICE_BATCH,
                                         description="device events (DeviceEventIn); each is judged on its own")


class DeviceResultOut(BaseModel):
    index: int
    event_id: str | None
    outcome: Outcome
    reason: str | None


class DeviceBatchOut(BaseModel):
    results: list[DeviceResultOut]
    counts: dict[str, int]
