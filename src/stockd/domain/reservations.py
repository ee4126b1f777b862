"""Reservations: a pending hold on stock with a timeout (commit = post, release = void, as in TigerBeetle)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stockd.domain.errors import InvalidStateError, ValidationError
from stockd.domain.movements import Change, MovementKind
from stockd.domain.stock import Delta

MAX_LINES = 500


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    COMMITTED = "committed"
    SHIPPED = "shipped"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Line:
    sku: str
    location: str
    quantity: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.location)


def merge_lines(lines: Iterable[Line]) -> list[Line]:
    """Sum the demand per (sku, location) before any check, sorted in lock order.

    Checking each line on its own against the same row is how bundles oversell.
    """
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        if line.quantity <= 0:
            raise ValidationError(f"quantity for {line.sku} at {line.location} must be positive")
        totals[line.key] += line.quantity
    if not totals:
        raise ValidationError("an order needs at least one line")
    if len(totals) > MAX_LINES:
        raise ValidationError(f"an order may have at most {MAX_LINES} distinct lines")
    return [Line(sku, loc, qty) for (sku, loc), qty in sorted(totals.items())]


@dataclass(frozen=True)
class Reservation:
    id: str
    order_id: str | None
    channel: str | None
    status: ReservationStatus
    lines: tuple[Line, ...]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    def is_expired(self, now: datetime) -> bool:
        """Exact expiry: past expires_at an active hold no longer counts, swept or not."""
        return self.status is ReservationStatus.ACTIVE and now >= self.expires_at

    def changes_for(self, target: ReservationStatus) -> list[Change]:
        """The stock movements that take this reservation from its status to `target`."""
        kind, delta_of = _TRANSITIONS.get((self.status, target), (None, None))
        if kind is None or delta_of is None:
            raise InvalidStateError(
                f"reservation {self.id} is {self.status.value}; it cannot become {target.value}"
            )
        by_system = target is ReservationStatus.EXPIRED
        return [
            Change(line.sku, line.location, kind, delta_of(line.quantity), line.quantity, reference=self.id,
                   by_system=by_system)
            for line in sorted(self.lines, key=lambda ln: ln.key)
        ]


def _reserved_to_committed(q: int) -> Delta:
    return Delta(reserved=-q, committed=q)


def _release_reserved(q: int) -> Delta:
    return Delta(reserved=-q)


def _release_committed(q: int) -> Delta:
    return Delta(committed=-q)


def _ship_reserved(q: int) -> Delta:
    return Delta(on_hand=-q, reserved=-q)


def _ship_committed(q: int) -> Delta:
    return Delta(on_hand=-q, committed=-q)


_S = ReservationStatus
_TRANSITIONS = {
    (_S.ACTIVE, _S.COMMITTED): (MovementKind.COMMITTED, _reserved_to_committed),
    (_S.ACTIVE, _S.RELEASED): (MovementKind.RELEASED, _release_reserved),
    (_S.ACTIVE, _S.EXPIRED): (MovementKind.EXPIRED, _release_reserved),
    (_S.ACTIVE, _S.SHIPPED): (MovementKind.SHIPPED, _ship_reserved),
    (_S.COMMITTED, _S.RELEASED): (MovementKind.RELEASED, _release_committed),
    (_S.COMMITTED, _S.SHIPPED): (MovementKind.SHIPPED, _ship_committed),
}
