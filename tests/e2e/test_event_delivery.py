"""Events from a committed change to a RabbitMQ consumer, through real failures: the broker stopped during
writes, the relay process killed with SIGKILL mid-stream, a consumer that lost its state (replay).
PostgreSQL and RabbitMQ are real; the relay is the in-process one or the `stockd worker` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from stockd.adapters.bus.rabbitmq import QueueSpec, RabbitConsumer
from stockd.adapters.db.outbox import backlog
from stockd.adapters.db.tables import audit_log, outbox
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.security import AuditEntry
from stockd.domain.transfers import TransferLine
from stockd.entrypoints.workers.relay import run_relay
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.commands import Receive
from stockd.service_layer.consumers import apply_once
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import InboxUnitOfWork
from tests.conftest import seed
from tests.support.clock import FakeClock
from tests.support.databases import PostgresDatabase
from tests.support.proxy import latency_proxy
from tests.support.rabbitmq import (
    EventQueue,
    bound_queue,
    broker_stopped,
    published_count_reaches,
    require_rabbitmq,
    unique_queue_name,
)

STOCKD = [sys.executable, "-m", "stockd.entrypoints.cli"]
SKUS = [f"SKU-{i}" for i in range(6)]


@pytest.fixture
async def rabbitmq() -> str:
    return await require_rabbitmq()


@pytest.fixture
async def services(postgres: PostgresDatabase, rabbitmq: str) -> AsyncIterator[Stockd]:
    """Writes on PostgreSQL; events go to RabbitMQ. A short publish timeout keeps outages quick to notice."""
    postgres.truncate()
    settings = Settings(database_url=postgres.url, bus_url=rabbitmq, relay_publish_timeout_seconds=1,
                        relay_batch_size=50)
    wired = bootstrap(settings, clock=FakeClock())
    await seed(wired, {(sku, "WH-A"): 0 for sku in SKUS})
    yield wired
    await wired.close()


async def receive(services: Stockd, sku: str, quantity: int = 1) -> None:
    cmd = Receive("WH-A", (TransferLine(sku, quantity),))
    await services.runner.run(lambda uow: stock_uc.receive(uow, services.env, SYSTEM, cmd))


async def outbox_ids(services: Stockd) -> list[str]:
    async with services.engine.connect() as conn:
        return list((await conn.execute(select(outbox.c.event_id).order_by(outbox.c.id))).scalars())


@pytest.fixture
async def relay(services: Stockd) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_relay(services, stop))
    yield
    stop.set()
    await task


@pytest.mark.usefixtures("relay")
async def test_rabbitmq_down_during_writes_loses_nothing(services: Stockd, rabbitmq: str) -> None:
    async with bound_queue(rabbitmq) as queue:
        for n in range(20):
            await receive(services, SKUS[n % 6])
        await queue.collect(await outbox_ids(services), within=10)
        async with broker_stopped(rabbitmq):
            started = time.monotonic()
            for n in range(120):
                await receive(services, SKUS[n % 6])  # the API's writes do not wait for the broker
            writing = time.monotonic() - started
            assert await backlog(services.engine) == 120, "the outbox holds what the broker cannot take"
        everything = await outbox_ids(services)
        got = Counter(e["id"] for e in await queue.collect(everything, within=30))
    assert writing < 10, f"120 writes took {writing:.1f}s with the broker down"
    assert set(everything) <= set(got), f"{len(set(everything) - set(got))} events lost"
    assert await backlog(services.engine) == 0


def start_worker(database_url: str, bus_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STOCKD_DATABASE_URL": database_url, "STOCKD_BUS_URL": bus_url,
           "STOCKD_RELAY_BATCH_SIZE": "50", "STOCKD_RELAY_POLL_INTERVAL_SECONDS": "0.02",
           "STOCKD_LOG_LEVEL": "warning"}
    with log.open("ab") as out:
        return subprocess.Popen([*STOCKD, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def worker_log(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    yield log
    if log.exists():
        print(log.read_text()[-4000:])


class Auditor:
    """A consumer whose own write is an audit row per event, applied through the inbox."""

    name = "auditor"

    def __init__(self, services: Stockd) -> None:
        self.services = services
        self.deliveries: Counter[str] = Counter()

    async def handle(self, event: Any) -> None:
        self.deliveries[event["id"]] += 1
        await apply_once(self.services.consumer_uow, self.services.env.clock, self.name, dict(event), self._write)

    async def _write(self, uow: InboxUnitOfWork, event: dict[str, Any]) -> None:
        await uow.audit.record(AuditEntry(self.services.env.clock.now(), self.name, "system", None, "event.applied",
                                          target=event["id"], sku=event["sku"], location=event["location"]))

    async def applied(self) -> Counter[str]:
        async with self.services.engine.connect() as conn:
            stmt = select(audit_log.c.target).where(audit_log.c.action == "event.applied")
            return Counter((await conn.execute(stmt)).scalars())


@pytest.mark.slow
async def test_a_relay_killed_mid_stream_delivers_every_event_and_the_inbox_applies_each_once(
    services: Stockd, rabbitmq: str, postgres: PostgresDatabase, worker_log: Path
) -> None:
    auditor = Auditor(services)
    spec = QueueSpec(unique_queue_name("auditor"), ("stock.#",))
    stop = asyncio.Event()
    consuming = asyncio.create_task(RabbitConsumer(rabbitmq, spec, auditor.handle).run(stop))
    # The worker reaches PostgreSQL 25 ms late each way, so between a batch's confirms from the broker and
    # its commit there are about 100 ms: a SIGKILL right after the broker sees a batch lands in that window,
    # and the batch is published again after the restart (duplicates on the wire, as in real life).
    direct = make_url(postgres.url)
    async with latency_proxy(direct.host or "127.0.0.1", direct.port or 5432, delay=0.025) as port, \
            published_count_reaches(rabbitmq, 100) as hundred_published:
        slow_url = direct.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        worker = start_worker(slow_url, rabbitmq, worker_log)
        try:
            writing = asyncio.create_task(write_steadily(services, 600, seconds=2))
            await asyncio.wait_for(hundred_published.wait(), timeout=30)
            worker.send_signal(signal.SIGKILL)  # no chance to commit its batch or close anything
            assert await asyncio.to_thread(worker.wait, 10) == -signal.SIGKILL
            worker = start_worker(slow_url, rabbitmq, worker_log)
            await writing
            everything = await outbox_ids(services)
            await until_async(lambda: _all_applied(auditor, everything), "every event applied", within=40)
            worker.send_signal(signal.SIGTERM)
            # Waited for off the event loop: the proxy between the worker and PostgreSQL runs on it.
            assert await asyncio.to_thread(worker.wait, 20) == 0, "a stopped worker finishes its batch, exits"
        finally:
            worker.kill()
            stop.set()
            await consuming
            await _delete_queue(rabbitmq, spec)
    applied = await auditor.applied()
    assert len(everything) == 600 and set(applied) == set(everything), "every event delivered and applied"
    assert max(applied.values()) == 1, "the inbox let an event through twice"
    redelivered = sum(auditor.deliveries.values()) - len(everything)
    assert redelivered > 0, "the kill was meant to land between a publish and its commit"
    print(f"{redelivered} duplicate deliveries absorbed by the inbox")


async def write_steadily(services: Stockd, count: int, seconds: float) -> None:
    for n in range(count):
        await receive(services, SKUS[n % len(SKUS)])
        await asyncio.sleep(seconds / count)


async def until(condition: Any, what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def until_async(condition: Any, what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.05)


async def _all_applied(auditor: Auditor, ids: list[str]) -> bool:
    return set(await auditor.applied()) >= set(ids)


async def _delete_queue(url: str, spec: QueueSpec) -> None:
    await EventQueue(url, spec).delete()


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STOCKD, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
                          check=False)


async def test_replay_publishes_a_past_window_again_with_the_same_ids(
    services: Stockd, rabbitmq: str, postgres: PostgresDatabase
) -> None:
    clock = services.env.clock
    assert isinstance(clock, FakeClock)
    await receive(services, "SKU-0")  # 09:00, outside the window
    clock.advance(hours=1)
    for sku in SKUS:
        await receive(services, sku)  # 10:00, inside
    clock.advance(hours=1)
    await receive(services, "SKU-1")  # 11:00, after --until
    async with services.engine.connect() as conn:
        stmt = select(outbox.c.event_id).where(outbox.c.created_at == clock.now().replace(hour=10))
        window = set((await conn.execute(stmt)).scalars())
    assert len(window) == len(SKUS)
    async with bound_queue(rabbitmq) as lost_its_state:
        env = {"STOCKD_DATABASE_URL": postgres.url, "STOCKD_BUS_URL": rabbitmq}
        done = run_cli("events", "replay", "--since", "2026-03-02T09:30:00Z", "--until", "2026-03-02T10:30:00",
                       "--type", "stock.received", env=env)
        assert done.returncode == 0, done.stderr
        assert f"replayed {len(SKUS)} events" in done.stderr
        got = await lost_its_state.collect(window, within=10)
    assert {e["id"] for e in got} == window
    refused = run_cli("events", "replay", "--since", "2026-03-02T09:30:00Z",
                      env={"STOCKD_DATABASE_URL": postgres.url, "STOCKD_BUS_URL": "memory://"})
    assert refused.returncode == 2 and "broker" in refused.stderr
    bad = run_cli("events", "replay", "--since", "yesterday", env=env)
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
