"""The ports the use cases need; adapters implement them (SQL, brokers), tests may fake them."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self

from stockd.domain.alerts import Alert, AlertDraft, AlertStatus
from stockd.domain.catalog import Location, Product
from stockd.domain.counting import AbcClass, CountStatus, CountTask, DueCount, SkuClass
from stockd.domain.devices import DeviceEvent, Outcome
from stockd.domain.forecasting import DemandForecast
from stockd.domain.movements import Change, Drift, Movement
from stockd.domain.replenishment import (
    Budget,
    PolicyChange,
    PoLine,
    PoStatus,
    PurchaseOrder,
    Receipt,
    ReorderPolicy,
    Supplier,
    SupplierProduct,
)
from stockd.domain.reservations import Reservation, ReservationStatus
from stockd.domain.security import ApiKey, AuditEntry, ForbiddenError
from stockd.domain.stock import StockLevel
from stockd.domain.transfers import Transfer, TransferStatus
from stockd.domain.trends import LedgerPoint, SkuSales
from stockd.domain.webhooks import Delivery, DeliveryStatus, Subscription
from stockd.service_layer.channel_ports import ChannelRepository, ChannelSyncStore


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def __call__(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who asks: recorded on every ledger movement and audit entry; its scope limits where it may act."""

    name: str
    role: str
    request_id: str | None = None
    locations: frozenset[str] | None = None  # None: every location
    channel: str | None = None  # set: may only act on this channel's reservations

    def may_touch(self, location: str) -> bool:
        return self.locations is None or location in self.locations

    def check_locations(self, locations: Iterable[str]) -> None:
        """A location-scoped key cannot read or change another location."""
        if self.locations is None:
            return
        outside = sorted(set(locations) - self.locations)
        if outside:
            raise ForbiddenError(f"key {self.name} may not act at {', '.join(outside)}")

    def check_channel(self, channel: str | None) -> None:
        """A channel key acts only on its own channel's reservations."""
        if self.channel is not None and channel != self.channel:
            raise ForbiddenError(f"key {self.name} acts for channel {self.channel!r} only")


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class MovementFilter:
    sku: str | None = None
    location: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None
    reference: str | None = None
    after_id: int | None = None
    limit: int = 100
    locations: frozenset[str] | None = None  # the caller's scope; None: all


class ProductRepository(Protocol):
    async def add(self, product: Product) -> None: ...
    async def get(self, sku: str) -> Product | None: ...
    async def list(self, limit: int, offset: int, search: str | None = None) -> builtins.list[Product]: ...
    async def update(self, product: Product) -> None: ...


class LocationRepository(Protocol):
    async def add(self, location: Location) -> None: ...
    async def get(self, code: str) -> Location | None: ...
    async def list(self, limit: int, offset: int) -> builtins.list[Location]: ...
    async def update(self, location: Location) -> None: ...


class EventOutbox(Protocol):
    async def emit(
        self, type: str, data: dict[str, Any], now: datetime, sku: str | None = None, location: str | None = None
    ) -> str:
        """Write an event that is not a stock movement (sku.frozen, po.created, alert.raised, channel.pushed ...)
        to the outbox in this transaction; the relay publishes it after commit. Returns its id."""
        ...


class Ledger(Protocol):
    async def record(self, changes: Sequence[Change], actor: Actor, now: datetime) -> builtins.list[StockLevel]:
        """Apply each change to its stock row with a guarded UPDATE, in (sku, location) order, and append
        its movement and outbox event in the same transaction. Raises InsufficientStockError,
        UnknownProductError or UnknownLocationError and leaves the caller to roll back."""
        ...

    async def set_frozen(
        self, sku: str, location: str, frozen: bool, reason: str | None, actor: Actor, now: datetime
    ) -> StockLevel | None:
        """Freeze (no new reservations; channels show 0) or unfreeze one stock row, emitting sku.frozen or
        sku.unfrozen. None when the row does not exist or already was in that state."""
        ...


class StockReader(Protocol):
    async def get(self, sku: str, location: str) -> StockLevel | None: ...
    async def list(
        self, sku: str | None, location: str | None, limit: int, offset: int,
        scope: frozenset[str] | None = None,
    ) -> builtins.list[StockLevel]: ...
    async def for_sku(self, sku: str) -> builtins.list[StockLevel]: ...
    async def locked(self, sku: str, location: str) -> StockLevel | None:
        """The row, locked until the end of the transaction (SELECT ... FOR UPDATE on PostgreSQL)."""
        ...
    async def lock(self, keys: Sequence[tuple[str, str]]) -> None:
        """Lock these rows now, in (sku, location) order, for the rest of the transaction."""
        ...


class MovementReader(Protocol):
    async def list(self, query: MovementFilter) -> builtins.list[Movement]: ...
    async def drift(self) -> builtins.list[Drift]:
        """Replay the ledger against every stock row (invariant 7)."""
        ...


class ReservationRepository(Protocol):
    async def add(self, reservation: Reservation, actor: Actor) -> None: ...
    async def get(self, reservation_id: str) -> Reservation | None: ...
    async def get_by_order(self, order_id: str) -> Reservation | None: ...
    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus, now: datetime
    ) -> bool:
        """Move one reservation between statuses only if it is still in `source` (a compare-and-set), so
        two sweepers, or a sweeper and a commit, can never both act on it."""
        ...
    async def due_to_expire(
        self, now: datetime, skus: Sequence[str] | None, limit: int
    ) -> builtins.list[Reservation]:
        """Active holds past their expiry, oldest first; only those touching `skus` when given."""
        ...


class TransferRepository(Protocol):
    async def add(self, transfer: Transfer) -> None: ...
    async def get(self, transfer_id: str) -> Transfer | None: ...
    async def transition(
        self, transfer_id: str, source: TransferStatus, target: TransferStatus, now: datetime
    ) -> bool: ...


class IdempotencyStore(Protocol):
    async def get(self, scope: str, key: str) -> StoredResponse | None: ...
    async def save(self, scope: str, key: str, response: StoredResponse, now: datetime) -> None: ...
    async def forget_before(self, cutoff: datetime) -> int: ...


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    sku: str | None = None
    location: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


class KeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def list(self) -> builtins.list[ApiKey]: ...
    async def revoke(self, key_id: str, now: datetime) -> bool: ...
    async def any(self) -> bool: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...
    async def list(self, query: AuditFilter) -> builtins.list[AuditEntry]:
        """Catalog and key changes merged with ledger movements, newest first."""
        ...


class DeviceLog(Protocol):
    async def seen(self, event_ids: Sequence[str]) -> set[str]: ...
    async def record(
        self, event_id: str | None, event: DeviceEvent | None, source: str, now: datetime, outcome: Outcome,
        reason: str | None, raw: dict[str, Any] | None,
    ) -> None: ...
    async def set_outcome(self, event_id: str, outcome: Outcome, reason: str | None) -> None: ...
    async def last_count(self, sku: str, location: str) -> datetime | None: ...
    async def set_last_count(self, sku: str, location: str, counted_at: datetime) -> None: ...
    async def deltas_after(self, sku: str, location: str, after: datetime) -> int: ...


# Columns the dashboard's stock table sorts by ("available" is computed, never stored).
STOCK_SORT_KEYS = ("sku", "name", "location", "on_hand", "reserved", "committed", "in_transit", "available")


@dataclass(frozen=True)
class StockQuery:
    """The dashboard's stock table: a search over SKU, product name and location, one sort column, a page."""

    search: str | None = None
    sort: str = "sku"
    descending: bool = False
    limit: int = 500
    offset: int = 0
    locations: frozenset[str] | None = None  # the caller's scope; None: all


@dataclass(frozen=True)
class StockRow:
    level: StockLevel
    name: str


@dataclass(frozen=True)
class FrozenRow:
    level: StockLevel
    name: str
    reason: str | None


@dataclass(frozen=True)
class OutboxLag:
    unpublished: int
    oldest_created_at: datetime | None


class InsightsReader(Protocol):
    """Read-only views for the dashboard and the operational metrics."""

    async def stock_table(self, query: StockQuery) -> builtins.list[StockRow]: ...
    async def ledger_points(
        self, sku: str, since: datetime, limit: int, scope: frozenset[str] | None
    ) -> builtins.list[LedgerPoint]:
        """The latest `limit` movements of `sku` since `since`, oldest first."""
        ...
    async def sales_by_sku(self, since: datetime, scope: frozenset[str] | None) -> builtins.list[SkuSales]:
        """Every product with the units sold since `since` and its on_hand now."""
        ...
    async def outbox_lag(self) -> OutboxLag: ...
    async def movements_since(self, since: datetime) -> int: ...
    async def frozen_rows(self, scope: frozenset[str] | None) -> builtins.list[FrozenRow]:
        """Every frozen stock row (in scope), with why it was frozen, by SKU and location."""
        ...


class UnitOfWork(Protocol):
    """One database transaction. Leaving the block without commit() rolls everything back."""

    @property
    def products(self) -> ProductRepository: ...
    @property
    def locations(self) -> LocationRepository: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def stock(self) -> StockReader: ...
    @property
    def movements(self) -> MovementReader: ...
    @property
    def reservations(self) -> ReservationRepository: ...
    @property
    def transfers(self) -> TransferRepository: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def keys(self) -> KeyRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def devices(self) -> DeviceLog: ...
    @property
    def events(self) -> EventOutbox: ...
    @property
    def insights(self) -> InsightsReader: ...
    @property
    def channels(self) -> ChannelRepository: ...
    @property
    def channel_sync(self) -> ChannelSyncStore: ...
    @property
    def counts(self) -> CountRepository: ...
    @property
    def abc(self) -> AbcRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def replenishment(self) -> ReplenishmentRepository: ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: an error inside rolls back to here and leaves the rest of the work intact."""
        ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...

    def is_transient(self, exc: BaseException) -> bool:
        """A deadlock, a serialization failure or a lost race on a unique key: safe to run again."""
        ...

    def is_unavailable(self, exc: BaseException) -> bool:
        """The database cannot be reached right now."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Publisher(Protocol):
    """The event bus, as the outbox relay sees it (RabbitMQ, or the in-process bus)."""

    async def publish(self, events: Sequence[dict[str, Any]]) -> None:
        """Hand over every event envelope, in the given order, and return only once the bus holds them all
        (broker-confirmed). Raise otherwise: the relay then leaves them unpublished and tries again later."""
        ...


class Inbox(Protocol):
    async def accept(self, consumer: str, event: dict[str, Any], now: datetime) -> bool:
        """Record, in the caller's transaction, that `consumer` applies `event`. False when it already has
        (the same event id again) or when it already applied a later event of the same (sku, location)
        (a stale sequence): the caller must then skip the event (invariant 5)."""
        ...


class InboxUnitOfWork(UnitOfWork, Protocol):
    """A unit of work for an event consumer: its own writes and its inbox commit together."""

    @property
    def inbox(self) -> Inbox: ...


@dataclass(frozen=True)
class CountFilter:
    status: str | None = None
    sku: str | None = None
    location: str | None = None
    limit: int = 100
    offset: int = 0
    locations: frozenset[str] | None = None  # the caller's scope; None: all


class CountRepository(Protocol):
    async def add(self, task: CountTask) -> None: ...
    async def get(self, count_id: str) -> CountTask | None: ...
    async def active_for(self, sku: str, location: str) -> CountTask | None: ...
    async def save(self, task: CountTask, expected_status: CountStatus) -> bool:
        """Write the task's new state only if it is still in `expected_status` (a compare-and-set)."""
        ...
    async def list(self, query: CountFilter) -> builtins.list[CountTask]: ...
    async def on_hand_change_after(self, sku: str, location: str, after: datetime) -> int:
        """The net on_hand change of the ledger's movements of this row recorded after `after`."""
        ...
    async def due(
        self, cutoffs: dict[AbcClass, datetime], location: str | None, scope: frozenset[str] | None,
        limit: int, offset: int,
    ) -> builtins.list[DueCount]:
        """Rows with stock whose last count is at or before their class's cutoff, or never counted."""
        ...


class AbcRepository(Protocol):
    async def revenue_since(self, since: datetime) -> dict[str, Decimal]:
        """Every product's revenue from `shipped` movements since `since`, at its current price."""
        ...
    async def replace(self, classes: Sequence[SkuClass]) -> None: ...
    async def list(self, abc_class: AbcClass | None, limit: int, offset: int) -> builtins.list[SkuClass]: ...
    async def last_computed_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    kind: str | None = None
    sku: str | None = None
    location: str | None = None
    limit: int = 100
    offset: int = 0
    locations: frozenset[str] | None = None


class AlertRepository(Protocol):
    async def upsert(self, draft: AlertDraft, alert_id: str, now: datetime) -> tuple[Alert, bool]:
        """Insert the alert, or count one more occurrence of the unresolved one with its key (one statement,
        so two racing triggers give one alert). True when it was new."""
        ...
    async def get(self, alert_id: str) -> Alert | None: ...
    async def unresolved(self, key: str) -> Alert | None: ...
    async def transition(
        self, alert_id: str, sources: Sequence[AlertStatus], target: AlertStatus, actor: str, now: datetime
    ) -> Alert | None:
        """Move the alert to `target` only if it is in one of `sources`; None otherwise."""
        ...
    async def list(self, query: AlertFilter) -> builtins.list[Alert]: ...
    async def expired_reservations_since(self, since: datetime) -> int: ...


@dataclass(frozen=True)
class DeliveryJob:
    """A delivery claimed for one attempt, with what is needed to send it."""

    delivery_id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int


class WebhookRepository(Protocol):
    async def add(self, subscription: Subscription, secret: str) -> None: ...
    async def get(self, subscription_id: str) -> Subscription | None: ...
    async def list(self) -> builtins.list[Subscription]: ...
    async def delete(self, subscription_id: str) -> bool: ...
    async def active(self) -> builtins.list[Subscription]: ...
    async def enqueue(self, subscription_ids: Sequence[str], event: dict[str, Any], now: datetime) -> int:
        """Queue the event for each subscription; an event already queued for one is skipped."""
        ...
    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryJob]:
        """Take due deliveries for one attempt: push their next attempt to `lease_until`, so another worker
        does not send them too (SKIP LOCKED on PostgreSQL)."""
        ...
    async def finish(
        self, delivery_id: int, status: DeliveryStatus, attempts: int, next_attempt_at: datetime | None,
        response_code: int | None, error: str | None, now: datetime,
    ) -> None: ...
    async def deliveries(
        self, subscription_id: str, status: DeliveryStatus | None, limit: int
    ) -> builtins.list[Delivery]: ...


class WebhookSendError(Exception):
    """The receiver could not be reached (refused, timed out, TLS ...)."""


class WebhookSender(Protocol):
    async def send(self, url: str, secret: str, body: bytes, headers: dict[str, str]) -> int:
        """POST the signed body; returns the response status, raises WebhookSendError if there is none."""
        ...


@dataclass(frozen=True)
class OpenLine:
    """What is still expected on an open purchase order line (drafts included)."""

    po_id: str
    supplier: str
    status: PoStatus
    sku: str
    location: str
    outstanding: int


class ReplenishmentRepository(Protocol):
    """Suppliers, reorder policies, purchase orders, receipts, budgets; and demand read from the ledger."""

    async def add_supplier(self, supplier: Supplier) -> None: ...
    async def get_supplier(self, code: str) -> Supplier | None: ...
    async def list_suppliers(self) -> builtins.list[Supplier]: ...
    async def update_supplier(self, supplier: Supplier) -> None: ...
    async def save_link(self, link: SupplierProduct, now: datetime) -> None: ...
    async def links(self, sku: str | None = None, supplier: str | None = None) -> builtins.list[SupplierProduct]: ...
    async def get_policy(self, sku: str, location: str) -> ReorderPolicy | None: ...
    async def list_policies(self, sku: str | None = None) -> builtins.list[ReorderPolicy]: ...
    async def save_policy(self, policy: ReorderPolicy) -> None: ...
    async def set_low(self, sku: str, location: str, low: bool) -> bool:
        """Flip the stock.low state only if it differs (a compare-and-set); True when it changed."""
        ...
    async def record_change(self, change: PolicyChange) -> None: ...
    async def changes(self, sku: str, location: str, limit: int) -> builtins.list[PolicyChange]: ...
    async def add_po(self, po: PurchaseOrder) -> None: ...
    async def get_po(self, po_id: str) -> PurchaseOrder | None: ...
    async def list_pos(
        self, status: PoStatus | None, supplier: str | None, limit: int
    ) -> builtins.list[PurchaseOrder]: ...
    async def transition_po(
        self, po_id: str, sources: Sequence[PoStatus], target: PoStatus, now: datetime,
        expected_at: datetime | None = None,
    ) -> bool:
        """Move a PO to `target` only if it is still in one of `sources` (compare-and-set)."""
        ...
    async def set_received(self, po_id: str, line: PoLine) -> None: ...
    async def mark_late(self, po_id: str) -> bool:
        """Flag a PO late once; False when it already was."""
        ...
    async def overdue(self, now: datetime) -> builtins.list[PurchaseOrder]:
        """Sent or partially received POs past their expected date, not yet flagged late."""
        ...
    async def open_lines(self) -> builtins.list[OpenLine]: ...
    async def add_receipt(self, receipt: Receipt) -> None: ...
    async def receipts(self, supplier: str) -> builtins.list[Receipt]: ...
    async def daily_sales(
        self, since: datetime, until: datetime, kinds: Sequence[str]
    ) -> dict[tuple[str, str], dict[str, int]]:
        """Units that left per (sku, location) per UTC day (ISO date) through movements of these kinds."""
        ...
    async def empty_days(self, since: datetime, until: datetime) -> dict[tuple[str, str], set[str]]:
        """Days (ISO dates) each (sku, location) started with nothing available: their sales are censored."""
        ...
    async def stockouts(self, sku: str, location: str, since: datetime) -> int:
        """Movements since `since` that took the row's available stock down to zero."""
        ...
    async def set_budget(self, budget: Budget, now: datetime) -> None: ...
    async def budgets(self) -> builtins.list[Budget]: ...
    async def get_budget(self, period: str, currency: str) -> Budget | None: ...
    async def committed_spend(self, since: datetime, until: datetime, currency: str) -> Decimal:
        """The total of purchase orders created in [since, until) in this currency, cancelled ones excepted."""
        ...
    async def add_run(self, run_id: str, ran_at: datetime, dry_run: bool, body: dict[str, Any]) -> None: ...
    async def list_runs(self, limit: int) -> builtins.list[dict[str, Any]]: ...


class Forecaster(Protocol):
    """Turns a daily demand history (oldest first) into a forecast with its holdout accuracy."""

    def forecast(self, history: Sequence[float], horizon: int) -> DemandForecast: ...
