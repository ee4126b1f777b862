"""Channel sync: latency from a stock change to the channel's receipt of the new value, and pushes saved by
coalescing under a burst.

Three channels (Shopify GraphQL, Amazon SP-API, a signed webhook), each a local fake server (tests/support) that
checks the request shape and stamps each value it accepts with CLOCK_MONOTONIC. stockd runs as `stockd serve`
does with the in-process bus: the outbox relay, the channel consumer and the pusher share the writers' event
loop. Buffers are 1.0, so every change alters every channel's value.

  latency  `--changes` receipts of one unit, one at a time, `--gap` seconds apart; latency = the fake's receipt
           of the value the change produced minus the instant the write call returned (its commit done).
  burst    `--burst` receipts of one unit at once (50 in flight); pushes received per channel, the pushes
           saved (changes - pushes), and the time from the last commit to the final value at each channel.

    .venv/bin/python -m bench.channels_bench
    .venv/bin/python -m bench.channels_bench --postgres --changes 200 --burst 1000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.support.channels import ITEMS, MARKETPLACE, SELLER, SHOP_LOCATION, Pipeline, gateway_for, start_fakes
from tests.support.databases import PostgresDatabase
from tests.support.fake_channels import FakeChannel

from stockd.adapters.db import migrate
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.domain.channels import Connector, Listing
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, channels, commands
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork

SKU, LOCATION = "TEE", "WH-A"


async def setup(services: Stockd) -> None:
    async def run(uow: UnitOfWork) -> None:
        env = services.env
        await catalog.create_location(uow, env, SYSTEM, commands.CreateLocation(LOCATION, "A", LocationKind.WAREHOUSE))
        await catalog.create_product(uow, env, SYSTEM, commands.CreateProduct(SKU, "Tee", Decimal(1), Decimal(2)))
        definitions = [
            channels.DefineChannel("shop", Connector.SHOPIFY, Decimal(1), 0, (LOCATION,),
                                   {"location_id": SHOP_LOCATION}),
            channels.DefineChannel("amazon", Connector.AMAZON, Decimal(1), 0, (LOCATION,),
                                   {"seller_id": SELLER, "marketplace_id": MARKETPLACE, "product_type": "SHIRT"}),
            channels.DefineChannel("wholesale", Connector.WEBHOOK, Decimal(1), 0, (LOCATION,)),
        ]
        for definition in definitions:
            await channels.create_channel(uow, env, SYSTEM, definition)
        await channels.set_listings(uow, env, SYSTEM, "shop", [Listing("shop", SKU, ITEMS[SKU])])
        await channels.set_listings(uow, env, SYSTEM, "amazon", [Listing("amazon", SKU, f"{SKU}-AMZ")])
        await channels.set_listings(uow, env, SYSTEM, "wholesale", [Listing("wholesale", SKU)])

    await services.runner.run(run)


async def receive_one(services: Stockd) -> float:
    """One unit in; returns the instant the write call returned."""
    cmd = commands.Receive(LOCATION, (TransferLine(SKU, 1),))
    await services.runner.run(lambda uow: stock_uc.receive(uow, services.env, SYSTEM, cmd))
    return time.monotonic()


async def until_shown(fakes: dict[str, tuple[FakeChannel, str]], value: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while any(fake.latest(key) != value for fake, key in fakes.values()):
        if time.monotonic() > deadline:
            raise SystemExit(f"channels did not reach {value}: {[f.latest(k) for f, k in fakes.values()]}")
        await asyncio.sleep(0.005)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def latency(services: Stockd, fakes: dict[str, tuple[FakeChannel, str]], changes: int, gap: float) -> None:
    stamps: list[tuple[int, float]] = []
    value = 0
    for _ in range(changes):
        value += 1
        stamps.append((value, await receive_one(services)))
        await asyncio.sleep(gap)
    await until_shown(fakes, value)
    print(f"\nlatency, stock change -> channel receipt ({changes} changes, {gap * 1000:.0f} ms apart)")
    print(f"{'channel':<10} {'received':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, (fake, key) in fakes.items():
        first_seen: dict[int, float] = {}
        for receipt in fake.receipts:
            if receipt.sku == key:
                first_seen.setdefault(receipt.quantity, receipt.at)
        lat = [(first_seen[v] - at) * 1000 for v, at in stamps if v in first_seen]
        print(f"{name:<10} {len(lat):>8} {percentile(lat, 50):>8.1f} {percentile(lat, 99):>8.1f} {max(lat):>8.1f}")


async def burst(services: Stockd, fakes: dict[str, tuple[FakeChannel, str]], size: int, start: int) -> None:
    before = {name: len(fake.values(key)) for name, (fake, key) in fakes.items()}
    gate = asyncio.Semaphore(50)

    async def one() -> float:
        async with gate:
            return await receive_one(services)

    t0 = time.monotonic()
    done = await asyncio.gather(*(one() for _ in range(size)))
    last_commit = max(done)
    final = start + size
    await until_shown(fakes, final)
    print(f"\nburst: {size} changes committed in {last_commit - t0:.2f} s (50 in flight)")
    print(f"{'channel':<10} {'pushes':>7} {'saved':>7} {'saved %':>8} {'final value after last commit ms':>34}")
    for name, (fake, key) in fakes.items():
        pushes = len(fake.values(key)) - before[name]
        final_at = next(r.at for r in fake.receipts if r.sku == key and r.quantity == final)
        print(f"{name:<10} {pushes:>7} {size - pushes:>7} {100 * (size - pushes) / size:>7.1f}% "
              f"{(final_at - last_commit) * 1000:>34.1f}")


async def main(args: argparse.Namespace, url: str) -> None:
    services = bootstrap(Settings(database_url=url, pool_size=30, channel_poll_interval_seconds=0.5))
    started = start_fakes()
    fakes: dict[str, tuple[FakeChannel, str]] = {
        "shop": (started.shopify, SKU), "amazon": (started.amazon, f"{SKU}-AMZ"), "wholesale": (started.webhook, SKU)}
    try:
        await setup(services)
        async with Pipeline(services, gateway_for(started, amazon_rate=args.amazon_rate)):
            await until_shown(fakes, 0)
            await latency(services, fakes, args.changes, args.gap)
            await burst(services, fakes, args.burst, args.changes)
        assert started.problems() == [], started.problems()
    finally:
        for fake in started.all():
            fake.stop()
        await services.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between changes in the latency run")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--amazon-rate", type=float, default=5.0, help="Amazon requests a second (SP-API: 5)")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    print(f"channel sync bench: {'PostgreSQL' if args.postgres else 'SQLite'}, Amazon at {args.amazon_rate}/s")
    if args.postgres:
        pg = PostgresDatabase()
        pg.create()
        try:
            asyncio.run(main(args, pg.url))
        finally:
            pg.drop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        asyncio.run(main(args, url))


if __name__ == "__main__":
    cli()
