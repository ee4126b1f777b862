"""With RabbitMQ, channel sync runs as `stockd worker` runs it: the relay publishes to the broker, the channel
consumer reads its own quorum queue and rings the pusher in its process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from stockd.adapters.bus.rabbitmq import QueueSpec
from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.entrypoints.workers.channels import channel_sync_consumer, run_channel_sync
from stockd.entrypoints.workers.consumers import Consumer, run_consumers
from stockd.entrypoints.workers.relay import run_relay
from tests.e2e.test_api import setup_catalog
from tests.support.channels import Fakes, define_channels, eventually, gateway_for, start_fakes
from tests.support.rabbitmq import RABBITMQ_URL, EventQueue, require_rabbitmq


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, bus_url=RABBITMQ_URL, channel_poll_interval_seconds=0.2)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started = start_fakes()
    yield started
    for fake in started.all():
        fake.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_with_rabbitmq_a_change_reaches_every_channel_through_the_broker(
    client: httpx.AsyncClient, services: Stockd, fakes: Fakes
) -> None:
    await require_rabbitmq()
    assert services.bus is None, "events go to RabbitMQ"
    name = f"channel-sync-test-{uuid.uuid4().hex[:8]}"  # a queue of this test's own, not the shared one

    def consumer(stockd: Stockd) -> Consumer:
        return replace(channel_sync_consumer(stockd), name=name)

    stop = asyncio.Event()
    gateway = gateway_for(fakes)
    tasks = [asyncio.create_task(run_relay(services, stop)),
             asyncio.create_task(run_consumers(services, stop, [consumer])),
             asyncio.create_task(run_channel_sync(services, stop, gateway))]
    try:
        await setup_catalog(client)
        await define_channels(client, skus=("TEE",))
        await eventually(lambda: (fakes.shopify.latest("TEE"), fakes.webhook.latest("TEE")) == (9, 5))
        await asyncio.sleep(0.5)  # the consumer's queue is bound by now
        r = await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 10}]})
        assert r.status_code == 201
        # floor(20 x 0.9), floor(20 x 0.85), floor(20 x 0.7) - 2
        await eventually(lambda: (fakes.shopify.latest("TEE"), fakes.amazon.latest("TEE-AMZ"),
                                  fakes.webhook.latest("TEE")) == (18, 17, 12), message="after the receipt")
        assert fakes.problems() == []
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await gateway.close()
        await EventQueue(RABBITMQ_URL, QueueSpec(f"stockd.{name}", ("stock.#", "sku.#"))).delete()
