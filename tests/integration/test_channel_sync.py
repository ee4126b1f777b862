"""Channel sync end to end: stock changes through the API reach local fake Shopify, Amazon and webhook servers
that check the exact request shapes; coalescing, compare-and-swap, retries, outages and resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.domain.security import Role
from stockd.service_layer.env import SYSTEM
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.channels import (
    ITEMS,
    SHOP_LOCATION,
    Fakes,
    OffsetClock,
    Pipeline,
    define_channels,
    events_of,
    eventually,
    gateway_for,
    settled,
    start_fakes,
)
from tests.support.invariants import assert_invariants


@pytest.fixture
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_size=20, channel_poll_interval_seconds=0.2,
                    channel_retry_base_seconds=0.05, channel_retry_max_seconds=0.5)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started = start_fakes()
    yield started
    for fake in started.all():
        fake.stop()


@pytest.fixture
async def running(services: Stockd, fakes: Fakes) -> AsyncIterator[Pipeline]:
    async with Pipeline(services, gateway_for(fakes)) as pipeline:
        yield pipeline


def shown(fakes: Fakes, sku: str) -> tuple[int | None, int | None, int | None]:
    return (fakes.shopify.latest(sku), fakes.amazon.latest(f"{sku}-AMZ"), fakes.webhook.latest(sku))


async def test_each_channel_is_shown_its_buffered_quantity_in_its_own_request_shape(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)  # TEE 10 and MUG 4 at WH-A
    await client.post("/v1/receipts", json={"location": "WH-B", "lines": [{"sku": "TEE", "quantity": 5}]})
    await define_channels(client)
    # TEE: shop floor(15 x 0.9) = 13; amazon (WH-A only) floor(10 x 0.85) = 8; wholesale floor(15 x 0.7) - 2 = 8
    await eventually(lambda: shown(fakes, "TEE") == (13, 8, 8), message=f"TEE shown {shown(fakes, 'TEE')}")
    # MUG: floor(3.6) = 3, floor(3.4) = 3, floor(2.8) - 2 = 0
    await eventually(lambda: shown(fakes, "MUG") == (3, 3, 0), message=f"MUG shown {shown(fakes, 'MUG')}")

    # An order taken on Amazon, reserved through stockd with Amazon's channel key, comes off every channel.
    amazon_key = {"Authorization": f"Bearer {await new_key(services, Role.CHANNEL, channel='amazon')}"}
    r = await anonymous.post("/v1/reservations", headers=amazon_key,
                             json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 5}]})
    assert r.status_code == 201 and r.json()["channel"] == "amazon"
    await eventually(lambda: shown(fakes, "TEE") == (9, 4, 5), message=f"TEE shown {shown(fakes, 'TEE')}")
    await settled(client)
    assert fakes.problems() == [], "every request had the exact shape, auth header and signature"
    assert fakes.shopify.levels[(ITEMS["TEE"], SHOP_LOCATION)] == 9, "the compare-and-swap chain held"
    assert fakes.shopify.stale_answers == 0
    status = (await client.get("/v1/channels/shop/status", params={"sku": "TEE"})).json()["items"]
    assert len(status) == 1
    assert (status[0]["last_pushed"], status[0]["attempts"], status[0]["failing"]) == (9, 0, False)
    assert status[0]["pushed_at"] is not None and status[0]["last_error"] is None
    pushed = [e["data"] for e in await events_of(services, "channel.pushed")]
    assert {"channel": "shop", "sku": "TEE", "quantity": 9, "previous": 13} in pushed
    assert {"channel": "amazon", "sku": "TEE", "quantity": 4, "previous": 8} in pushed
    await assert_invariants(services)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_frozen_sku_is_shown_as_zero_and_comes_back_when_unfrozen(
    client: httpx.AsyncClient, services: Stockd, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    await define_channels(client)
    await eventually(lambda: shown(fakes, "TEE") == (9, 8, 5))

    async def freeze(frozen: bool) -> None:
        await services.runner.run(lambda uow: uow.ledger.set_frozen("TEE", "WH-A", frozen, "count", SYSTEM,
                                                                    services.env.clock.now()))

    await freeze(True)
    await eventually(lambda: shown(fakes, "TEE") == (0, 0, 0), message=f"frozen TEE shown {shown(fakes, 'TEE')}")
    await freeze(False)
    await eventually(lambda: shown(fakes, "TEE") == (9, 8, 5))
    assert fakes.problems() == []


async def test_a_burst_of_100_changes_is_pushed_as_a_few_calls_ending_on_the_final_value(
    client: httpx.AsyncClient, services: Stockd, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    await define_channels(client, skus=("MUG",))
    await eventually(lambda: shown(fakes, "MUG") == (3, 3, 0))
    for fake in fakes.all():
        fake.delay = 0.02  # a real channel answers in tens of milliseconds
    before = [len(fake.receipts) for fake in fakes.all()]
    receipts = await asyncio.gather(*(
        client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "MUG", "quantity": 1}]})
        for _ in range(100)
    ))
    assert [r.status_code for r in receipts] == [201] * 100
    # 104 available: floor(93.6), floor(88.4), floor(72.8) - 2
    await eventually(lambda: shown(fakes, "MUG") == (93, 88, 70), message=f"MUG shown {shown(fakes, 'MUG')}")
    await asyncio.sleep(0.5)  # anything still in flight lands
    pushes = [len(fake.receipts) - b for fake, b in zip(fakes.all(), before, strict=True)]
    assert all(0 < n <= 25 for n in pushes), f"100 changes must coalesce, got {pushes} pushes"
    assert shown(fakes, "MUG") == (93, 88, 70), "the last value pushed is the final one"
    for values in (fakes.shopify.values("MUG"), fakes.amazon.values("MUG-AMZ"), fakes.webhook.values("MUG")):
        assert values == sorted(values), "values only rise while stock only rises: none sent out of order"
        assert len(values) == len(set(values)), "an unchanged value is never sent twice"
    assert fakes.problems() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_quantity_changed_on_shopify_is_reread_and_set_under_a_new_key(
    client: httpx.AsyncClient, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    await define_channels(client, skus=("TEE",))
    await eventually(lambda: fakes.shopify.latest("TEE") == 9)
    with fakes.shopify.lock:  # a sale on Shopify itself moved the quantity under us
        fakes.shopify.levels[(ITEMS["TEE"], SHOP_LOCATION)] = 8
    await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 10}]})
    await eventually(lambda: fakes.shopify.latest("TEE") == 18)
    assert fakes.shopify.stale_answers == 1 and fakes.shopify.reads == 1
    assert fakes.shopify.levels[(ITEMS["TEE"], SHOP_LOCATION)] == 18
    assert fakes.problems() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_throttled_channel_is_retried(client: httpx.AsyncClient, fakes: Fakes, running: Pipeline) -> None:
    fakes.shopify.throttle_next = 2
    fakes.amazon.throttle_next = 2
    await setup_catalog(client)
    await define_channels(client, skus=("TEE",))
    await eventually(lambda: shown(fakes, "TEE") == (9, 8, 5))
    assert fakes.shopify.requests >= 3 and fakes.amazon.requests >= 3
    assert fakes.problems() == []


async def test_a_channel_down_for_a_minute_catches_up_with_the_latest_value_when_it_returns(
    client: httpx.AsyncClient, services: Stockd, clock: OffsetClock, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    await define_channels(client, skus=("TEE",))
    await eventually(lambda: fakes.webhook.latest("TEE") == 5)
    fakes.webhook.down = True
    for step in range(6):  # a minute of outage, ten (simulated) seconds at a time, stock moving all along
        r = await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 2}]})
        assert r.status_code == 201
        clock.advance(seconds=10)
        calls = fakes.webhook.requests
        await eventually(lambda c=calls: fakes.webhook.requests > c, message=f"retry during outage step {step}")
    status = (await client.get("/v1/channels/wholesale/status")).json()["items"][0]
    assert status["failing"] is True and status["attempts"] >= 3 and status["pending"] is True
    assert "503" in status["last_error"] and status["last_pushed"] == 5
    failing = (await client.get("/v1/channel-status", params={"failing": True})).json()["items"]
    assert [(s["channel"], s["sku"]) for s in failing] == [("wholesale", "TEE")]
    assert fakes.shopify.latest("TEE") == 19, "the other channels were not held up"

    fakes.webhook.down = False
    took = await eventually(lambda: fakes.webhook.latest("TEE") == 13, within=5.0,
                            message="floor(22 x 0.7) - 2 after the channel returned")
    assert took < 2.0, f"caught up {took:.2f}s after the channel returned (backoff cap 0.5 s)"
    await settled(client)
    failed = [e["data"] for e in await events_of(services, "channel.sync_failed")]
    assert len(failed) == 1 and failed[0]["channel"] == "wholesale" and failed[0]["attempts"] == 3
    recovered = [e["data"] for e in await events_of(services, "channel.sync_recovered")]
    assert recovered == [{"channel": "wholesale", "sku": "TEE"}]
    status = (await client.get("/v1/channels/wholesale/status")).json()["items"][0]
    assert (status["failing"], status["attempts"], status["last_error"], status["pending"]) == (False, 0, None, False)
    assert fakes.problems() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_resync_pushes_every_sku_again_even_unchanged(
    client: httpx.AsyncClient, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    await define_channels(client)
    await eventually(lambda: shown(fakes, "TEE") == (9, 8, 5) and shown(fakes, "MUG") == (3, 3, 0))
    before = fakes.amazon.values("TEE-AMZ")
    r = await client.post("/v1/channels/amazon/resync")
    assert r.status_code == 202 and r.json() == {"channel": "amazon", "marked": 2}
    await eventually(lambda: len(fakes.amazon.values("TEE-AMZ")) > len(before),
                     message=f"amazon TEE after resync: {fakes.amazon.values('TEE-AMZ')} (before {before})")
    assert fakes.amazon.values("TEE-AMZ")[-1] == 8
    r = await client.post("/v1/channel-resync")
    assert r.status_code == 202 and r.json()["marked"] == 6
    await eventually(lambda: len(fakes.webhook.values("MUG")) >= 2,
                     message=f"webhook MUG after resync: {fakes.webhook.values('MUG')}")
    assert fakes.problems() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_channel_without_configured_credentials_reports_why_it_is_not_synced(
    client: httpx.AsyncClient, fakes: Fakes, running: Pipeline
) -> None:
    await setup_catalog(client)
    r = await client.post("/v1/channels", json={"name": "ebay", "connector": "webhook", "buffer": "1",
                                                "locations": ["WH-A"]})
    assert r.status_code == 201
    await client.put("/v1/channels/ebay/listings", json={"listings": [{"sku": "TEE"}]})

    async def error() -> str | None:
        items = (await client.get("/v1/channels/ebay/status")).json()["items"]
        return items[0]["last_error"] if items else None

    for _ in range(200):
        if await error():
            break
        await asyncio.sleep(0.02)
    assert "no endpoint configured for channel ebay" in (await error() or "")
