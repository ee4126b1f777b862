"""/metrics, /healthz and /readyz through the app, against real databases and a real (or unreachable) RabbitMQ."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.security import Role
from stockd.entrypoints.api.app import create_app
from tests.conftest import new_key, seed
from tests.e2e.test_server import free_port
from tests.support.rabbitmq import require_rabbitmq


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match.group(1) == name and ",".join(sorted((match.group(2) or "").split(","))).strip(
                ",") == wanted:
            return float(match.group(3))
    return 0.0


async def test_metrics_count_requests_reservations_and_outbox_lag(
        client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd) -> None:
    await seed(services, {("HOT", "WH"): 2})
    before = (await anonymous.get("/metrics")).text
    for _ in range(3):
        assert (await client.get("/v1/stock/HOT")).status_code == 200
    line = {"lines": [{"sku": "HOT", "location": "WH", "quantity": 2}]}
    assert (await client.post("/v1/reservations", json=line, headers={"Idempotency-Key": "k1"})).status_code == 201
    assert (await client.post("/v1/reservations", json=line, headers={"Idempotency-Key": "k1"})).status_code == 201
    assert (await client.post("/v1/reservations", json=line)).status_code == 409
    assert (await anonymous.post("/v1/reservations", json=line)).status_code == 401
    assert (await client.get("/v1/nowhere/at/all")).status_code == 404
    r = await anonymous.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text
    requests = "stockd_http_requests_total"
    assert sample(after, requests, method="GET", route="/v1/stock/{sku}", status="200") == sample(
        before, requests, method="GET", route="/v1/stock/{sku}", status="200") + 3
    assert sample(after, requests, method="GET", route="<unmatched>", status="404") >= 1
    assert "/v1/nowhere" not in after, "raw paths never become label values"
    for outcome, count in (("reserved", 1), ("replayed", 1), ("refused", 1), ("denied", 1)):
        assert sample(after, "stockd_reservations_total", outcome=outcome) == count, outcome
    assert sample(after, "stockd_reservation_duration_seconds_count") == 3
    assert sample(after, "stockd_http_request_duration_seconds_count", method="GET", route="/v1/stock/{sku}") >= 3
    # No relay runs in this app (sweeper=False): the receipt and the reservation wait in the outbox.
    assert sample(after, "stockd_outbox_unpublished") == 2
    assert sample(after, "stockd_outbox_oldest_unpublished_age_seconds") >= 0
    assert sample(after, "stockd_database_up") == 1
    assert sample(after, "stockd_events_relayed_total") == 0
    relayed = await services.relay().relay_once()
    assert relayed == 2
    assert sample((await anonymous.get("/metrics")).text, "stockd_outbox_unpublished") == 0


async def test_events_relayed_counts_what_the_servers_relay_published(services: Stockd) -> None:
    await seed(services, {("A", "WH"): 5})
    app = create_app(services=services, sweeper=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stockd.test") as http:
            for _ in range(100):
                # The outbox gauge is read from the database before the relay's counter in one scrape; the
                # relay may publish in between, so wait for a scrape that saw it done on both sides.
                text = (await http.get("/metrics")).text
                if sample(text, "stockd_events_relayed_total") >= 1 and sample(text, "stockd_outbox_unpublished") == 0:
                    break
                await asyncio.sleep(0.05)
            assert sample(text, "stockd_events_relayed_total") == 1
            assert sample(text, "stockd_relay_running") == 1
            assert sample(text, "stockd_outbox_unpublished") == 0


@pytest.fixture
async def unreachable_db() -> AsyncIterator[Stockd]:
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/test", pool_size=1)
    wired = bootstrap(settings)
    yield wired
    await wired.close()


async def ready(app_services: Stockd) -> httpx.Response:
    app = create_app(services=app_services, sweeper=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockd.test") as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        return await http.get("/readyz")


async def test_readyz_is_503_when_the_database_is_unreachable(unreachable_db: Stockd) -> None:
    r = await ready(unreachable_db)
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["database"] != "ok" and body["bus"] == "ok"


async def test_readyz_checks_rabbitmq_when_the_bus_is_amqp(settings: Settings) -> None:
    url = await require_rabbitmq()
    for bus_url, status in ((url, 200), (f"amqp://guest:secretpw@127.0.0.1:{free_port()}/", 503)):
        wired = bootstrap(settings.model_copy(update={"bus_url": bus_url}))
        try:
            r = await ready(wired)
        finally:
            await wired.close()
        assert r.status_code == status, r.text
        assert r.json()["database"] == "ok"
        assert (r.json()["bus"] == "ok") == (status == 200)
        assert "secretpw" not in r.text


async def test_a_viewer_key_reads_metrics_free_but_the_dashboard_needs_a_session(
        anonymous: httpx.AsyncClient, services: Stockd) -> None:
    viewer = await new_key(services, Role.VIEWER)
    assert (await anonymous.get("/", follow_redirects=False)).headers["location"] == "/login"
    assert (await anonymous.get("/ui/stock", headers={"HX-Request": "true"})).headers["hx-redirect"] == "/login"
    assert (await anonymous.get("/ui/events")).status_code == 401
    r = await anonymous.post("/login", data={"api_key": viewer})
    assert r.status_code == 303
    assert (await anonymous.get("/ui/stock")).status_code == 200
    static = await anonymous.get("/static/htmx.min.js")
    assert static.status_code == 200 and "htmx" in static.text
