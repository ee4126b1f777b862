"""The outbox relay and the inbox on the real databases: every committed change is published, none twice by
design, none skipped; consumers apply each event once, in order."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from stockd.adapters.bus.in_memory import InMemoryBus
from stockd.adapters.db.outbox import SqlOutboxRelay, backlog
from stockd.adapters.db.tables import movements, outbox
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.errors import InsufficientStockError
from stockd.domain.movements import AdjustReason
from stockd.domain.reservations import Line
from stockd.domain.transfers import TransferLine
from stockd.entrypoints.workers.relay import run_relay
from stockd.service_layer import reservations as reservation_uc
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.commands import Adjust, CreateTransfer, Receive, Reserve
from stockd.service_layer.consumers import apply_once
from stockd.service_layer.ports import Actor, InboxUnitOfWork
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.databases import PostgresDatabase
from tests.support.invariants import assert_invariants

CLERK = Actor("clerk", "admin")


class Recorder:
    """A subscriber that remembers what it got, in order."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    async def __call__(self, event: Mapping[str, Any]) -> None:
        self.events.append(event)


class RecordingPublisher:
    """Counts every publish of every event id; slow on purpose, so two relays overlap while publishing."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.published: Counter[str] = Counter()

    async def publish(self, events: Sequence[dict[str, Any]]) -> None:
        await asyncio.sleep(self.delay)
        self.published.update(e["id"] for e in events)


class FlakyPublisher(RecordingPublisher):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, events: Sequence[dict[str, Any]]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        await super().publish(events)


def bus_of(services: Stockd) -> InMemoryBus:
    assert services.bus is not None, "the tests' default is the in-process bus"
    return services.bus


async def drain(relay: SqlOutboxRelay) -> int:
    total = 0
    while published := await relay.relay_once():
        total += published
    return total


async def write(services: Stockd, action: Any) -> Any:
    return await services.runner.run(lambda uow: action(uow, services.env, CLERK))


async def outbox_ids(services: Stockd) -> list[str]:
    async with services.engine.connect() as conn:
        return list((await conn.execute(select(outbox.c.event_id).order_by(outbox.c.id))).scalars())


async def a_day_of_changes(services: Stockd) -> None:
    """Receipts, a reservation committed and shipped, one released, an adjustment, a transfer, a refusal."""
    await seed(services, {("TEE", "WH-A"): 20, ("MUG", "WH-A"): 5, ("TEE", "WH-B"): 0})

    def hold(*lines: Line) -> Reserve:
        return Reserve(lines, timedelta(minutes=30))

    shipped = await write(services, lambda u, e, a: reservation_uc.reserve(u, e, a, hold(Line("TEE", "WH-A", 3),
                                                                                           Line("MUG", "WH-A", 1))))
    await write(services, lambda u, e, a: reservation_uc.commit(u, e, a, shipped.id))
    await write(services, lambda u, e, a: reservation_uc.ship(u, e, a, shipped.id))
    released = await write(services, lambda u, e, a: reservation_uc.reserve(u, e, a, hold(Line("MUG", "WH-A", 2))))
    await write(services, lambda u, e, a: reservation_uc.release(u, e, a, released.id))
    await write(services, lambda u, e, a: stock_uc.adjust(u, e, a, Adjust("TEE", "WH-A", -2, AdjustReason.DAMAGED)))
    await write(services, lambda u, e, a: stock_uc.create_transfer(
        u, e, a, CreateTransfer("WH-A", "WH-B", (TransferLine("TEE", 4),))))
    await write(services, lambda u, e, a: stock_uc.receive(u, e, a, Receive("WH-A", (TransferLine("MUG", 7),))))
    with pytest.raises(InsufficientStockError):  # refused: rolled back whole, so no event either
        await write(services, lambda u, e, a: reservation_uc.reserve(u, e, a, hold(Line("MUG", "WH-A", 999))))


async def test_every_committed_change_is_delivered_to_an_in_memory_subscriber(services: Stockd) -> None:
    everything, tees = Recorder(), Recorder()
    bus_of(services).subscribe("#", everything)
    bus_of(services).subscribe("stock.*.*.TEE", tees)
    await a_day_of_changes(services)

    assert await drain(services.relay()) == len(await outbox_ids(services))
    async with services.engine.connect() as conn:
        moved = set((await conn.execute(select(movements.c.event_id))).scalars())
    delivered = [e["id"] for e in everything.events]
    assert delivered == await outbox_ids(services), "each event once, in outbox order"
    assert set(delivered) == moved, "every ledger movement has its event, and nothing else"
    assert {e["sku"] for e in tees.events} == {"TEE"} and len(tees.events) == delivered_for(everything, "TEE")
    per_row: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in everything.events:
        per_row[(event["sku"], event["location"])].append(event["sequence"])
    assert all(seqs == sorted(seqs) for seqs in per_row.values()), "per-(sku, location) order held"
    assert await backlog(services.engine) == 0 and await drain(services.relay()) == 0
    await assert_invariants(services)


def delivered_for(recorder: Recorder, sku: str) -> int:
    return sum(1 for e in recorder.events if e["sku"] == sku)


async def test_a_commit_wakes_the_in_process_relay_within_milliseconds(database_url: str, clock: FakeClock) -> None:
    # A poll interval of a minute: only the doorbell rung by the commit can explain a fast delivery.
    settings = Settings(database_url=database_url, relay_poll_interval_seconds=60)
    services = bootstrap(settings, clock=clock)
    arrived = asyncio.Event()
    bus_of(services).subscribe("stock.received.#", lambda _e: _set(arrived))
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(services, stop))
    try:
        await asyncio.sleep(0.1)  # the relay has found the outbox empty and gone to sleep
        started = time.perf_counter()
        await seed(services, {("FAST", "WH-A"): 1})
        await asyncio.wait_for(arrived.wait(), timeout=5)
        assert time.perf_counter() - started < 1.0
    finally:
        stop.set()
        await relay
        await services.close()


async def _set(event: asyncio.Event) -> None:
    event.set()


async def test_a_refused_publish_rolls_back_and_is_retried(services: Stockd) -> None:
    await seed(services, {("SKU", "WH-A"): 3})
    flaky = FlakyPublisher(failures=2)
    relay = SqlOutboxRelay(services.engine, flaky, services.env.clock, batch_size=10)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await relay.relay_once()
        assert await backlog(services.engine) == 1, "a failed publish leaves the event unpublished"
    assert await relay.relay_once() == 1
    assert await backlog(services.engine) == 0 and list(flaky.published.values()) == [1]
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(outbox.c.attempts))).scalar_one() == 3


@pytest.fixture
async def pg_services(postgres: PostgresDatabase, clock: FakeClock) -> AsyncIterator[Stockd]:
    postgres.truncate()
    wired = bootstrap(Settings(database_url=postgres.url), clock=clock)
    yield wired
    await wired.close()


async def test_two_relays_at_once_never_publish_an_event_twice(pg_services: Stockd, clock: FakeClock) -> None:
    await seed(pg_services, {(f"SKU-{i}", "WH-A"): 0 for i in range(8)})
    publishers = [RecordingPublisher(delay=0.005), RecordingPublisher(delay=0.005)]
    # Two engines: two pools, as two relay processes would have.
    settings = Settings(database_url=pg_services.settings.database_url, relay_batch_size=10,
                        relay_poll_interval_seconds=0.01)
    relays = [bootstrap(settings, clock=clock, publisher=p) for p in publishers]
    stop = asyncio.Event()
    running = [asyncio.create_task(run_relay(r, stop)) for r in relays]
    try:
        await asyncio.gather(*(receive_many(pg_services, f"SKU-{i}", 40) for i in range(8)))
        await wait_until(lambda: backlog(pg_services.engine), 0)
    finally:
        stop.set()
        await asyncio.gather(*running)
        for r in relays:
            await r.close()
    ids = await outbox_ids(pg_services)
    first, second = (p.published for p in publishers)
    assert len(ids) == 8 * 40 and first and second, "both relays took part"
    assert set(first + second) == set(ids), "every event published"
    twice = [i for i, n in (first + second).items() if n > 1]
    assert twice == [], f"{len(twice)} events published more than once"


async def receive_many(services: Stockd, sku: str, times: int) -> None:
    for _ in range(times):
        await write(services, lambda u, e, a: stock_uc.receive(u, e, a, Receive("WH-A", (TransferLine(sku, 1),))))


async def wait_until(probe: Any, expected: object, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while (value := await probe()) != expected:
        assert time.monotonic() < deadline, f"still {value}, expected {expected}"
        await asyncio.sleep(0.02)


async def test_an_event_with_a_lower_id_that_commits_later_is_still_published(pg_services: Stockd) -> None:
    await seed(pg_services, {("SLOW", "WH-A"): 0, ("QUICK", "WH-A"): 0})
    publisher = RecordingPublisher()
    relay = SqlOutboxRelay(pg_services.engine, publisher, pg_services.env.clock, batch_size=100)
    await drain(relay)
    slow = pg_services.uow()
    async with slow:  # takes its outbox id first, commits last
        await stock_uc.receive(slow, pg_services.env, CLERK, Receive("WH-A", (TransferLine("SLOW", 1),)))
        await receive_many(pg_services, "QUICK", 1)
        assert await drain(relay) == 1, "the later id, committed, is published"
        await slow.commit()
    assert await drain(relay) == 1, "the lower id, committed after it, is published too"
    async with pg_services.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.id, outbox.c.sku).order_by(outbox.c.id))).all()
    assert [r.sku for r in rows[-2:]] == ["SLOW", "QUICK"], "the scenario really had the ids out of commit order"
    assert set(publisher.published) == set(await outbox_ids(pg_services))


def event(event_id: str, sequence: int | None, sku: str | None = "SKU",
          location: str | None = "WH-A") -> dict[str, Any]:
    return {"id": event_id, "type": "stock.received", "sku": sku, "location": location, "sequence": sequence,
            "data": {}}


async def test_the_inbox_applies_each_event_once_and_never_a_stale_one(services: Stockd) -> None:
    applied: list[str] = []

    async def apply(uow: InboxUnitOfWork, e: dict[str, Any]) -> None:
        applied.append(e["id"])

    async def handle(e: dict[str, Any], consumer: str = "projector") -> bool:
        return await apply_once(services.consumer_uow, services.env.clock, consumer, e, apply)

    assert await handle(event("e2", 2))
    assert not await handle(event("e2", 2)), "a redelivery is dropped"
    assert not await handle(event("e1", 1)), "an older sequence of the same row arriving late is stale"
    assert await handle(event("e3", 3))
    assert await handle(event("x1", 1, sku="OTHER")), "sequences are per (sku, location)"
    assert await handle(event("p1", None, sku=None, location=None)), "events of no row are only deduplicated"
    assert not await handle(event("p1", None, sku=None, location=None))
    assert await handle(event("e2", 2), consumer="mailer"), "each consumer has its own inbox"
    assert applied == ["e2", "e3", "x1", "p1", "e2"]


async def test_a_consumer_that_fails_leaves_no_inbox_row_and_gets_the_event_again(services: Stockd) -> None:
    async def broken(uow: InboxUnitOfWork, e: dict[str, Any]) -> None:
        raise RuntimeError("projection failed")

    async def fine(uow: InboxUnitOfWork, e: dict[str, Any]) -> None:
        pass

    with pytest.raises(RuntimeError):
        await apply_once(services.consumer_uow, services.env.clock, "projector", event("e1", 1), broken)
    assert await apply_once(services.consumer_uow, services.env.clock, "projector", event("e1", 1), fine)


async def test_concurrent_deliveries_of_one_event_apply_it_once(services: Stockd) -> None:
    applied: list[str] = []

    async def apply(uow: InboxUnitOfWork, e: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # hold the transaction open while the twin arrives
        applied.append(e["id"])

    async def handle() -> bool:
        return await apply_once(services.consumer_uow, services.env.clock, "projector", event("e1", 1), apply)

    results = await asyncio.gather(*(handle() for _ in range(5)))
    assert results.count(True) == 1 and applied == ["e1"]
