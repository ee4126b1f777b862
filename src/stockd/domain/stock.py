"""The five numbers kept per SKU per location, and the changes that move them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Delta:
    """A signed change to the four stored buckets of one stock row."""

    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    in_transit: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.committed


@dataclass(frozen=True)
class StockLevel:
    """Stock of one SKU at one location. `available` is derived, never stored."""

    sku: str
    location: str
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    in_transit: int = 0
    sequence: int = 0
    last_updated: datetime | None = None
    frozen: bool = False  # a count found a large discrepancy: no new reservations here, channels show 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.location)

    @property
    def available(self) -> int:
        """What can still be promised: on hand minus reserved minus committed."""
        return self.on_hand - self.reserved - self.committed

    def after(self, delta: Delta) -> StockLevel:
        return StockLevel(
            self.sku,
            self.location,
            self.on_hand + delta.on_hand,
            self.reserved + delta.reserved,
            self.committed + delta.committed,
            self.in_transit + delta.in_transit,
            self.sequence + 1,
            self.last_updated,
            self.frozen,
        )

    def is_valid(self) -> bool:
        """Invariant 1: no bucket below zero and nothing promised beyond what is on hand."""
        buckets = (self.on_hand, self.reserved, self.committed, self.in_transit)
        return min(buckets) >= 0 and self.available >= 0


@dataclass(frozen=True)
class StockTotals:
    """One SKU summed over locations."""

    sku: str
    on_hand: int
    reserved: int
    committed: int
    in_transit: int
    last_updated: datetime | None
    locations: tuple[StockLevel, ...]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.committed

    @classmethod
    def of(cls, sku: str, levels: list[StockLevel]) -> StockTotals:
        stamps = [lvl.last_updated for lvl in levels if lvl.last_updated is not None]
        return cls(
            sku=sku,
            on_hand=sum(lvl.on_hand for lvl in levels),
            reserved=sum(lvl.reserved for lvl in levels),
            committed=sum(lvl.committed for lvl in levels),
            in_transit=sum(lvl.in_transit for lvl in levels),
            last_updated=max(stamps) if stamps else None,
            locations=tuple(levels),
        )
