"""Device events from barcode scanners, RFID readers, IoT sensors and WMS systems.

Deltas (added, removed, moved) apply once each. An absolute count wins by its device timestamp: a count older
than the last applied count is stale and not applied; a delta older than the last applied count is already
inside that count (superseded); a count arriving after deltas that happened later keeps those deltas on top.
The result is the stock the events give when applied once each in timestamp order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stockd.domain.movements import Change, MovementKind
from stockd.domain.stock import Delta


class DeviceEventKind(StrEnum):
    ITEM_ADDED = "item_added"
    ITEM_REMOVED = "item_removed"
    ITEM_COUNTED = "item_counted"
    ITEM_MOVED = "item_moved"


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this event id was seen before: nothing done
    STALE = "stale"  # a count older than the last applied count for its row: recorded, not applied
    SUPERSEDED = "superseded"  # a delta older than the last applied count: already inside that count
    REJECTED = "rejected"  # malformed, unknown SKU or location, or impossible: recorded with its reason


@dataclass(frozen=True)
class DeviceEvent:
    event_id: str
    kind: DeviceEventKind
    sku: str
    location: str
    quantity: int
    timestamp: datetime
    to_location: str | None = None

    @property
    def locations(self) -> tuple[str, ...]:
        return (self.location, self.to_location) if self.to_location else (self.location,)

    @property
    def is_count(self) -> bool:
        return self.kind is DeviceEventKind.ITEM_COUNTED

    def delta_changes(self, source: str) -> list[Change]:
        """The ledger changes of a delta event (not of a count, which depends on the row)."""
        q, reason = self.quantity, f"device:{source}"
        if self.kind is DeviceEventKind.ITEM_ADDED:
            return [Change(self.sku, self.location, MovementKind.ADDED, Delta(on_hand=q), q, reason, self.event_id)]
        if self.kind is DeviceEventKind.ITEM_REMOVED:
            return [Change(self.sku, self.location, MovementKind.REMOVED, Delta(on_hand=-q), q, reason,
                           self.event_id)]
        if self.kind is DeviceEventKind.ITEM_MOVED:
            assert self.to_location is not None
            return [
                Change(self.sku, self.location, MovementKind.MOVED_OUT, Delta(on_hand=-q), q, reason, self.event_id),
                Change(self.sku, self.to_location, MovementKind.MOVED_IN, Delta(on_hand=q), q, reason,
                       self.event_id),
            ]
        raise ValueError(f"{self.kind} is not a delta")

    def count_change(self, source: str, on_hand: int, later_deltas: int) -> Change | None:
        """Set on_hand to the count plus what devices changed after the count was taken."""
        target = self.quantity + later_deltas
        difference = target - on_hand
        if difference == 0:
            return None
        return Change(self.sku, self.location, MovementKind.COUNTED, Delta(on_hand=difference), abs(difference),
                      f"device:{source}", self.event_id)
