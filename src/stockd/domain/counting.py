"""Cycle counting: ABC classes by revenue, how often each class is counted, and how a count is judged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from stockd.domain.errors import ValidationError

CYCLE_COUNT_REASON = "cycle_count"


class AbcClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True)
class AbcPolicy:
    """A: the SKUs making the top `a_share` of revenue; B: the next `b_share`; C: the rest and every SKU
    without sales, over the last `window_days`."""

    a_share: Decimal = Decimal("0.2")
    b_share: Decimal = Decimal("0.3")
    window_days: int = 90

    def __post_init__(self) -> None:
        if not (self.a_share > 0 and self.b_share >= 0 and self.a_share + self.b_share <= 1):
            raise ValidationError("ABC shares must be positive and add up to at most 1")
        if self.window_days < 1:
            raise ValidationError("the ABC window must be at least one day")


@dataclass(frozen=True)
class SkuClass:
    sku: str
    abc_class: AbcClass
    revenue: Decimal
    computed_at: datetime
    window_days: int


def classify(revenue: Mapping[str, Decimal], policy: AbcPolicy) -> dict[str, AbcClass]:
    """Rank by revenue (ties by SKU); a SKU belongs to A while the revenue share ranked before it is under
    `a_share`, so the SKU that crosses the line is still A (one SKU making 60% of sales is A, not B)."""
    total = sum((r for r in revenue.values() if r > 0), Decimal(0))
    ranked = sorted(revenue.items(), key=lambda item: (-item[1], item[0]))
    classes: dict[str, AbcClass] = {}
    before = Decimal(0)
    for sku, amount in ranked:
        if amount <= 0 or total == 0:
            classes[sku] = AbcClass.C
            continue
        share_before = before / total
        if share_before < policy.a_share:
            classes[sku] = AbcClass.A
        elif share_before < policy.a_share + policy.b_share:
            classes[sku] = AbcClass.B
        else:
            classes[sku] = AbcClass.C
        before += amount
    return classes


class CountStatus(StrEnum):
    OPEN = "open"  # waiting for the counted quantity
    MATCHED = "matched"  # the count equals the system: nothing to change
    ADJUSTED = "adjusted"  # within tolerance: on_hand corrected with reason cycle_count
    INVESTIGATING = "investigating"  # beyond tolerance: waits for a manager (the row may be frozen)
    ACCEPTED = "accepted"  # a manager accepted the count: on_hand corrected
    REJECTED = "rejected"  # a manager rejected the count: nothing changed
    RECOUNTED = "recounted"  # a manager asked for a recount: a new task replaces this one

    @property
    def active(self) -> bool:
        return self in (CountStatus.OPEN, CountStatus.INVESTIGATING)


ACTIVE_STATUSES = (CountStatus.OPEN.value, CountStatus.INVESTIGATING.value)


class CountOutcome(StrEnum):
    MATCHED = "matched"
    ADJUSTED = "adjusted"
    INVESTIGATING = "investigating"
    FROZEN = "frozen"  # investigating, and the row takes no new reservations


class Resolution(StrEnum):
    ACCEPT = "accept"
    RECOUNT = "recount"
    REJECT = "reject"


def _default_intervals() -> dict[AbcClass, timedelta]:
    return {AbcClass.A: timedelta(days=7), AbcClass.B: timedelta(days=30), AbcClass.C: timedelta(days=90)}


@dataclass(frozen=True)
class CountPolicy:
    """How often each class is counted, and the discrepancies (in percent of the expected quantity) up to
    which a count is adjusted at once, and beyond which the row is frozen."""

    intervals: Mapping[AbcClass, timedelta] = field(default_factory=_default_intervals)
    auto_adjust_pct: Decimal = Decimal(5)
    freeze_pct: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        if set(self.intervals) != set(AbcClass) or min(self.intervals.values()) <= timedelta(0):
            raise ValidationError("every ABC class needs a positive count interval")
        if not (0 <= self.auto_adjust_pct <= self.freeze_pct):
            raise ValidationError("the auto-adjust tolerance must be between 0 and the freeze threshold")

    def cutoffs(self, now: datetime) -> dict[AbcClass, datetime]:
        """A row of class K is due when its last count is at or before cutoffs[K]."""
        return {cls: now - interval for cls, interval in self.intervals.items()}

    def judge(self, counted: int, expected: int) -> CountOutcome:
        """Up to auto_adjust_pct: adjust; beyond: investigate; beyond freeze_pct: also freeze. With nothing
        expected, any difference is beyond every threshold."""
        if counted == expected:
            return CountOutcome.MATCHED
        if expected <= 0:
            return CountOutcome.FROZEN
        off = Fraction(abs(counted - expected) * 100, expected)
        if off <= Fraction(self.auto_adjust_pct):
            return CountOutcome.ADJUSTED
        if off <= Fraction(self.freeze_pct):
            return CountOutcome.INVESTIGATING
        return CountOutcome.FROZEN


def discrepancy_pct(counted: int, expected: int) -> Decimal | None:
    """|counted - expected| / expected in percent, to 4 places; None (infinite) when nothing was expected."""
    if expected <= 0:
        return Decimal(0) if counted == expected else None
    return (Decimal(abs(counted - expected) * 100) / Decimal(expected)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class CountTask:
    """One count of one SKU at one location: opened, counted blind, then judged (and maybe resolved)."""

    id: str
    sku: str
    location: str
    status: CountStatus
    opened_at: datetime
    opened_by: str
    snapshot_on_hand: int  # the system's number when the task was opened (never shown to the counter)
    snapshot_sequence: int
    recount_of: str | None = None
    counted: int | None = None
    counted_at: datetime | None = None
    counted_by: str | None = None
    submitted_at: datetime | None = None
    expected: int | None = None  # on_hand as of counted_at
    discrepancy_pct: Decimal | None = None
    adjustment: int | None = None  # counted - expected; applied or not depending on the outcome
    outcome: CountOutcome | None = None
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DueCount:
    """A stock row whose last count is older than its class's interval (or that was never counted)."""

    sku: str
    location: str
    abc_class: AbcClass
    last_counted_at: datetime | None
    active_count_id: str | None
