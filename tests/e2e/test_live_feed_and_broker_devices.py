"""The live change feed (SSE) on a real server, and device events arriving over RabbitMQ into `stockd worker`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import aio_pika
import httpx
from sqlalchemy import select

from stockd.adapters.bus.rabbitmq_devices import DEVICES_EXCHANGE, declare_device_queue
from stockd.adapters.db.tables import device_events
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import bootstrap
from stockd.config import Settings
from tests.e2e.test_server import STOCKD, run_cli, start_server, wait_until_up
from tests.support.databases import PostgresDatabase
from tests.support.rabbitmq import require_rabbitmq


async def read_events(response: httpx.Response, want: int, within: float) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []

    async def read() -> None:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
                if len(events) >= want:
                    return

    await asyncio.wait_for(read(), within)
    return events


async def test_a_reservation_appears_on_the_live_feed_within_milliseconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    log = tmp_path / "server.log"
    proc, port = start_server(url, log, "--demo")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz")
        token = next(word for word in log.read_text().split() if word.startswith("sk_"))
        viewer = run_cli("keys", "create", "--role", "viewer", "--locations", "WH-EAST", url=url).stdout.strip()
        admin = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as http,
            http.stream("GET", "/v1/feed", params={"sku": "MUG-LOGO"},
                        headers={"Authorization": f"Bearer {viewer}"}) as feed,
        ):
                assert feed.status_code == 200
                assert feed.headers["content-type"].startswith("text/event-stream")
                await asyncio.sleep(0.2)
                # Noise the filters must drop: another SKU, and the right SKU at a location the key cannot see.
                await http.post("/v1/returns", headers=admin,
                                json={"sku": "TEE-BLK-M", "location": "WH-EAST", "quantity": 1})
                await http.post("/v1/returns", headers=admin,
                                json={"sku": "MUG-LOGO", "location": "STORE-NYC", "quantity": 1})
                started = time.perf_counter()
                r = await http.post("/v1/reservations", headers=admin,
                                    json={"lines": [{"sku": "MUG-LOGO", "location": "WH-EAST", "quantity": 2}]})
                assert r.status_code == 201
                (event,) = await read_events(feed, 1, within=2.0)
                latency = time.perf_counter() - started
        assert event["type"] == "stock.reserved" and event["sku"] == "MUG-LOGO" and event["location"] == "WH-EAST"
        assert event["data"]["available"] == 73 and event["data"]["reference"] == r.json()["id"]  # type: ignore[index]
        assert latency < 2.0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def test_device_events_over_rabbitmq_apply_once(postgres: PostgresDatabase, tmp_path: Path) -> None:
    amqp = await require_rabbitmq()
    url = postgres.url
    postgres.truncate()
    assert run_cli("demo", url=url).returncode == 0
    async with await aio_pika.connect(amqp) as connection:  # nothing left over from an earlier, aborted run
        await (await declare_device_queue(await connection.channel())).purge()
    env = {**os.environ, "STOCKD_DATABASE_URL": url, "STOCKD_BUS_URL": amqp}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([*STOCKD, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await asyncio.sleep(3)  # the worker declares the device queue
        connection = await aio_pika.connect(amqp)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(DEVICES_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
            single = {"event": "item_removed", "event_id": "rfid-1", "product_id": "CAP-NVY", "location": "WH-EAST",
                      "quantity": 5, "timestamp": "2026-02-16T10:00:00Z"}
            batch = {"events": [
                {**single, "event_id": "rfid-2", "event": "item_added", "quantity": 2},
                {**single, "event_id": "rfid-3", "event": "item_counted", "quantity": 100,
                 "timestamp": "2026-02-16T11:00:00Z"},
                {"event": "item_added", "product_id": "CAP-NVY"},
            ]}
            older_count = {**single, "event_id": "rfid-4", "event": "item_counted", "quantity": 7,
                           "timestamp": "2026-02-16T09:00:00Z"}
            for body in (single, single, batch, single, older_count, b"not json"):
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                await exchange.publish(aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key="WH-EAST.dock-door-3")
        outcomes = await wait_for_outcomes(url, expected=5, within=30)
        assert outcomes == {"rfid-1": "applied", "rfid-2": "applied", "rfid-3": "applied", "rfid-4": "stale",
                            None: "rejected"}
        assert await on_hand(url, "CAP-NVY", "WH-EAST") == 100, "the 11:00 count wins; the 09:00 one is stale"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


async def wait_for_outcomes(url: str, expected: int, within: float) -> dict[str | None, str]:
    services = bootstrap(Settings(database_url=url, pool_size=1))
    try:
        deadline = time.monotonic() + within
        while True:
            uow = services.uow()
            assert isinstance(uow, SqlUnitOfWork)
            async with uow:
                rows = (await uow.connection.execute(select(device_events.c.event_id, device_events.c.outcome))).all()
            if len(rows) >= expected or time.monotonic() > deadline:
                return {event_id: outcome for event_id, outcome in rows}
            await asyncio.sleep(0.3)
    finally:
        await services.close()


async def on_hand(url: str, sku: str, location: str) -> int:
    services = bootstrap(Settings(database_url=url, pool_size=1))
    try:
        level = await services.runner.run(lambda uow: uow.stock.get(sku, location))
        return level.on_hand if level else 0
    finally:
        await services.close()
