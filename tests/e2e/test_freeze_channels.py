"""Counting, freezes, channels, alerts and webhooks together, with every worker of `stockd serve` running: a count
far off freezes a row, reservations there are refused, every channel fed by it shows 0 until a manager accepts the
count, then the buffered quantity again; an out-of-stock alert raised by a sale reaches a signed webhook."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from stockd.adapters.channels.gateway import HttpChannelGateway
from stockd.adapters.webhooks.signing import HEADER, verify
from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.domain.security import Role
from stockd.entrypoints.workers.channels import run_channel_sync
from stockd.entrypoints.workers.consumers import run_consumers
from stockd.entrypoints.workers.notifications import run_webhook_deliveries
from stockd.entrypoints.workers.relay import run_relay
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.channels import Fakes, OffsetClock, define_channels, eventually, gateway_for, settled, start_fakes
from tests.support.invariants import assert_invariants


@pytest.fixture
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_size=20, channel_poll_interval_seconds=0.2,
                    channel_retry_base_seconds=0.05, channel_retry_max_seconds=0.5,
                    webhook_poll_interval_seconds=0.1, notification_cache_seconds=0.1)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started = start_fakes()
    yield started
    for fake in started.all():
        fake.stop()


class Workers:
    """The relay, every consumer (channel sync, alerts, webhooks), the channel pusher and the webhook sender."""

    def __init__(self, services: Stockd, gateway: HttpChannelGateway) -> None:
        self.stop = asyncio.Event()
        self.gateway = gateway
        self.tasks = [asyncio.create_task(run_relay(services, self.stop)),
                      asyncio.create_task(run_consumers(services, self.stop)),
                      asyncio.create_task(run_channel_sync(services, self.stop, gateway)),
                      asyncio.create_task(run_webhook_deliveries(services, self.stop))]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        await self.gateway.close()


@pytest.fixture
async def workers(services: Stockd, fakes: Fakes) -> AsyncIterator[Workers]:
    running = Workers(services, gateway_for(fakes))
    yield running
    await running.close()


def shown(fakes: Fakes, sku: str) -> tuple[int | None, int | None, int | None]:
    return (fakes.shopify.latest(sku), fakes.amazon.latest(f"{sku}-AMZ"), fakes.webhook.latest(sku))


async def test_a_count_far_off_freezes_the_row_for_orders_and_channels_until_a_manager_accepts(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd, fakes: Fakes, workers: Workers
) -> None:
    await setup_catalog(client)  # TEE 10 and MUG 4 at WH-A
    await define_channels(client)  # shop 0.9 and wholesale 0.7 - 2 (WH-A, WH-B), amazon 0.85 (WH-A)
    await eventually(lambda: shown(fakes, "TEE") == (9, 8, 5), message=f"TEE shown {shown(fakes, 'TEE')}")

    counter = {"Authorization": f"Bearer {await new_key(services, Role.OPERATOR)}"}
    opened = await anonymous.post("/v1/counts", headers=counter, json={"sku": "TEE", "location": "WH-A"})
    assert opened.status_code == 201, opened.text
    count_id = opened.json()["id"]
    submitted = await anonymous.post(f"/v1/counts/{count_id}/submit", headers=counter, json={"counted": 8})
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["status"], submitted.json()["outcome"]) == ("investigating", "frozen")  # 20% off

    refused = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    assert refused.status_code == 409 and refused.json()["code"] == "sku_frozen", refused.text
    await eventually(lambda: shown(fakes, "TEE") == (0, 0, 0), message=f"frozen TEE shown {shown(fakes, 'TEE')}")
    row = (await client.get("/v1/stock/TEE/WH-A")).json()
    assert (row["on_hand"], row["reserved"], row["frozen"]) == (10, 0, True), "nothing adjusted or held yet"

    manager = {"Authorization": f"Bearer {await new_key(services, Role.MANAGER)}"}
    resolved = await anonymous.post(f"/v1/counts/{count_id}/resolve", headers=manager, json={"action": "accept"})
    assert resolved.status_code == 200, resolved.text
    row = (await client.get("/v1/stock/TEE/WH-A")).json()
    assert (row["on_hand"], row["frozen"]) == (8, False), "the count was applied and the row unfrozen"
    # 8 on hand now: shop floor(8 x 0.9) = 7, amazon floor(8 x 0.85) = 6, wholesale floor(8 x 0.7) - 2 = 3.
    await eventually(lambda: shown(fakes, "TEE") == (7, 6, 3), message=f"TEE shown {shown(fakes, 'TEE')}")
    for values in (fakes.shopify.values("TEE"), fakes.amazon.values("TEE-AMZ"), fakes.webhook.values("TEE")):
        assert values[-2] == 0, f"each channel was shown 0 while frozen, then the new quantity: {values}"
    taken = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    assert taken.status_code == 201, taken.text
    await settled(client)
    assert fakes.problems() == []
    await assert_invariants(services)


class Receiver:
    """A webhook endpoint: a real local HTTP server recording each request (headers, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stockd-events"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def envelopes(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in list(self.requests)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.server.shutdown()
    started.server.server_close()


async def test_an_out_of_stock_alert_raised_by_a_sale_reaches_a_signed_webhook(
    client: httpx.AsyncClient, services: Stockd, workers: Workers, receiver: Receiver
) -> None:
    await setup_catalog(client)
    hook = await client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["alert.*"]})
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]

    sale = await client.post("/v1/reservations", json={"lines": [{"sku": "MUG", "location": "WH-A", "quantity": 4}]})
    assert sale.status_code == 201, sale.text
    assert (await client.post(f"/v1/reservations/{sale.json()['id']}/ship")).status_code == 200

    def out_of_stock() -> list[dict[str, Any]]:
        return [e for e in receiver.envelopes() if e["type"] == "alert.raised" and e["data"]["kind"] == "out_of_stock"]

    await eventually(lambda: bool(out_of_stock()), message=f"received {receiver.envelopes()}")
    (envelope,) = out_of_stock()
    assert (envelope["sku"], envelope["location"]) == ("MUG", "WH-A")
    assert envelope["data"]["message"] == "MUG is out of stock at WH-A"
    headers, body = next((h, b) for h, b in receiver.requests if json.loads(b)["id"] == envelope["id"])
    verify(body, headers[HEADER.lower()], secret)  # raises if the body was altered or signed with another secret
    assert headers["stockd-event-type"] == "alert.raised" and headers["stockd-event-id"] == envelope["id"]
    alert = (await client.get(f"/v1/alerts/{envelope['data']['alert_id']}")).json()
    assert (alert["kind"], alert["status"], alert["sku"], alert["location"]) == ("out_of_stock", "open", "MUG", "WH-A")
    assert sum(1 for _ in out_of_stock()) == 1, "one alert, delivered once"


async def dashboard_html(anonymous: httpx.AsyncClient, key: str, path: str) -> str:
    """A dashboard partial as a logged-in browser gets it (session cookie from /login)."""
    assert (await anonymous.post("/login", data={"api_key": key})).status_code == 303
    r = await anonymous.get(path)
    assert r.status_code == 200, r.text
    return r.text


async def test_the_channel_sync_panel_counts_skus_in_sync_pending_and_failing_per_channel(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd, fakes: Fakes, workers: Workers
) -> None:
    await setup_catalog(client)
    await define_channels(client)
    await settled(client)
    fakes.amazon.down = True  # Amazon answers 503 from now on
    r = await client.post("/v1/receipts", json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 5}]})
    assert r.status_code == 201, r.text

    async def amazon_failing() -> bool:
        items = (await client.get("/v1/channels/amazon/status", params={"failing": True})).json()["items"]
        return [i["sku"] for i in items] == ["TEE"]

    for _ in range(200):
        if await amazon_failing():
            break
        await asyncio.sleep(0.05)
    assert await amazon_failing(), "TEE failed 3 times in a row on Amazon"
    await eventually(lambda: shown(fakes, "TEE")[0] == 13)  # shop floor(15 x 0.9) took the receipt

    viewer = await new_key(services, Role.VIEWER)
    panel = await dashboard_html(anonymous, viewer, "/ui/panels/channels")
    amazon = panel.split('data-channel="amazon"')[1].split("</li>")[0]
    assert '<span class="in-sync">1</span>/2 in sync' in amazon, amazon  # MUG unchanged, TEE behind
    assert '<span class="failing bad">1</span> failing' in amazon and '<span class="pending">0</span>' in amazon
    assert "503" in amazon.split('class="error last-error">')[1], "the error Amazon gave"
    await settled_except_amazon(client)
    shop = (await dashboard_html(anonymous, viewer, "/ui/panels/channels")).split('data-channel="shop"')[1]
    assert '<span class="in-sync">2</span>/2 in sync' in shop.split("</li>")[0] and "last-error" not in shop
    health = await dashboard_html(anonymous, viewer, "/ui/health")
    assert 'data-channel="amazon">amazon 1/2, 1 failing</span>' in health

    scoped = await new_key(services, Role.VIEWER, locations=frozenset({"WH-B"}))
    narrow = await dashboard_html(anonymous, scoped, "/ui/panels/channels")
    assert 'data-channel="shop"' in narrow and 'data-channel="amazon"' not in narrow, "amazon is fed by WH-A only"


async def settled_except_amazon(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        items = (await client.get("/v1/channel-status", params={"limit": 1000})).json()["items"]
        if not any(i["pending"] for i in items if i["channel"] != "amazon"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("shop and wholesale did not settle")
