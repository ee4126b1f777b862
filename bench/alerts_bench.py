"""What the alert and webhook consumers cost, and how alert deduplication holds under racing triggers.

1. dedupe: N concurrent raise_alert calls with one key, each its own transaction; prints the time and checks that
   exactly one alert with N occurrences (and one alert.raised event) results.
2. relay: M stock events (receipts) written, then drained by the outbox relay through the in-process bus, once with
   no consumer and once with the `alerts` and `webhooks` consumers subscribed (no webhook subscription): events/s.

    .venv/bin/python -m bench.alerts_bench --database-url postgresql://postgres@127.0.0.1:5432/bench_alerts
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal

import psycopg
from sqlalchemy import func, select

from stockd.adapters.db import migrate
from stockd.adapters.db.tables import alerts, outbox
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.alerts import AlertDraft, AlertKind, alert_key
from stockd.domain.catalog import LocationKind
from stockd.domain.transfers import TransferLine
from stockd.entrypoints.workers.consumers import CONSUMERS
from stockd.service_layer import catalog, commands
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.alerts import raise_alert
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork


def fresh_database(url: str) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


async def dedupe(services: Stockd, n: int) -> None:
    draft = AlertDraft(AlertKind.LOW_STOCK, alert_key(AlertKind.LOW_STOCK, "SKU", "WH"), "low")
    started = time.perf_counter()
    await asyncio.gather(*(services.runner.run(lambda uow: raise_alert(uow, services.env, draft)) for _ in range(n)))
    elapsed = time.perf_counter() - started
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(alerts.c.occurrences))).all()
        raised = (await conn.execute(select(func.count()).where(outbox.c.type == "alert.raised"))).scalar_one()
    assert [r.occurrences for r in rows] == [n] and raised == 1, (rows, raised)
    print(f"dedupe: {n} racing triggers in {elapsed:.2f} s ({n / elapsed:.0f}/s): 1 alert, {n} occurrences")


async def write(services: Stockd, m: int) -> None:
    async def run(uow: UnitOfWork) -> None:
        env = services.env
        await catalog.create_product(uow, env, SYSTEM, commands.CreateProduct("SKU", "p", Decimal(1), Decimal(2)))
        await catalog.create_location(uow, env, SYSTEM, commands.CreateLocation("WH", "w", LocationKind.WAREHOUSE))

    await services.runner.run(run)
    for _ in range(m):
        await services.runner.run(lambda uow: stock_uc.receive(
            uow, services.env, SYSTEM, commands.Receive("WH", (TransferLine("SKU", 1),))))


async def relay_rate(url: str, m: int, with_consumers: bool) -> float:
    services = bootstrap(Settings(database_url=url))
    try:
        await write(services, m)
        await services.relay().relay_once()  # the catalog events, and a warm connection
        if with_consumers:
            bus = services.bus
            assert bus is not None
            for factory in CONSUMERS:
                consumer = factory(services)
                for pattern in consumer.bindings:
                    bus.subscribe(pattern, consumer.handler, consumer.name)
        relay = services.relay()
        started = time.perf_counter()
        while await relay.relay_once():
            pass
        return m / (time.perf_counter() - started)
    finally:
        await services.close()


async def run_dedupe(url: str, n: int) -> None:
    services = bootstrap(Settings(database_url=url))
    try:
        await dedupe(services, n)
    finally:
        await services.close()


def main(url: str, n: int, m: int) -> None:
    target = fresh_database(url)
    migrate.upgrade(target)
    asyncio.run(run_dedupe(target, n))
    for with_consumers in (False, True):
        target = fresh_database(url)
        migrate.upgrade(target)
        rate = asyncio.run(relay_rate(target, m, with_consumers))
        print(f"relay of {m} stock events, {'with' if with_consumers else 'without'} alerts+webhooks consumers: "
              f"{rate:.0f} events/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite://")
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    main(args.database_url, args.triggers, args.events)
