"""Movements: the append-only ledger entries. Each one says how one stock row moved, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stockd.domain.errors import ValidationError
from stockd.domain.stock import Delta, StockLevel


class MovementKind(StrEnum):
    RECEIVED = "received"
    RESERVED = "reserved"
    RELEASED = "released"
    EXPIRED = "expired"
    COMMITTED = "committed"
    SHIPPED = "shipped"
    ADJUSTED = "adjusted"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    TRANSFER_RECEIVED = "transfer_received"
    RETURNED = "returned"
    ADDED = "added"  # a device saw units arrive
    REMOVED = "removed"  # a device saw units leave
    COUNTED = "counted"  # a device's absolute count set on_hand
    MOVED_OUT = "moved_out"  # a device moved units to another location at once
    MOVED_IN = "moved_in"
    ORDERED = "ordered"  # a purchase order was sent: in_transit rises at its destination
    PO_RECEIVED = "po_received"  # goods of a purchase order arrived: in_transit becomes on_hand
    ORDER_CANCELLED = "order_cancelled"  # an open purchase order was cancelled: its in_transit goes

    @property
    def event_type(self) -> str:
        """The event published for this kind of movement (DESIGN.md, Events)."""
        if self in (MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN, MovementKind.MOVED_OUT,
                    MovementKind.MOVED_IN):
            return "stock.transferred"
        if self in (MovementKind.ADDED, MovementKind.REMOVED):
            return "stock.adjusted"
        if self in (MovementKind.TRANSFER_RECEIVED, MovementKind.PO_RECEIVED):
            return "stock.received"
        return f"stock.{self.value}"


class AdjustReason(StrEnum):
    DAMAGED = "damaged"
    SHRINKAGE = "shrinkage"
    FOUND = "found"
    CORRECTION = "correction"


def adjustment_delta(quantity: int, reason: AdjustReason) -> Delta:
    """Damaged and shrinkage only remove stock, found only adds it, a correction goes either way."""
    if quantity == 0:
        raise ValidationError("an adjustment must change the quantity (got 0)")
    if reason in (AdjustReason.DAMAGED, AdjustReason.SHRINKAGE) and quantity > 0:
        raise ValidationError(f"reason {reason.value!r} removes stock: quantity must be negative")
    if reason is AdjustReason.FOUND and quantity < 0:
        raise ValidationError("reason 'found' adds stock: quantity must be positive")
    return Delta(on_hand=quantity)


@dataclass(frozen=True)
class Change:
    """A movement about to be applied: the row, the kind, the delta and why."""

    sku: str
    location: str
    kind: MovementKind
    delta: Delta
    quantity: int
    reason: str | None = None
    reference: str | None = None
    by_system: bool = False  # stockd's own doing (an expiry), whoever's request noticed it

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.location)


@dataclass(frozen=True)
class Movement:
    """A change as recorded in the ledger, with the row's numbers after it."""

    id: int
    sku: str
    location: str
    kind: MovementKind
    quantity: int
    delta: Delta
    after: StockLevel
    reason: str | None
    reference: str | None
    actor: str
    role: str
    request_id: str | None
    occurred_at: datetime
    event_id: str

    @property
    def before(self) -> StockLevel:
        return StockLevel(
            self.sku,
            self.location,
            self.after.on_hand - self.delta.on_hand,
            self.after.reserved - self.delta.reserved,
            self.after.committed - self.delta.committed,
            self.after.in_transit - self.delta.in_transit,
            self.after.sequence - 1,
        )


@dataclass(frozen=True)
class Drift:
    """A stock row whose bucket differs from the sum of its ledger movements (there must be none)."""

    sku: str
    location: str
    bucket: str
    row: int
    ledger: int
