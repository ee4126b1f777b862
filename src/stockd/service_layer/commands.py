"""Commands: what a caller asks stockd to do, already parsed and typed by the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from stockd.domain.catalog import LocationKind
from stockd.domain.movements import AdjustReason
from stockd.domain.reservations import Line
from stockd.domain.transfers import TransferLine


@dataclass(frozen=True)
class CreateProduct:
    sku: str
    name: str
    unit_cost: Decimal
    price: Decimal


@dataclass(frozen=True)
class UpdateProduct:
    sku: str
    name: str | None = None
    unit_cost: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True)
class CreateLocation:
    code: str
    name: str
    kind: LocationKind


@dataclass(frozen=True)
class UpdateLocation:
    code: str
    name: str | None = None
    kind: LocationKind | None = None


@dataclass(frozen=True)
class Reserve:
    lines: tuple[Line, ...]
    ttl: timedelta
    order_id: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Receive:
    location: str
    lines: tuple[TransferLine, ...]
    reference: str | None = None


@dataclass(frozen=True)
class Adjust:
    sku: str
    location: str
    quantity: int
    reason: AdjustReason
    note: str | None = None


@dataclass(frozen=True)
class ReturnStock:
    sku: str
    location: str
    quantity: int
    reference: str | None = None


@dataclass(frozen=True)
class CreateTransfer:
    source: str
    destination: str
    lines: tuple[TransferLine, ...]
