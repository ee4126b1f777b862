"""Device events ingested per second into PostgreSQL: over HTTP (batches, a real `stockd serve`) and over
RabbitMQ (exchange `stockd.devices`, a real `stockd worker`).

    .venv/bin/python -m bench.devices_bench --events 20000 --batch 1000 --skus 50 [--via http,rabbitmq]

Each run: a fresh migrated database, SKUs at two locations, a device key; then batches of mixed events
(70% added/removed, 20% moved, 10% counts) with 10% duplicates, posted by a few concurrent clients.
Prints events/s, per-batch latency and the outcome counts; checks the ledger has no drift.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import httpx
from sqlalchemy import func, select

from bench.reserve_bench import PostgresAdmin, _tail, fresh_database, stockd_server
from stockd.adapters.bus.rabbitmq_devices import DEVICES_EXCHANGE
from stockd.adapters.db.tables import device_events
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.domain.security import Role
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, commands
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.keys import create_key
from stockd.service_layer.ports import UnitOfWork

LOCATIONS = ("DC-1", "DC-2")
T0 = datetime(2026, 2, 16, 8, 0, tzinfo=UTC)


def make_events(count: int, skus: list[str], rng: random.Random) -> list[dict[str, Any]]:
    events = []
    for i in range(count):
        roll = rng.random()
        kind = "item_counted" if roll < 0.1 else "item_moved" if roll < 0.3 else rng.choice(
            ["item_added", "item_removed"])
        source = rng.choice(LOCATIONS)
        event: dict[str, Any] = {
            "event": kind, "event_id": f"ev-{i}", "product_id": rng.choice(skus), "location": source,
            "quantity": rng.randint(50_000, 60_000) if kind == "item_counted" else rng.randint(1, 5),
            "timestamp": (T0 + timedelta(milliseconds=i * 10 + rng.randint(-500, 500))).isoformat(),
        }
        if kind == "item_moved":
            event["to_location"] = next(loc for loc in LOCATIONS if loc != source)
        events.append(event)
    return events


async def seed(url: str, skus: list[str]) -> str:
    services = bootstrap(Settings(database_url=url, pool_size=2))

    async def run(uow: UnitOfWork) -> str:
        env = services.env
        for code in LOCATIONS:
            await catalog.create_location(uow, env, SYSTEM, commands.CreateLocation(code, code,
                                                                                   LocationKind.WAREHOUSE))
        for sku in skus:
            product = commands.CreateProduct(sku, sku, Decimal("1"), Decimal("2"))
            await catalog.create_product(uow, env, SYSTEM, product)
        for code in LOCATIONS:
            lines = tuple(TransferLine(sku, 50_000) for sku in skus)
            await stock_uc.receive(uow, env, SYSTEM, commands.Receive(code, lines))
        key = await create_key(uow, env, SYSTEM, Role.DEVICE, "bench scanner", frozenset(LOCATIONS))
        return key.token

    try:
        return await services.runner.run(run)
    finally:
        await services.close()


async def drift(url: str) -> int:
    services = bootstrap(Settings(database_url=url, pool_size=1))
    try:
        return len(await services.runner.run(lambda uow: uow.movements.drift()))
    finally:
        await services.close()


async def post_all(base: str, token: str, batches: list[list[dict[str, Any]]], clients: int) -> tuple[
        Counter[str], list[float], float]:
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    async with httpx.AsyncClient(base_url=base, timeout=120, trust_env=False,
                                 headers={"Authorization": f"Bearer {token}"}) as http:

        async def worker() -> None:
            while not queue.empty():
                batch = queue.get_nowait()
                started = time.perf_counter()
                r = await http.post("/v1/device-events/batch", json={"events": batch})
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
                outcomes.update(r.json()["counts"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return outcomes, latencies, time.perf_counter() - started


async def via_rabbitmq(url: str, amqp: str, batches: list[list[dict[str, Any]]], expected: int) -> tuple[
        Counter[str], list[float], float]:
    """Publish the batches (one message each) while a `stockd worker` consumes; time until all are recorded."""
    env = {**os.environ, "STOCKD_DATABASE_URL": url, "STOCKD_BUS_URL": amqp, "STOCKD_POOL_SIZE": "5"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "stockd.entrypoints.cli", "worker", env=env,
                                                  stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(3)  # the worker declares its queue
        connection = await aio_pika.connect(amqp)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(DEVICES_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
            started = time.perf_counter()
            for batch in batches:
                body = json.dumps({"events": batch}).encode()
                await exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key="DC-1.bench")
        outcomes: Counter[str] = Counter()
        while time.perf_counter() - started < 600:
            outcomes = await _outcomes(url)
            if sum(outcomes.values()) >= expected:
                break
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - started
    finally:
        worker.terminate()
        await worker.wait()
    outcomes["duplicate"] = len([e for b in batches for e in b]) - sum(outcomes.values())
    return outcomes, [], wall


async def _outcomes(url: str) -> Counter[str]:
    services = bootstrap(Settings(database_url=url, pool_size=1))
    try:
        async def count(uow: UnitOfWork) -> Counter[str]:
            assert isinstance(uow, SqlUnitOfWork)
            rows = await uow.connection.execute(
                select(device_events.c.outcome, func.count()).group_by(device_events.c.outcome))
            return Counter({outcome: n for outcome, n in rows})

        return await services.runner.run(count)
    finally:
        await services.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--via", default="http,rabbitmq")
    opts = parser.parse_args()
    for via in opts.via.split(","):
        await run(opts, via.strip())


async def run(opts: argparse.Namespace, via: str) -> None:
    rng = random.Random(1)
    skus = [f"SKU-{i:04d}" for i in range(opts.skus)]
    events = make_events(opts.events, skus, rng)
    sent = events + rng.sample(events, opts.events // 10)
    rng.shuffle(sent)
    batches = [sent[i : i + opts.batch] for i in range(0, len(sent), opts.batch)]
    admin = PostgresAdmin(opts.postgres_url)
    try:
        async with fresh_database(admin) as name:
            url = admin.url_of(name)
            token = await seed(url, skus)
            if via == "rabbitmq":
                outcomes, latencies, wall = await via_rabbitmq(url, opts.amqp_url, batches, opts.events)
            else:
                async with stockd_server(url, pool_size=10) as server:
                    try:
                        outcomes, latencies, wall = await post_all(server.base_url, token, batches, opts.clients)
                    except RuntimeError:
                        print(_tail(server.log, 6000))
                        raise
            drifted = await drift(url)
    finally:
        await admin.close()
    latencies.sort()
    result = {
        "bench": "devices", "via": via, "events_sent": len(sent), "unique": opts.events, "batch": opts.batch,
        "clients": opts.clients, "seconds": round(wall, 2), "events_per_s": round(len(sent) / wall),
        # Over the broker there is no per-batch answer to time: only the end-to-end rate counts.
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "batch_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1)
        if latencies else None,
        "outcomes": dict(outcomes), "drift": drifted,
    }
    print(f"{via}: {len(sent)} device events ({opts.events} unique, 10% duplicates, shuffled) in batches of "
          f"{opts.batch}, {opts.clients} clients: {result['events_per_s']} events/s into PostgreSQL; batch p50 "
          f"{result['batch_p50_ms']} ms, p99 {result['batch_p99_ms']} ms; outcomes {dict(outcomes)}; drift {drifted}")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
