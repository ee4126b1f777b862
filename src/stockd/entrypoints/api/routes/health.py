"""Liveness, readiness (database and bus) and Prometheus metrics; no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stockd.adapters.bus.probe import probe_bus
from stockd.entrypoints.api.deps import StockdDep
from stockd.entrypoints.api.feed import ChangeFeed
from stockd.entrypoints.api.observability import Metrics
from stockd.service_layer import insights
from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.runner import StorageUnavailableError

router = APIRouter(tags=["health"])

PROBE_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (liveness: restart it if this fails)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(stockd: StockdDep) -> JSONResponse:
    """The database answers and the bus accepts a connection (readiness: send traffic only when 200)."""

    async def probe(uow: UnitOfWork) -> None:
        await uow.locations.list(1, 0)

    checks: dict[str, str] = {}
    try:
        await stockd.runner.run(probe)
        checks["database"] = "ok"
    except StorageUnavailableError as exc:
        checks["database"] = str(exc)[:200]
    bus_error = await probe_bus(stockd.settings.bus_url, PROBE_TIMEOUT_SECONDS)
    checks["bus"] = bus_error or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, stockd: StockdDep) -> Response:
    """Prometheus text format. Outbox lag and the event rate are read from the database at each scrape."""
    registry: Metrics = request.app.state.metrics
    feed: ChangeFeed = request.app.state.feed
    registry.feed_clients.set(feed.listeners)
    try:
        health = await stockd.runner.run(lambda uow: insights.system_health(uow, stockd.env))
    except StorageUnavailableError:
        registry.database_up.set(0)
    else:
        registry.database_up.set(1)
        registry.outbox_unpublished.set(health.outbox.unpublished)
        registry.outbox_age.set(health.outbox_age_seconds)
        registry.events_rate.set(health.events_per_second)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
