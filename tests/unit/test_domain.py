"""Pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stockd.domain.errors import InvalidStateError, ValidationError
from stockd.domain.movements import AdjustReason, MovementKind, adjustment_delta
from stockd.domain.reservations import Line, Reservation, ReservationStatus, merge_lines
from stockd.domain.stock import Delta, StockLevel, StockTotals
from stockd.domain.transfers import Transfer, TransferLine, TransferStatus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_available_is_on_hand_minus_reserved_minus_committed() -> None:
    level = StockLevel("S", "W", on_hand=10, reserved=3, committed=2, in_transit=50)
    assert level.available == 5
    assert level.after(Delta(reserved=5)).available == 0
    assert not level.after(Delta(reserved=6)).is_valid()


def test_totals_sum_every_location() -> None:
    levels = [StockLevel("S", "A", 5, 1, 0, 0, 1, NOW), StockLevel("S", "B", 7, 0, 2, 3, 1, NOW + timedelta(1))]
    totals = StockTotals.of("S", levels)
    assert (totals.on_hand, totals.available, totals.in_transit) == (12, 9, 3)
    assert totals.last_updated == NOW + timedelta(1)


def test_merge_lines_sums_the_same_row_and_sorts_in_lock_order() -> None:
    merged = merge_lines([Line("B", "W", 1), Line("A", "W", 2), Line("B", "W", 3)])
    assert merged == [Line("A", "W", 2), Line("B", "W", 4)]


@pytest.mark.parametrize("lines", [[], [Line("A", "W", 0)], [Line("A", "W", -1)]])
def test_merge_lines_refuses_empty_and_non_positive(lines: list[Line]) -> None:
    with pytest.raises(ValidationError):
        merge_lines(lines)


def reservation(status: ReservationStatus, expires_in: float = 60) -> Reservation:
    return Reservation("r1", None, None, status, (Line("A", "W", 2),), NOW + timedelta(seconds=expires_in), NOW, NOW)


@pytest.mark.parametrize(
    ("source", "target", "kind", "delta"),
    [
        (ReservationStatus.ACTIVE, ReservationStatus.COMMITTED, MovementKind.COMMITTED,
         Delta(reserved=-2, committed=2)),
        (ReservationStatus.ACTIVE, ReservationStatus.RELEASED, MovementKind.RELEASED, Delta(reserved=-2)),
        (ReservationStatus.ACTIVE, ReservationStatus.EXPIRED, MovementKind.EXPIRED, Delta(reserved=-2)),
        (ReservationStatus.ACTIVE, ReservationStatus.SHIPPED, MovementKind.SHIPPED, Delta(on_hand=-2, reserved=-2)),
        (ReservationStatus.COMMITTED, ReservationStatus.SHIPPED, MovementKind.SHIPPED, Delta(on_hand=-2, committed=-2)),
        (ReservationStatus.COMMITTED, ReservationStatus.RELEASED, MovementKind.RELEASED, Delta(committed=-2)),
    ],
)
def test_each_transition_moves_the_right_buckets(
    source: ReservationStatus, target: ReservationStatus, kind: MovementKind, delta: Delta
) -> None:
    (change,) = reservation(source).changes_for(target)
    assert (change.kind, change.delta, change.reference) == (kind, delta, "r1")


@pytest.mark.parametrize("source", [ReservationStatus.SHIPPED, ReservationStatus.RELEASED, ReservationStatus.EXPIRED])
def test_closed_reservations_do_not_move(source: ReservationStatus) -> None:
    with pytest.raises(InvalidStateError):
        reservation(source).changes_for(ReservationStatus.COMMITTED)


def test_expiry_is_exact() -> None:
    held = reservation(ReservationStatus.ACTIVE, expires_in=60)
    assert not held.is_expired(NOW + timedelta(seconds=59.999))
    assert held.is_expired(NOW + timedelta(seconds=60))
    assert not reservation(ReservationStatus.COMMITTED, expires_in=0).is_expired(NOW + timedelta(days=1))


@pytest.mark.parametrize(
    ("quantity", "reason", "ok"),
    [(-1, AdjustReason.DAMAGED, True), (1, AdjustReason.DAMAGED, False), (-1, AdjustReason.SHRINKAGE, True),
     (3, AdjustReason.FOUND, True), (-3, AdjustReason.FOUND, False), (-5, AdjustReason.CORRECTION, True),
     (5, AdjustReason.CORRECTION, True), (0, AdjustReason.CORRECTION, False)],
)
def test_adjustment_signs_follow_the_reason(quantity: int, reason: AdjustReason, ok: bool) -> None:
    if ok:
        assert adjustment_delta(quantity, reason) == Delta(on_hand=quantity)
    else:
        with pytest.raises(ValidationError):
            adjustment_delta(quantity, reason)


def test_transfer_leaves_the_source_and_arrives_in_transit() -> None:
    transfer = Transfer("t1", "A", "B", TransferStatus.IN_TRANSIT, (TransferLine("S", 4),), NOW)
    out, into = transfer.dispatch_changes()
    assert (out.location, out.delta) == ("A", Delta(on_hand=-4))
    assert (into.location, into.delta) == ("B", Delta(in_transit=4))
    (arrived,) = transfer.receive_changes()
    assert arrived.delta == Delta(on_hand=4, in_transit=-4)
    with pytest.raises(ValidationError):
        Transfer("t2", "A", "A", TransferStatus.IN_TRANSIT, (TransferLine("S", 1),), NOW)
    with pytest.raises(InvalidStateError):
        Transfer("t3", "A", "B", TransferStatus.RECEIVED, (TransferLine("S", 1),), NOW).receive_changes()
