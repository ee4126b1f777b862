"""Model-based test (TESTING.md): a Hypothesis state machine drives the real use cases against the real
database (SQLite and PostgreSQL) with an injected clock, and after every step compares the database with a
plain Python model of the five numbers, the ledger, the reservations and the transfers.

Hypothesis state machines are synchronous: each machine owns one event loop for its whole life and runs every
async step on it. Each example starts from an empty, migrated database.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import os
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from stockd.adapters.db.tables import movements, outbox, reservation_lines, reservations, transfers
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.errors import (
    IdempotencyKeyReusedError,
    InsufficientStockError,
    InvalidStateError,
    ReservationExpiredError,
    Shortfall,
    StockdError,
)
from stockd.domain.movements import AdjustReason
from stockd.domain.reservations import Line, Reservation, ReservationStatus
from stockd.domain.transfers import TransferLine, TransferStatus
from stockd.service_layer import reservations as uc
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.commands import Adjust, CreateTransfer, Receive, Reserve, ReturnStock
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import Actor, UnitOfWork
from stockd.service_layer.runner import Idempotency
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.databases import PostgresDatabase, SqliteTemplate
from tests.support.invariants import assert_invariants

T = TypeVar("T")
Key = tuple[str, str]
ACTOR = 8  # position of the actor in a ledger entry (Move.entry)

SKUS = ("SKU-A", "SKU-B")
LOCATIONS = ("WH-1", "WH-2")
KEYS = [(sku, loc) for sku in SKUS for loc in LOCATIONS]

BUYER = Actor("buyer", "channel")
CLERK = Actor("clerk", "operator")

ACTIVE, COMMITTED, SHIPPED, RELEASED, EXPIRED = (
    ReservationStatus.ACTIVE, ReservationStatus.COMMITTED, ReservationStatus.SHIPPED,
    ReservationStatus.RELEASED, ReservationStatus.EXPIRED,
)
# The event each movement kind publishes (DESIGN.md, Events), written out independently of the code.
EVENT_TYPE = {
    "received": "stock.received", "reserved": "stock.reserved", "released": "stock.released",
    "expired": "stock.expired", "committed": "stock.committed", "shipped": "stock.shipped",
    "adjusted": "stock.adjusted", "returned": "stock.returned", "transfer_out": "stock.transferred",
    "transfer_in": "stock.transferred", "transfer_received": "stock.received",
}

# Shrinking a failure replays hundreds of examples against a real database (minutes, not seconds), so it
# is off unless asked for: STOCKD_TEST_SHRINK=1 prints a minimal failing sequence instead of the first found.
SHRINK = os.environ.get("STOCKD_TEST_SHRINK") == "1"
MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=50,
    deadline=None,
    phases=[phase for phase in Phase if SHRINK or phase is not Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------------------------- the model


@dataclass
class Level:
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    in_transit: int = 0
    sequence: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.committed

    def is_valid(self) -> bool:
        return min(self.on_hand, self.reserved, self.committed, self.in_transit, self.available) >= 0

    def as_row(self) -> dict[str, int]:
        return {"on_hand": self.on_hand, "reserved": self.reserved, "committed": self.committed,
                "in_transit": self.in_transit, "sequence": self.sequence}


@dataclass(frozen=True)
class Move:
    """One expected ledger movement: its row, kind, deltas, and who/why."""

    key: Key
    kind: str
    quantity: int
    actor: str
    on_hand: int = 0
    reserved: int = 0
    committed: int = 0
    in_transit: int = 0
    reason: str | None = None
    reference: str | None = None

    def entry(self) -> tuple[Any, ...]:
        return (self.kind, self.quantity, self.on_hand, self.reserved, self.committed, self.in_transit,
                self.reason, self.reference, self.actor, EVENT_TYPE[self.kind])


@dataclass(frozen=True)
class Refusal:
    """The model refuses a change that would leave its row invalid: the shortfall the database must name."""

    key: Key
    requested: int
    available: int

    def shortfall(self) -> Shortfall:
        return Shortfall(self.key[0], self.key[1], self.requested, self.available)


@dataclass
class Hold:
    lines: dict[Key, int]
    status: ReservationStatus
    expires_at: datetime

    def is_due(self, now: datetime) -> bool:
        return self.status is ACTIVE and now >= self.expires_at


@dataclass
class Shipment:
    source: str
    destination: str
    lines: tuple[tuple[str, int], ...]
    status: TransferStatus


@dataclass
class Model:
    rows: dict[Key, Level] = field(default_factory=dict)
    ledger: dict[Key, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    holds: dict[str, Hold] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)

    def copy(self) -> Model:
        return copy.deepcopy(self)

    def available(self, key: Key) -> int:
        return self.rows.get(key, Level()).available

    def apply(self, moves: list[Move]) -> Refusal | None:
        """Apply in (sku, location) order (the documented lock order); stop at the first invalid row."""
        for m in sorted(moves, key=lambda m: m.key):
            row = self.rows.get(m.key, Level())
            after = Level(row.on_hand + m.on_hand, row.reserved + m.reserved, row.committed + m.committed,
                          row.in_transit + m.in_transit, row.sequence + 1)
            if not after.is_valid():
                return Refusal(m.key, m.quantity, row.available)
            self.rows[m.key] = after
            self.ledger[m.key].append(m.entry())
        return None

    def must_apply(self, moves: list[Move], what: str) -> None:
        refusal = self.apply(moves)
        assert refusal is None, f"model error: {what} cannot be refused, but {refusal}"

    def due(self, now: datetime, skus: set[str] | None = None) -> list[str]:
        """Active holds past their expiry (touching `skus` if given), in the sweeper's order."""
        found = [
            (hold.expires_at, hold_id) for hold_id, hold in self.holds.items()
            if hold.is_due(now) and (skus is None or any(sku in skus for sku, _ in hold.lines))
        ]
        return [hold_id for _, hold_id in sorted(found)]

    def settle(self, hold_id: str, target: ReservationStatus, actor: str) -> list[Move]:
        """The moves taking a hold to `target`, and its new status."""
        hold = self.holds[hold_id]
        moves = []
        for key, q in sorted(hold.lines.items()):
            if target is COMMITTED:
                moves.append(Move(key, "committed", q, actor, reserved=-q, committed=q, reference=hold_id))
            elif target in (RELEASED, EXPIRED) and hold.status is ACTIVE:
                moves.append(Move(key, target.value, q, actor, reserved=-q, reference=hold_id))
            elif target is RELEASED:
                moves.append(Move(key, "released", q, actor, committed=-q, reference=hold_id))
            elif target is SHIPPED and hold.status is ACTIVE:
                moves.append(Move(key, "shipped", q, actor, on_hand=-q, reserved=-q, reference=hold_id))
            elif target is SHIPPED:
                moves.append(Move(key, "shipped", q, actor, on_hand=-q, committed=-q, reference=hold_id))
            else:  # pragma: no cover - the rules only ask for legal transitions
                raise AssertionError(f"model error: {hold.status} -> {target}")
        hold.status = target
        return moves

    def expire(self, hold_ids: list[str]) -> list[Move]:
        return [m for hold_id in hold_ids for m in self.settle(hold_id, EXPIRED, SYSTEM.name)]


# ---------------------------------------------------------------------------------------- the machine


def sequential_ids() -> Callable[[], str]:
    """Deterministic ids, so a failing example replays identically."""
    counter = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(counter)))


reserve_lines = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 4)), min_size=1, max_size=3
)
stock_lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 10)), min_size=1, max_size=2)
transfer_lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=2)
adjustments = st.one_of(
    st.tuples(st.sampled_from([AdjustReason.DAMAGED, AdjustReason.SHRINKAGE]), st.integers(-8, -1)),
    st.tuples(st.just(AdjustReason.FOUND), st.integers(1, 8)),
    st.tuples(st.just(AdjustReason.CORRECTION), st.integers(-8, 8).filter(bool)),
)


class StockMachine(RuleBasedStateMachine):
    """Use cases against one fresh database; `fresh_url` gives one per example."""

    reservation_ids = Bundle("reservation_ids")
    transfer_ids = Bundle("transfer_ids")

    def __init__(self, fresh_url: Callable[[], str]) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.services: Stockd = bootstrap(Settings(database_url=fresh_url(), pool_size=5), clock=self.clock,
                                          new_id=sequential_ids())
        self.model = Model()
        self.keys: dict[str, tuple[Idempotency, Reserve, dict[str, Any]]] = {}

    def teardown(self) -> None:
        try:
            self.loop.run_until_complete(self.services.close())
        finally:
            self.loop.close()

    # ------------------------------------------------------------------------------------------ helpers

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def run(self, action: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """One use case, one transaction, on the machine's loop."""
        return self.loop.run_until_complete(self.services.runner.run(action))

    def attempt(self, action: Callable[[UnitOfWork], Awaitable[T]]) -> T | StockdError:
        return self.attempt_call(lambda: self.services.runner.run(action))

    def attempt_call(self, call: Callable[[], Awaitable[T]]) -> T | StockdError:
        """A call that may be refused: the domain error is returned for the model to judge."""
        try:
            return self.loop.run_until_complete(call())
        except StockdError as exc:
            return exc

    @staticmethod
    def expect_error(outcome: object, expected: type[StockdError], what: str) -> None:
        assert type(outcome) is expected, f"{what}: expected {expected.__name__}, got {outcome!r}"

    def expect_refusal(self, outcome: object, refusal: Refusal | None, what: str) -> bool:
        """True if the use case was refused, which the model must have predicted with the same shortfall."""
        if refusal is None:
            assert not isinstance(outcome, StockdError), f"{what}: the model expected success, got {outcome!r}"
            return False
        assert isinstance(outcome, InsufficientStockError), (
            f"{what}: the model expected InsufficientStockError({refusal}), got {outcome!r}"
        )
        assert outcome.shortfalls == [refusal.shortfall()], f"{what}: wrong shortfall {outcome.shortfalls}"
        return True

    def check_exact_expiry(self, outcome: object, moves: list[Move], skus: set[str], what: str) -> None:
        """DESIGN.md: 'a reservation past its expires_at no longer counts, even before the sweeper runs'.
        A decrement refused only because of holds that have already expired breaks that rule."""
        if not isinstance(outcome, InsufficientStockError):
            return
        exact = self.model.copy()
        stale = exact.due(self.now, skus)
        exact.must_apply(exact.expire(stale), "expiry")
        available = {k: exact.available(k) for k in KEYS}
        assert exact.apply(moves) is not None, (
            f"BUG (exact expiry): {what} was refused with {outcome.shortfalls}, but once the holds already past "
            f"their expiry ({stale}) stop counting there is enough available: {available}. The use case does "
            "not claim expired holds before its guarded UPDATE, so unswept expired reservations still block it."
        )

    # ------------------------------------------------------------------------------------------ rules

    @initialize(quantities=st.lists(st.integers(0, 10), min_size=len(KEYS), max_size=len(KEYS)))
    def seed_catalog(self, quantities: list[int]) -> None:
        stock = dict(zip(KEYS, quantities, strict=True))
        self.loop.run_until_complete(seed(self.services, stock))
        for key, q in stock.items():
            if q:
                self.model.must_apply([Move(key, "received", q, SYSTEM.name, on_hand=q)], "seed")

    @rule(target=reservation_ids, lines=reserve_lines, ttl=st.integers(1, 60), keyed=st.booleans())
    def reserve(self, lines: list[tuple[str, str, int]], ttl: int, keyed: bool) -> object:
        """Reserve, half the time with an idempotency key (as the API does), its answer kept for replays."""
        cmd = Reserve(tuple(Line(*ln) for ln in lines), timedelta(seconds=ttl))
        fingerprint = hashlib.sha256(f"{lines}/{ttl}".encode()).hexdigest()  # as the API's digest of the body
        key = Idempotency(BUYER.name, f"key-{len(self.keys) + 1}", fingerprint)
        outcome = self.attempt_call(self.reserve_call(cmd, key if keyed else None))
        merged: dict[Key, int] = defaultdict(int)
        for sku, loc, q in lines:
            merged[(sku, loc)] += q
        hold_id = outcome["id"] if isinstance(outcome, dict) else "refused"
        trial = self.model.copy()
        # Holds past their expiry on the order's SKUs stop counting now, not when the sweeper comes by.
        stale = trial.due(self.now, {sku for sku, _ in merged})
        moves = trial.expire(stale)
        moves += [Move(key, "reserved", q, BUYER.name, reserved=q, reference=hold_id)
                  for key, q in sorted(merged.items())]
        if self.expect_refusal(outcome, trial.apply(moves), f"reserve {dict(merged)}"):
            return multiple()
        assert isinstance(outcome, dict)
        assert outcome["status"] == "active", outcome
        assert outcome["expires_at"] == (self.now + timedelta(seconds=ttl)).isoformat(), outcome
        assert outcome["lines"] == [[*k, q] for k, q in sorted(merged.items())], f"lines not merged: {outcome}"
        if keyed:
            self.keys[key.key] = (key, cmd, outcome)
        trial.holds[hold_id] = Hold(dict(merged), ACTIVE, self.now + timedelta(seconds=ttl))
        self.model = trial
        return hold_id

    def reserve_call(
        self, cmd: Reserve, key: Idempotency | None, replayed: bool = False
    ) -> Callable[[], Awaitable[dict[str, Any]]]:
        """The reservation as a plain answer: straight from the use case, or through an idempotent write."""

        def render(r: Reservation) -> dict[str, Any]:
            return {"id": r.id, "status": r.status.value, "expires_at": r.expires_at.isoformat(),
                    "lines": [[ln.sku, ln.location, ln.quantity] for ln in r.lines]}

        async def plain() -> dict[str, Any]:
            return render(await self.services.runner.run(lambda uow: uc.reserve(uow, self.services.env, BUYER, cmd)))

        if key is None:
            return plain

        async def keyed() -> dict[str, Any]:
            result = await self.services.runner.write(
                lambda uow: uc.reserve(uow, self.services.env, BUYER, cmd), render, 201, key
            )
            assert result.replayed is replayed and result.status == 201, f"{key}: {result}"
            return result.body

        return keyed

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data(), same_body=st.booleans())
    def replay_reserve(self, data: st.DataObject, same_body: bool) -> None:
        """A replayed key returns the first answer and changes nothing; with another body it is refused."""
        key, cmd, first = self.keys[data.draw(st.sampled_from(sorted(self.keys)), label="idempotency key")]
        if same_body:
            outcome = self.attempt_call(self.reserve_call(cmd, key, replayed=True))
            assert outcome == first, f"replay of {key.key} answered {outcome!r}, first answer {first!r}"
        else:
            other = Idempotency(key.scope, key.key, hashlib.sha256(b"another body").hexdigest())
            outcome = self.attempt_call(self.reserve_call(cmd, other))
            self.expect_error(outcome, IdempotencyKeyReusedError, f"replay_reserve {key.key} with another body")

    @rule(hold_id=reservation_ids)
    def read_reservation(self, hold_id: str) -> None:
        """Reading a reservation past its expiry releases it first."""
        found = self.run(lambda uow: uc.get_reservation(uow, self.services.env, BUYER, hold_id))
        if self.model.holds[hold_id].is_due(self.now):
            self.model.must_apply(self.model.expire([hold_id]), f"read {hold_id}")
        assert found.status is self.model.holds[hold_id].status, f"read {hold_id}: {found.status}"

    @rule(hold_id=reservation_ids)
    def commit(self, hold_id: str) -> None:
        outcome = self.attempt(lambda uow: uc.commit(uow, self.services.env, BUYER, hold_id))
        hold = self.model.holds[hold_id]
        what = f"commit {hold_id} ({hold.status.value}, expires {hold.expires_at}, now {self.now})"
        if hold.status is EXPIRED or hold.is_due(self.now):
            self.expect_error(outcome, ReservationExpiredError, what)
        elif hold.status is ACTIVE:
            assert not isinstance(outcome, StockdError), f"{what}: {outcome!r}"
            assert outcome.status is COMMITTED
            self.model.must_apply(self.model.settle(hold_id, COMMITTED, BUYER.name), what)
        else:
            self.expect_error(outcome, InvalidStateError, what)

    @rule(hold_id=reservation_ids)
    def ship(self, hold_id: str) -> None:
        outcome = self.attempt(lambda uow: uc.ship(uow, self.services.env, BUYER, hold_id))
        hold = self.model.holds[hold_id]
        what = f"ship {hold_id} ({hold.status.value}, expires {hold.expires_at}, now {self.now})"
        if hold.status is EXPIRED or hold.is_due(self.now):
            self.expect_error(outcome, ReservationExpiredError, what)
        elif hold.status in (ACTIVE, COMMITTED):
            assert not isinstance(outcome, StockdError), f"{what}: {outcome!r}"
            assert outcome.status is SHIPPED
            self.model.must_apply(self.model.settle(hold_id, SHIPPED, BUYER.name), what)
        else:
            self.expect_error(outcome, InvalidStateError, what)

    @rule(hold_id=reservation_ids)
    def release(self, hold_id: str) -> None:
        outcome = self.attempt(lambda uow: uc.release(uow, self.services.env, BUYER, hold_id))
        hold = self.model.holds[hold_id]
        what = f"release {hold_id} ({hold.status.value}, expires {hold.expires_at}, now {self.now})"
        if hold.is_due(self.now):
            # Releasing a hold that has already expired records the expiry, not a release.
            assert not isinstance(outcome, StockdError), f"{what}: {outcome!r}"
            assert outcome.status is EXPIRED, f"{what}: answered {outcome.status}"
            self.model.must_apply(self.model.expire([hold_id]), what)
        elif hold.status in (ACTIVE, COMMITTED):
            assert not isinstance(outcome, StockdError), f"{what}: {outcome!r}"
            assert outcome.status is RELEASED
            self.model.must_apply(self.model.settle(hold_id, RELEASED, BUYER.name), what)
        else:
            self.expect_error(outcome, InvalidStateError, what)

    def holds_active(self) -> bool:
        return any(hold.status is ACTIVE for hold in self.model.holds.values())

    @precondition(holds_active)  # time only matters to holds; otherwise this rule would crowd the others out
    @rule(seconds=st.integers(1, 60))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    def next_expiry(self) -> datetime | None:
        future = [h.expires_at for h in self.model.holds.values() if h.status is ACTIVE and h.expires_at > self.now]
        return min(future, default=None)

    @precondition(lambda self: self.next_expiry() is not None)
    @rule(microseconds=st.sampled_from([-1, 0, 1]))
    def advance_to_next_expiry(self, microseconds: int) -> None:
        """Expiry is exact: just before, at and just after expires_at are three different answers."""
        expiry = self.next_expiry()
        assert expiry is not None
        self.clock.current = expiry + timedelta(microseconds=microseconds)

    @precondition(holds_active)
    @rule(skus=st.sampled_from([None, ["SKU-A"], ["SKU-B"]]))
    def expire_due(self, skus: list[str] | None) -> None:
        """The sweeper (all SKUs), or the expiry a read of some SKUs runs first."""
        released = self.run(lambda uow: uc.expire_due(uow, self.services.env, skus))
        due = self.model.due(self.now, None if skus is None else set(skus))
        assert released == len(due), f"the sweeper released {released}, the model expected {due}"
        self.model.must_apply(self.model.expire(due), "expire_due")

    @rule(sku=st.sampled_from(SKUS))
    def read_stock(self, sku: str) -> None:
        """A read gives back what has expired on that SKU, and shows the five numbers."""
        totals = self.run(lambda uow: stock_uc.stock_of_sku(uow, self.services.env, CLERK, sku))
        self.model.must_apply(self.model.expire(self.model.due(self.now, {sku})), f"read {sku}")
        levels = {lvl.location: (lvl.on_hand, lvl.reserved, lvl.committed, lvl.in_transit, lvl.available)
                  for lvl in totals.locations}
        expected = {loc: (r.on_hand, r.reserved, r.committed, r.in_transit, r.available)
                    for (s, loc), r in self.model.rows.items() if s == sku}
        assert levels == expected, f"stock of {sku}: read {levels}, model {expected}"
        assert totals.available == sum(v[4] for v in expected.values())

    @rule(location=st.sampled_from(LOCATIONS), lines=stock_lines)
    def receive(self, location: str, lines: list[tuple[str, int]]) -> None:
        cmd = Receive(location, tuple(TransferLine(sku, q) for sku, q in lines))
        levels = self.run(lambda uow: stock_uc.receive(uow, self.services.env, CLERK, cmd))
        self.model.must_apply(
            [Move((sku, location), "received", q, CLERK.name, on_hand=q) for sku, q in lines], "receive"
        )
        for level in levels:
            assert level.on_hand == self.model.rows[(level.sku, level.location)].on_hand

    @rule(key=st.sampled_from(KEYS), quantity=st.integers(1, 5))
    def return_stock(self, key: Key, quantity: int) -> None:
        cmd = ReturnStock(key[0], key[1], quantity)
        self.run(lambda uow: stock_uc.return_stock(uow, self.services.env, CLERK, cmd))
        self.model.must_apply(
            [Move(key, "returned", quantity, CLERK.name, on_hand=quantity, reason="return")], "return"
        )

    @rule(key=st.sampled_from(KEYS), adjustment=adjustments)
    def adjust(self, key: Key, adjustment: tuple[AdjustReason, int]) -> None:
        reason, quantity = adjustment
        self._adjust(key, quantity, reason)

    @rule(data=st.data(), reason=st.sampled_from([AdjustReason.DAMAGED, AdjustReason.SHRINKAGE]))
    def write_off_available(self, data: st.DataObject, reason: AdjustReason) -> None:
        """Remove exactly what is available (one more if none is), preferably where a hold has expired
        unswept: the boundary of every decrement, where stale holds must not count."""
        stale = sorted({key for hold_id in self.model.due(self.now) for key in self.model.holds[hold_id].lines})
        key = data.draw(st.sampled_from(stale or KEYS), label="key")
        exact = self.model.copy()
        exact.expire(exact.due(self.now, {key[0]}))
        self._adjust(key, -max(1, exact.available(key)), reason)

    def _adjust(self, key: Key, quantity: int, reason: AdjustReason) -> None:
        cmd = Adjust(key[0], key[1], quantity, reason)
        outcome = self.attempt(lambda uow: stock_uc.adjust(uow, self.services.env, CLERK, cmd))
        what = f"adjust {key} by {quantity} ({reason.value}) at {self.now}"
        moves = [Move(key, "adjusted", abs(quantity), CLERK.name, on_hand=quantity, reason=reason.value)]
        self.check_exact_expiry(outcome, moves, {key[0]}, what)
        trial = self.model.copy()
        if quantity < 0:  # a write-off first gives back the holds already past their expiry
            trial.must_apply(trial.expire(trial.due(self.now, {key[0]})), "expiry")
        if not self.expect_refusal(outcome, trial.apply(moves), what):
            self.model = trial

    @rule(target=transfer_ids, source=st.sampled_from(LOCATIONS), lines=transfer_lines)
    def transfer(self, source: str, lines: list[tuple[str, int]]) -> object:
        destination = next(loc for loc in LOCATIONS if loc != source)
        cmd = CreateTransfer(source, destination, tuple(TransferLine(sku, q) for sku, q in lines))
        outcome = self.attempt(lambda uow: stock_uc.create_transfer(uow, self.services.env, CLERK, cmd))
        what = f"transfer {lines} from {source} at {self.now}"
        transfer_id = outcome.id if not isinstance(outcome, StockdError) else "refused"
        moves = []
        for sku, q in lines:
            moves.append(Move((sku, source), "transfer_out", q, CLERK.name, on_hand=-q, reference=transfer_id))
            moves.append(Move((sku, destination), "transfer_in", q, CLERK.name, in_transit=q,
                              reference=transfer_id))
        self.check_exact_expiry(outcome, moves, {sku for sku, _ in lines}, what)
        trial = self.model.copy()
        trial.must_apply(trial.expire(trial.due(self.now, {sku for sku, _ in lines})), "expiry")
        if self.expect_refusal(outcome, trial.apply(moves), what):
            return multiple()
        trial.shipments[transfer_id] = Shipment(source, destination, tuple(lines), TransferStatus.IN_TRANSIT)
        self.model = trial
        return transfer_id

    @rule(transfer_id=transfer_ids)
    def receive_transfer(self, transfer_id: str) -> None:
        outcome = self.attempt(lambda uow: stock_uc.receive_transfer(uow, self.services.env, CLERK, transfer_id))
        shipment = self.model.shipments[transfer_id]
        what = f"receive_transfer {transfer_id} ({shipment.status.value})"
        if shipment.status is not TransferStatus.IN_TRANSIT:
            self.expect_error(outcome, InvalidStateError, what)
            return
        assert not isinstance(outcome, StockdError), f"{what}: {outcome!r}"
        assert outcome.status is TransferStatus.RECEIVED
        self.model.must_apply(
            [Move((sku, shipment.destination), "transfer_received", q, CLERK.name, on_hand=q, in_transit=-q,
                  reference=transfer_id) for sku, q in shipment.lines],
            what,
        )
        shipment.status = TransferStatus.RECEIVED

    # ------------------------------------------------------------------------------------------ checks

    @invariant()
    def database_equals_model(self) -> None:
        rows = self.loop.run_until_complete(assert_invariants(self.services))
        expected = {key: level.as_row() for key, level in self.model.rows.items()}
        assert rows == expected, f"stock rows differ from the model:\n db    {rows}\n model {expected}"
        snapshot = self.loop.run_until_complete(self._snapshot())
        holds = {hold_id: (hold.status.value, hold.expires_at, hold.lines)
                 for hold_id, hold in self.model.holds.items()}
        assert snapshot["holds"] == holds, f"reservations differ:\n db    {snapshot['holds']}\n model {holds}"
        shipments = {t_id: (s.status.value, s.source, s.destination, [list(ln) for ln in s.lines])
                     for t_id, s in self.model.shipments.items()}
        assert snapshot["shipments"] == shipments, f"transfers differ: {snapshot['shipments']} != {shipments}"
        ledger = {key: entries for key, entries in self.model.ledger.items() if entries}
        without_actor = {key: [e[:ACTOR] + e[ACTOR + 1:] for e in entries] for key, entries in ledger.items()}
        db_without_actor = {key: [e[:ACTOR] + e[ACTOR + 1:] for e in entries]
                            for key, entries in snapshot["ledger"].items()}
        assert db_without_actor == without_actor, f"ledger differs:\n db    {snapshot['ledger']}\n model {ledger}"
        self.check_audit(snapshot["ledger"], ledger)

    def check_audit(self, db: dict[Key, list[tuple[Any, ...]]], model: dict[Key, list[tuple[Any, ...]]]) -> None:
        """Each movement names who caused it; an expiry is the system's doing, whoever's request noticed it
        (release() and expire_due() record it so)."""
        for key, entries in model.items():
            for seq, (found, wanted) in enumerate(zip(db[key], entries, strict=True), start=1):
                known = (
                    " reserve() records the expiries it claims (other orders' holds past their expiry) under "
                    "the reserving actor, where the sweeper, reads and release() record them as the system."
                    if found[0] == "expired" else ""
                )
                assert found[ACTOR] == wanted[ACTOR], (
                    f"BUG (audit): movement {seq} of {key} ({found[0]} of {found[7]}) is recorded as done by "
                    f"{found[ACTOR]!r}, expected {wanted[ACTOR]!r}.{known}"
                )

    async def _snapshot(self) -> dict[str, Any]:
        uow = self.services.uow()
        assert isinstance(uow, SqlUnitOfWork)
        async with uow:
            conn = uow.connection
            lines: dict[str, dict[Key, int]] = defaultdict(dict)
            for ln in await conn.execute(select(reservation_lines)):
                lines[ln.reservation_id][(ln.sku, ln.location)] = ln.quantity
            holds = {r.id: (r.status, r.expires_at, lines[r.id]) for r in await conn.execute(select(reservations))}
            shipments = {t.id: (t.status, t.source, t.destination, [[ln["sku"], ln["quantity"]] for ln in t.lines])
                         for t in await conn.execute(select(transfers))}
            types = {e.event_id: e.type for e in await conn.execute(select(outbox))}
            ledger: dict[Key, list[tuple[Any, ...]]] = defaultdict(list)
            query = select(movements).order_by(movements.c.sku, movements.c.location, movements.c.sequence)
            for m in await conn.execute(query):
                ledger[(m.sku, m.location)].append(
                    (m.kind, m.quantity, m.d_on_hand, m.d_reserved, m.d_committed, m.d_in_transit, m.reason,
                     m.reference, m.actor, types.get(m.event_id))
                )
        return {"holds": holds, "shipments": shipments, "ledger": dict(ledger)}


# ---------------------------------------------------------------------------------------------- the test


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A function giving an empty, migrated database per example, on each database in turn."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        counter = itertools.count(1)

        def fresh_sqlite() -> str:
            directory = tmp_path / f"example-{next(counter)}"
            directory.mkdir()
            return template.fresh(directory)

        return fresh_sqlite
    pg: PostgresDatabase = request.getfixturevalue("postgres")

    def fresh_postgres() -> str:
        pg.truncate()
        return pg.url

    return fresh_postgres


def test_use_cases_against_the_model(fresh_database: Callable[[], str]) -> None:
    run_state_machine_as_test(lambda: StockMachine(fresh_database), settings=MACHINE_SETTINGS)
