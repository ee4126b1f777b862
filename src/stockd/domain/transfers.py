"""Transfers between locations: stock leaves the source at once and is in transit until received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stockd.domain.errors import InvalidStateError, ValidationError
from stockd.domain.movements import Change, MovementKind
from stockd.domain.stock import Delta


class TransferStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


@dataclass(frozen=True)
class TransferLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Transfer:
    id: str
    source: str
    destination: str
    status: TransferStatus
    lines: tuple[TransferLine, ...]
    created_at: datetime
    received_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.source == self.destination:
            raise ValidationError("a transfer needs two different locations")
        if not self.lines:
            raise ValidationError("a transfer needs at least one line")

    def dispatch_changes(self) -> list[Change]:
        """Leaves on_hand at the source and appears as in_transit at the destination."""
        changes: list[Change] = []
        for line in self.lines:
            q = line.quantity
            changes.append(
                Change(line.sku, self.source, MovementKind.TRANSFER_OUT, Delta(on_hand=-q), q, reference=self.id)
            )
            changes.append(
                Change(line.sku, self.destination, MovementKind.TRANSFER_IN, Delta(in_transit=q), q,
                       reference=self.id)
            )
        return changes

    def receive_changes(self) -> list[Change]:
        """At the destination, in_transit becomes on_hand."""
        if self.status is not TransferStatus.IN_TRANSIT:
            raise InvalidStateError(f"transfer {self.id} is {self.status.value}; it cannot be received again")
        return [
            Change(line.sku, self.destination, MovementKind.TRANSFER_RECEIVED,
                   Delta(on_hand=line.quantity, in_transit=-line.quantity), line.quantity, reference=self.id)
            for line in self.lines
        ]
