"""The ports of channel sync: the channel tables, the push state, and the connectors that speak to channels."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from stockd.domain.channels import Channel, Listing, SyncStatus
from stockd.domain.stock import StockLevel


@dataclass(frozen=True)
class DueItem:
    """A (channel, sku) claimed for a push: the generation it was claimed at, and what was last pushed."""

    listing: Listing
    generation: int
    last_pushed: int | None
    attempts: int
    failing: bool
    force: bool


@dataclass(frozen=True)
class QuantityPush:
    """One quantity for a channel to show. `previous` is what stockd last pushed (the compare value);
    `key` is the idempotency key of this push (the same push retried carries the same key)."""

    listing: Listing
    quantity: int
    previous: int | None
    key: str


@dataclass(frozen=True)
class PushOutcome:
    sku: str
    error: str | None = None
    retry_after: float | None = None  # the channel asked us to wait (429 / throttled)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ChannelSyncSummary:
    """One channel's push state over all its SKUs: how many are in sync, behind, failing; the latest push."""

    channel: str
    skus: int
    in_sync: int
    pending: int
    failing: int
    last_pushed_at: datetime | None
    last_error: str | None  # of a SKU still in error (the one retried last), None when none is


class QuantityPusher(Protocol):
    """Speaks to the channels (Shopify, Amazon, webhooks)."""

    async def push(self, channel: Channel, pushes: Sequence[QuantityPush]) -> builtins.list[PushOutcome]:
        """Send every quantity; one outcome per push, in any order. A channel that fails or cannot be reached
        gives error outcomes, never an exception."""
        ...


class ChannelRepository(Protocol):
    async def add(self, channel: Channel) -> None: ...
    async def get(self, name: str) -> Channel | None: ...
    async def list(self, active_only: bool = False) -> builtins.list[Channel]: ...
    async def update(self, channel: Channel) -> None: ...
    async def set_locations(self, name: str, locations: Sequence[str]) -> None: ...
    async def upsert_listings(self, listings: Sequence[Listing], now: datetime) -> None:
        """Add or update SKU mappings; a new mapping starts dirty, so it is pushed."""
        ...
    async def remove_listing(self, channel: str, sku: str) -> bool: ...
    async def listings(self, channel: str, limit: int, offset: int) -> builtins.list[Listing]: ...


class ChannelSyncStore(Protocol):
    async def mark_changed(self, sku: str, location: str | None) -> int:
        """The SKU changed at `location` (None: anywhere): every channel it feeds is behind. Returns rows marked."""
        ...
    async def mark_all(self, channel: str | None, force: bool) -> int:
        """Every listing of `channel` (None: all channels) is recomputed; with `force` pushed even if unchanged
        (resync), and retried at once."""
        ...
    async def claim(self, channel: str, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DueItem]:
        """The channel's SKUs that are behind and due, leased to this pusher until `lease_until`."""
        ...
    async def levels(self, skus: Sequence[str], locations: Sequence[str]) -> builtins.list[StockLevel]: ...
    async def synced(self, channel: str, sku: str, generation: int, quantity: int, pushed_at: datetime | None) -> None:
        """The channel shows `quantity` as of `generation` (pushed now when `pushed_at` is given)."""
        ...
    async def failed(self, channel: str, sku: str, desired: int, error: str, attempts: int, failing: bool,
                     next_attempt_at: datetime) -> None: ...
    async def status(self, channel: str | None, sku: str | None, failing_only: bool, limit: int,
                     offset: int) -> builtins.list[SyncStatus]: ...
    async def summary(self) -> builtins.list[ChannelSyncSummary]:
        """Per channel with listings: SKUs in sync, pending and failing, the latest push and a current error."""
        ...
    async def next_due(self, channel: str) -> datetime | None:
        """When the earliest pending retry of the channel falls due (None: nothing is waiting)."""
        ...
