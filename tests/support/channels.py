"""Three channels wired to local fake servers, and the sync pipeline running as it does in `stockd serve`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from stockd.adapters.channels.base import ChannelEndpoint
from stockd.adapters.channels.gateway import HttpChannelGateway
from stockd.adapters.db.tables import outbox
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import Stockd
from stockd.entrypoints.workers.channels import channel_sync_consumer, run_channel_sync
from stockd.entrypoints.workers.consumers import run_consumers
from stockd.entrypoints.workers.relay import run_relay
from tests.support.fake_channels import FakeAmazon, FakeShopify, FakeWebhook

SHOP_TOKEN = "shpat_test_token"
AMAZON_TOKEN = "Atza|test-access-token"
HOOK_SECRET = "whsec_test_secret"
ITEMS = {"TEE": "gid://shopify/InventoryItem/1001", "MUG": "gid://shopify/InventoryItem/1002",
         "FLASH": "gid://shopify/InventoryItem/1003"}
SHOP_LOCATION = "gid://shopify/Location/77"
SELLER, MARKETPLACE = "A1SELLER", "ATVPDKIKX0DER"


class OffsetClock:
    """Real time, plus jumps the test makes: the pusher sleeps in real time, a test can skip a minute."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@dataclass
class Fakes:
    shopify: FakeShopify
    amazon: FakeAmazon
    webhook: FakeWebhook

    def all(self) -> tuple[FakeShopify, FakeAmazon, FakeWebhook]:
        return (self.shopify, self.amazon, self.webhook)

    def problems(self) -> list[str]:
        return [p for fake in self.all() for p in fake.problems]


def start_fakes() -> Fakes:
    fakes = Fakes(FakeShopify(SHOP_TOKEN, ITEMS), FakeAmazon(AMAZON_TOKEN, SELLER, MARKETPLACE, "SHIRT"),
                  FakeWebhook(HOOK_SECRET))
    for fake in fakes.all():
        fake.start()
    return fakes


def gateway_for(fakes: Fakes, amazon_rate: float = 50.0) -> HttpChannelGateway:
    return HttpChannelGateway({
        "shop": ChannelEndpoint(fakes.shopify.url, token=SHOP_TOKEN),
        "amazon": ChannelEndpoint(fakes.amazon.url, token=AMAZON_TOKEN, rate_per_second=amazon_rate),
        "wholesale": ChannelEndpoint(f"{fakes.webhook.url}/hook", secret=HOOK_SECRET),
    })


async def define_channels(client: httpx.AsyncClient, skus: tuple[str, ...] = ("TEE", "MUG"),
                          locations: tuple[str, ...] = ("WH-A", "WH-B")) -> None:
    """shop (Shopify, 0.9), amazon (0.85, first location only), wholesale (webhook, 0.7, reserve 2)."""
    definitions: list[dict[str, Any]] = [
        {"name": "shop", "connector": "shopify", "buffer": "0.9", "locations": list(locations),
         "config": {"location_id": SHOP_LOCATION}},
        {"name": "amazon", "connector": "amazon", "buffer": "0.85", "locations": [locations[0]],
         "config": {"seller_id": SELLER, "marketplace_id": MARKETPLACE, "product_type": "SHIRT"}},
        {"name": "wholesale", "connector": "webhook", "buffer": "0.7", "min_reserve": 2, "locations": list(locations)},
    ]
    for body in definitions:
        r = await client.post("/v1/channels", json=body)
        assert r.status_code == 201, r.text
    mappings = {
        "shop": [{"sku": s, "external_id": ITEMS[s]} for s in skus],
        "amazon": [{"sku": s, "external_id": f"{s}-AMZ"} for s in skus],
        "wholesale": [{"sku": s, "external_id": f"W-{s}"} for s in skus],
    }
    for name, listings in mappings.items():
        r = await client.put(f"/v1/channels/{name}/listings", json={"listings": listings})
        assert r.status_code == 200, r.text


class Pipeline:
    """The relay, the channel consumer and the pusher, as tasks of this event loop."""

    def __init__(self, services: Stockd, gateway: HttpChannelGateway) -> None:
        self.services = services
        self.gateway = gateway
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Pipeline:
        self.tasks = [
            asyncio.create_task(run_relay(self.services, self.stop)),
            asyncio.create_task(run_consumers(self.services, self.stop, [channel_sync_consumer])),
            asyncio.create_task(run_channel_sync(self.services, self.stop, self.gateway)),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        await self.gateway.close()


async def eventually(check: Callable[[], bool], within: float = 10.0, message: str = "") -> float:
    """Wait until `check()` holds; returns how long it took. Fails after `within` seconds."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within}s: {message}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def events_of(services: Stockd, type_: str) -> list[dict[str, Any]]:
    uow = services.uow()
    assert isinstance(uow, SqlUnitOfWork)
    async with uow:
        rows = await uow.connection.execute(select(outbox.c.payload).where(outbox.c.type == type_)
                                            .order_by(outbox.c.id))
        return [dict(r.payload) for r in rows]


async def pipeline(services: Stockd, gateway: HttpChannelGateway) -> AsyncIterator[Pipeline]:
    async with Pipeline(services, gateway) as running:
        yield running


async def settled(client: httpx.AsyncClient, within: float = 10.0) -> list[dict[str, Any]]:
    """Wait until no channel has a change left to push or record; returns the status rows."""
    start = time.monotonic()
    while True:
        items: list[dict[str, Any]] = (await client.get("/v1/channel-status", params={"limit": 1000})).json()["items"]
        if items and not any(i["pending"] for i in items):
            return items
        if time.monotonic() - start > within:
            raise AssertionError(f"channels did not settle within {within}s: {items}")
        await asyncio.sleep(0.02)
