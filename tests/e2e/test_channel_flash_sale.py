"""The flash sale, as a user runs it: a real `stockd serve` on PostgreSQL, channel endpoints and secrets given in
STOCKD_CHANNEL_ENDPOINTS, three channels on local fake Shopify, Amazon and webhook servers, and 1,000 orders
racing for 200 units through the HTTP API with each channel's own key.

Zero oversell across channels; no channel ever shown more than its buffer allows (every value it received is a
buffered value of the stock, at most that of the opening stock, and never higher than one before it during this
pure sell-off); every channel shown 0 within one second of the last sale. Then the CLI reports the push state."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_server import STOCKD, free_port, pg_url, run_cli, wait_until_up
from tests.support.channels import (
    AMAZON_TOKEN,
    HOOK_SECRET,
    SHOP_TOKEN,
    Fakes,
    define_channels,
    eventually,
    start_fakes,
)

__all__ = ["pg_url"]  # the fixture, imported for pytest

UNITS = 200
ORDERS = 1000
# channel -> (buffer, min_reserve, the name its fake server records the SKU under)
SHOWN = {"shop": (Decimal("0.9"), 0, "FLASH"), "amazon": (Decimal("0.85"), 0, "FLASH-AMZ"),
         "wholesale": (Decimal("0.7"), 2, "FLASH")}


def allowed(channel: str, available: int) -> int:
    buffer, reserve, _ = SHOWN[channel]
    return max(0, int((buffer * available).to_integral_value(rounding=ROUND_FLOOR)) - reserve)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started = start_fakes()
    yield started
    for fake in started.all():
        fake.stop()


@pytest.fixture
def server(pg_url: str, fakes: Fakes, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    endpoints = {
        "shop": {"base_url": fakes.shopify.url, "token": SHOP_TOKEN},
        "amazon": {"base_url": fakes.amazon.url, "token": AMAZON_TOKEN},  # Amazon's default 5 requests/s
        "wholesale": {"base_url": f"{fakes.webhook.url}/hook", "secret": HOOK_SECRET},
    }
    env = {**os.environ, "STOCKD_DATABASE_URL": pg_url, "STOCKD_POOL_SIZE": "30", "STOCKD_RATE_LIMIT_PER_SECOND": "0",
           "STOCKD_CHANNEL_ENDPOINTS": json.dumps(endpoints), "STOCKD_CHANNEL_POLL_INTERVAL_SECONDS": "0.2"}
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([*STOCKD, "serve", "--port", str(port), "--log-level", "info"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/readyz")
        yield base, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        print(log_path.read_text()[-3000:])


async def test_1000_orders_on_3_channels_for_200_units_never_oversell_and_every_channel_ends_at_0(
    server: tuple[str, Path], pg_url: str, fakes: Fakes
) -> None:
    base, log_path = server
    admin_key = next(word for word in log_path.read_text().split() if word.startswith("sk_"))  # the first key
    fake_of = {"shop": fakes.shopify, "amazon": fakes.amazon, "wholesale": fakes.webhook}

    def shown(channel: str) -> list[int]:
        return fake_of[channel].values(SHOWN[channel][2])

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=50),
                                 headers={"Authorization": f"Bearer {admin_key}"}) as admin:
        for code in ("WH-A", "WH-B"):
            await admin.post("/v1/locations", json={"code": code, "name": code, "kind": "warehouse"})
        await admin.post("/v1/products", json={"sku": "FLASH", "name": "Flash sale", "unit_cost": 1, "price": 9})
        await admin.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "FLASH", "quantity": UNITS}]})
        keys = {}
        for name in SHOWN:
            created = await admin.post("/v1/keys", json={"name": name, "role": "channel", "channel": name})
            keys[name] = {"Authorization": f"Bearer {created.json()['token']}"}
        await define_channels(admin, skus=("FLASH",), locations=("WH-A", "WH-B"))
        await eventually(lambda: all(shown(c)[-1:] == [allowed(c, UNITS)] for c in SHOWN), within=15,
                         message="opening values")

        async def order(i: int) -> tuple[str, int, float]:
            channel = list(SHOWN)[i % 3]
            r = await admin.post(
                "/v1/reservations", headers={**keys[channel], "Idempotency-Key": f"order-{i}"},
                json={"order_id": f"order-{i}", "lines": [{"sku": "FLASH", "location": "WH-A", "quantity": 1}]})
            return channel, r.status_code, time.monotonic()

        results = await asyncio.gather(*(order(i) for i in range(ORDERS)))
        sold = [(channel, at) for channel, status, at in results if status == 201]
        assert len(sold) == UNITS, "exactly the units there were, across all channels"
        assert sorted({status for _, status, _ in results}) == [201, 409], "the rest told no stock, never a 5xx"
        assert {c for c, _ in sold} == set(SHOWN), "every channel sold"
        last_sale = max(at for _, at in sold)
        for channel in SHOWN:
            await eventually(lambda c=channel: shown(c)[-1:] == [0], within=5.0, message=f"{channel} at 0")
        await asyncio.sleep(0.3)  # nothing arrives after the 0
        level = (await admin.get("/v1/stock/FLASH/WH-A")).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (UNITS, UNITS, 0)
        assert (await admin.get("/v1/reconciliation")).json()["consistent"] is True

    for channel in SHOWN:
        values = shown(channel)
        receipts = [r for r in fake_of[channel].receipts if r.sku == SHOWN[channel][2]]
        zero_at = next(r.at for r in receipts if r.quantity == 0)
        assert zero_at - last_sale < 1.0, f"{channel} shown 0 {zero_at - last_sale:.3f}s after the last sale"
        assert values[-1] == 0
        assert max(values) <= allowed(channel, UNITS), f"{channel} shown more than its buffer allows"
        assert values == sorted(values, reverse=True), f"{channel} values went up during a pure sell-off: {values}"
        assert all(v in {allowed(channel, a) for a in range(UNITS + 1)} for v in values), "each a buffered value"
        assert len(values) < UNITS, f"{channel}: {len(values)} pushes for {UNITS} sales, coalesced"
    assert fakes.problems() == []
    stamps = fakes.amazon.stamps
    assert all(stamps[i + 10] - stamps[i] >= 1.0 for i in range(len(stamps) - 10)), \
        "Amazon is called within its rate limit (5 a second, bursts of 5)"
    logged = log_path.read_text()
    assert SHOP_TOKEN not in logged and HOOK_SECRET not in logged and AMAZON_TOKEN not in logged

    status = run_cli("channels", "status", url=pg_url)
    assert status.returncode == 0, status.stderr
    lines = [ln.split() for ln in status.stdout.splitlines()]
    assert sorted((ln[0], ln[1], ln[2]) for ln in lines) == [("amazon", "FLASH", "pushed=0"),
                                                          ("shop", "FLASH", "pushed=0"),
                                                          ("wholesale", "FLASH", "pushed=0")]
    before = len(fakes.amazon.receipts)
    resync = run_cli("channels", "resync", "amazon", url=pg_url)
    assert resync.returncode == 0 and "1 listing(s)" in resync.stderr
    await eventually(lambda: len(fakes.amazon.receipts) > before, within=5.0, message="the resync reached Amazon")
    assert fakes.amazon.latest("FLASH-AMZ") == 0
