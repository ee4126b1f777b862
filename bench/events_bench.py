"""End-to-end event latency on PostgreSQL: from a committed change to its delivery to a consumer.

For each bus and each write rate, on a fresh database:

  writers    `receive` use cases through Stockd.runner at a fixed rate (open loop: one task per change,
             started on schedule whether or not earlier ones finished), each with a unique reference
  relay      memory, rabbitmq: stockd's outbox relay in the writers' process, as `stockd serve` runs it
             (the commit rings its doorbell); rabbitmq-worker: a `stockd worker` process (it polls)
  consumer   memory: a subscriber on the in-process bus; rabbitmq*: an aio-pika consumer in a process of its
             own, on a quorum queue bound to stockd.events (publisher confirms on, persistent messages)

Latency = the instant the consumer gets the event minus the instant the write call returned (its commit done,
the caller answered), both read from CLOCK_MONOTONIC. The writers and an in-process relay share one event
loop, as the API and its relay do in `stockd serve`. Every scenario checks each change was delivered once.

    .venv/bin/python -m bench.events_bench
    .venv/bin/python bench/events_bench.py --rates 100,1000 --seconds 5 --buses rabbitmq
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import aio_pika
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from stockd.adapters.bus.rabbitmq import QueueSpec, declare_consumer_queue
from stockd.adapters.db import migrate
from stockd.adapters.db.engine import async_url
from stockd.adapters.db.outbox import backlog
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.domain.transfers import TransferLine
from stockd.entrypoints.workers.relay import run_relay
from stockd.service_layer import catalog, commands
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork

LOCATION = "WH-BENCH"
SKUS = tuple(f"BENCH-{i}" for i in range(16))  # spread over rows, as real traffic is: no single hot row
BUSES = ("memory", "rabbitmq", "rabbitmq-worker")


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    rates: tuple[int, ...]
    buses: tuple[str, ...]
    postgres_url: str
    rabbitmq_url: str
    batch_size: int
    worker_poll: float


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description="Commit-to-delivery latency of stockd events (PostgreSQL).")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds of writes per scenario")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of writes before, not measured (the relay connects to the broker then)")
    parser.add_argument("--rates", default="50,500", help="comma-separated writes per second")
    parser.add_argument("--buses", default=",".join(BUSES), help=f"comma-separated, of {', '.join(BUSES)}")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="admin URL; a bench database is created and dropped next to it")
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--batch-size", type=int, default=200, help="relay batch size")
    parser.add_argument("--worker-poll", type=float, default=0.01,
                        help="rabbitmq-worker: the worker's idle poll (it hears no doorbell from another process)")
    args = parser.parse_args(argv)
    rates = tuple(int(r) for r in args.rates.split(",") if r.strip())
    buses = tuple(b.strip() for b in args.buses.split(",") if b.strip())
    if not rates or min(rates) < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--rates needs positive integers and --seconds a positive number")
    if unknown := set(buses) - set(BUSES):
        parser.error(f"unknown bus(es): {', '.join(sorted(unknown))}")
    return Options(args.seconds, args.warmup, rates, buses, args.postgres_url, args.rabbitmq_url, args.batch_size,
                   args.worker_poll)


# ---------------------------------------------------------------------------- database


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new, migrated database, dropped afterwards whatever happens."""
    admin = create_async_engine(async_url(admin_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"stockd_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await migrate.upgrade_async(url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed(services: Stockd) -> None:
    async def run(uow: UnitOfWork) -> None:
        env = services.env
        await catalog.create_location(uow, env, SYSTEM,
                                      commands.CreateLocation(LOCATION, "Bench", LocationKind.WAREHOUSE))
        for sku in SKUS:
            await catalog.create_product(uow, env, SYSTEM,
                                         commands.CreateProduct(sku, sku, Decimal("1.00"), Decimal("2.00")))
        # The stock rows exist before the measured writes: concurrent first receipts of a row that does not
        # exist yet can race in the ledger (reported separately), which is not what this bench measures.
        await stock_uc.receive(uow, env, SYSTEM, commands.Receive(LOCATION, tuple(TransferLine(s, 1) for s in SKUS)))

    await services.runner.run(run)


# ---------------------------------------------------------------------------- measuring


@dataclass
class Timings:
    committed: dict[str, float] = field(default_factory=dict)  # reference -> write returned
    delivered: dict[str, float] = field(default_factory=dict)  # reference -> consumer got it
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    warmup: set[str] = field(default_factory=set)  # written, delivered, checked, but not in the percentiles

    def arrived(self, event: Mapping[str, Any]) -> None:
        reference = event["data"]["reference"]
        if not str(reference).startswith("bench-"):
            return  # the seed's
        if reference in self.delivered:
            self.duplicates += 1
        else:
            self.delivered[reference] = event.get("arrived") or time.monotonic()

    def latencies_ms(self) -> list[float]:
        return sorted(max(0.0, self.delivered[r] - t) * 1000 for r, t in self.committed.items()
                      if r in self.delivered and r not in self.warmup)


async def write_at_rate(services: Stockd, timings: Timings, rate: int, seconds: float, warmup: float) -> float:
    """Start one change every 1/rate s for warmup + seconds; returns the achieved changes per second."""

    async def change(n: int) -> None:
        reference = f"bench-{n}"
        cmd = commands.Receive(LOCATION, (TransferLine(SKUS[n % len(SKUS)], 1),), reference=reference)
        try:
            await services.runner.run(lambda uow: stock_uc.receive(uow, services.env, SYSTEM, cmd))
        except Exception as exc:
            timings.errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            return
        timings.committed[reference] = time.monotonic()

    started = time.monotonic()
    tasks = []
    timings.warmup.update(f"bench-{n}" for n in range(int(rate * warmup)))
    for n in range(int(rate * (warmup + seconds))):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(change(n)))
    await asyncio.gather(*tasks)
    return len(timings.committed) / (time.monotonic() - started)


@contextlib.asynccontextmanager
async def consumer(services: Stockd, bus: str, rabbitmq_url: str, timings: Timings) -> AsyncIterator[None]:
    if bus == "memory":
        assert services.bus is not None

        async def on_event(event: Mapping[str, Any]) -> None:
            timings.arrived(event)

        services.bus.subscribe("stock.#", on_event)
        yield
        return
    async with rabbit_consumer_process(rabbitmq_url, timings):
        yield


@contextlib.asynccontextmanager
async def rabbit_consumer_process(url: str, timings: Timings) -> AsyncIterator[None]:
    """The consumer runs in a process of its own, as a real one would, so it does not compete with the writers
    and the relay for this event loop. time.monotonic() is CLOCK_MONOTONIC, one clock for every process of
    the machine, so its arrival times compare with the writers' commit times."""
    spec = QueueSpec(f"stockd.bench.{uuid.uuid4().hex[:8]}", ("stock.#",), prefetch=500)
    connection = await aio_pika.connect(url, timeout=10)
    channel = await connection.channel()
    await declare_consumer_queue(channel, spec)  # before the first write: no event may find no queue
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=consume_in_child, args=(url, spec.name, child))
    process.start()
    try:
        await asyncio.to_thread(parent.recv)  # "ready"
        yield
        parent.send(set(timings.committed))
        for event in await asyncio.to_thread(parent.recv):
            timings.arrived(event)
    finally:
        await asyncio.to_thread(process.join, 30)
        for name in (spec.name, spec.dead_letter_queue):
            await channel.queue_delete(name, if_unused=False, if_empty=False)
        await connection.close()


def consume_in_child(url: str, queue_name: str, pipe: Connection) -> None:
    asyncio.run(_consume(url, queue_name, pipe))


async def _consume(url: str, queue_name: str, pipe: Connection) -> None:
    """Timestamp every event on arrival; once told which references to expect, send them back when all came."""
    arrived: list[dict[str, Any]] = []
    missing: set[str] | None = None  # unknown until the writers are done
    complete = asyncio.Event()
    connection = await aio_pika.connect(url, timeout=10)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=500)
    queue = await channel.get_queue(queue_name)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        event["arrived"] = time.monotonic()
        arrived.append(event)
        await message.ack()
        if missing is not None:
            missing.discard(event["data"]["reference"])
            if not missing:
                complete.set()

    tag = await queue.consume(on_message)
    pipe.send("ready")
    expected: set[str] = await asyncio.to_thread(pipe.recv)
    missing = expected - {e["data"]["reference"] for e in arrived}
    if not missing:
        complete.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(complete.wait(), timeout=30)
    await queue.cancel(tag)
    await connection.close()
    pipe.send(arrived)


async def wait_delivered(timings: Timings, grace: float = 30.0) -> None:
    """In-process deliveries; the consumer process waits for its own before it reports."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not set(timings.committed) - set(timings.delivered):
            return
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Result:
    bus: str
    rate: int
    achieved: float
    events: int
    measured: int
    delivered: int
    duplicates: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def passed(self) -> bool:
        return self.delivered == self.events and self.duplicates == 0 and self.errors == 0


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, on sorted values; NaN when empty."""
    return values[max(1, math.ceil(q * len(values))) - 1] if values else math.nan


async def run_scenario(bus: str, rate: int, opts: Options) -> Result:
    async with fresh_database(opts.postgres_url) as url:
        settings = Settings(database_url=url, bus_url="memory://" if bus == "memory" else opts.rabbitmq_url,
                            relay_batch_size=opts.batch_size, pool_size=20)
        services = bootstrap(settings)
        timings = Timings()
        try:
            await seed(services)
            async with consumer(services, bus, opts.rabbitmq_url, timings), relay(services, bus, url, opts):
                achieved = await write_at_rate(services, timings, rate, opts.seconds, opts.warmup)
                if bus == "memory":
                    await wait_delivered(timings)
        finally:
            await services.close()
    latencies = timings.latencies_ms()
    for error in timings.errors[:3]:
        print(f"  write failed: {error}")
    events, delivered = len(timings.committed), len(set(timings.committed) & set(timings.delivered))
    return Result(bus, rate, achieved, events, len(latencies), delivered, timings.duplicates,
                  len(timings.errors), percentile(latencies, 0.5), percentile(latencies, 0.99),
                  latencies[-1] if latencies else math.nan)


@contextlib.asynccontextmanager
async def relay(services: Stockd, bus: str, database_url: str, opts: Options) -> AsyncIterator[None]:
    """In this process, as `stockd serve` runs it; or a `stockd worker` process, as a deployment scales out."""
    if bus != "rabbitmq-worker":
        stop = asyncio.Event()
        task = asyncio.create_task(run_relay(services, stop))
        try:
            yield
            await drained(services)
        finally:
            stop.set()
            await task
        return
    env = {**os.environ, "STOCKD_DATABASE_URL": database_url, "STOCKD_BUS_URL": opts.rabbitmq_url,
           "STOCKD_RELAY_BATCH_SIZE": str(opts.batch_size), "STOCKD_LOG_LEVEL": "warning",
           "STOCKD_RELAY_POLL_INTERVAL_SECONDS": str(opts.worker_poll)}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "stockd.entrypoints.cli", "worker", env=env)
    try:
        await asyncio.sleep(2)  # imports and connects before the first write
        yield
        await drained(services)
    finally:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()


async def drained(services: Stockd, grace: float = 60.0) -> None:
    """Until the outbox is empty: stopping the relay earlier would leave the last changes unpublished."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not await backlog(services.engine):
            return
        await asyncio.sleep(0.05)


def table(results: list[Result]) -> str:
    head = ("bus", "rate/s", "achieved/s", "events", "delivered", "measured", "p50 ms", "p99 ms", "max ms", "check")
    rows = [head] + [
        (r.bus, str(r.rate), f"{r.achieved:.0f}", str(r.events), str(r.delivered), str(r.measured), f"{r.p50_ms:.1f}",
         f"{r.p99_ms:.1f}", f"{r.max_ms:.1f}", "ok" if r.passed else f"FAIL dup={r.duplicates} err={r.errors}")
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


async def main(opts: Options) -> int:
    results = []
    for bus in opts.buses:
        for rate in opts.rates:
            print(f"running {bus} at {rate} changes/s for {opts.seconds:g} s ...", flush=True)
            results.append(await run_scenario(bus, rate, opts))
    print()
    print(f"commit -> consumer latency on PostgreSQL; relay batch {opts.batch_size}; {opts.seconds:g} s measured "
          f"after {opts.warmup:g} s warmup; {os.cpu_count()} CPUs shared with PostgreSQL and RabbitMQ")
    print(table(results))
    return 0 if all(r.passed for r in results) else 1


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed, as `stockd serve` runs on it under uvicorn."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run() -> None:
    opts = parse_args()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        sys.exit(runner.run(main(opts)))


if __name__ == "__main__":
    run()
