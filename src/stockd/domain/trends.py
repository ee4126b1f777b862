"""Trends read from the ledger: stock over time, sales over time, fastest and slowest movers. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# What counts as a sale: goods that left for a customer. Reservations and commits are promises, not sales.
SALE_KINDS = frozenset({"shipped"})


@dataclass(frozen=True)
class LedgerPoint:
    """One ledger movement of a SKU at a location, with its on_hand change and the on_hand after it."""

    location: str
    occurred_at: datetime
    kind: str
    quantity: int
    d_on_hand: int
    on_hand: int


@dataclass(frozen=True)
class SkuSales:
    sku: str
    name: str
    sold: int
    on_hand: int


@dataclass(frozen=True)
class Movers:
    fastest: list[SkuSales]
    slowest: list[SkuSales]


def stock_series(current: Mapping[str, int], points: Sequence[LedgerPoint]) -> list[tuple[datetime, int]]:
    """Total on_hand across locations after each movement, oldest first, starting with the level before the first.

    `points` are the latest movements (oldest first) and `current` the on_hand per location now: a location
    without a movement in `points` held its current level all along; one with movements held, before its
    first, that movement's level minus its change."""
    if not points:
        return []
    level = dict(current)
    seen: set[str] = set()
    for p in points:
        if p.location not in seen:
            seen.add(p.location)
            level[p.location] = p.on_hand - p.d_on_hand
    series = [(points[0].occurred_at, sum(level.values()))]
    for p in points:
        level[p.location] = p.on_hand
        series.append((p.occurred_at, sum(level.values())))
    return series


def sales_series(
    points: Sequence[LedgerPoint], start: datetime, end: datetime, bucket: timedelta
) -> list[tuple[datetime, int]]:
    """Units sold per time bucket from `start` to `end` (empty buckets are zeros, so a chart shows quiet time)."""
    count = max(1, -(-(end - start) // bucket))
    totals = [0] * count
    for p in points:
        if p.kind in SALE_KINDS and start <= p.occurred_at < end:
            totals[int((p.occurred_at - start) // bucket)] += p.quantity
    return [(start + i * bucket, total) for i, total in enumerate(totals)]


def rank_movers(sales: Sequence[SkuSales], n: int) -> Movers:
    """Fastest: the most units sold. Slowest: stock on the shelf that sold least (nothing on hand is not slow)."""
    fastest = sorted((s for s in sales if s.sold > 0), key=lambda s: (-s.sold, s.sku))[:n]
    slowest = sorted((s for s in sales if s.on_hand > 0), key=lambda s: (s.sold, -s.on_hand, s.sku))[:n]
    return Movers(fastest, slowest)
