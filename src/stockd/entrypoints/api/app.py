"""The FastAPI application: create_app(settings) wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from fastapi import FastAPI

import stockd
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.entrypoints import dashboard
from stockd.entrypoints.api import errors
from stockd.entrypoints.api.edge import EdgeGuard
from stockd.entrypoints.api.feed import ChangeFeed, run_feed
from stockd.entrypoints.api.limits import RateLimiter
from stockd.entrypoints.api.observability import Metrics, ObservabilityMiddleware
from stockd.entrypoints.api.routes import (
    alerts,
    catalog,
    counts,
    devices,
    health,
    replenishment,
    reservations,
    security,
    stock,
)
from stockd.entrypoints.api.routes import channels as sales_channels
from stockd.entrypoints.api.routes import feed as live
from stockd.entrypoints.api.routes import webhooks as webhook_routes
from stockd.entrypoints.workers.channels import run_channel_sync
from stockd.entrypoints.workers.consumers import run_consumers
from stockd.entrypoints.workers.notifications import run_schedules, run_webhook_deliveries
from stockd.entrypoints.workers.relay import RelayStats, run_relay
from stockd.entrypoints.workers.replenisher import run_replenisher
from stockd.entrypoints.workers.sweeper import run_sweeper

API_PREFIX = "/v1"


def create_app(settings: Settings | None = None, services: Stockd | None = None, sweeper: bool = True) -> FastAPI:
    """Build the app. Pass `services` to share wiring (tests, an injected clock); else it is built here."""
    settings = settings or (services.settings if services else Settings())
    owned = services is None
    wired = services or bootstrap(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        # The relay runs in the server so a committed change reaches the bus within milliseconds (its commit
        # rings the relay's doorbell); `sweeper=False` (tests driving the app by hand) leaves both off.
        relay = functools.partial(run_relay, stats=relay_stats)
        jobs = (run_sweeper, relay, run_replenisher, run_schedules, run_webhook_deliveries)
        tasks = [asyncio.create_task(job(wired, stop)) for job in jobs] if sweeper else []
        if sweeper and wired.bus is not None:
            # With the in-process bus stockd's consumers live here; with RabbitMQ, in `stockd worker`.
            tasks.append(asyncio.create_task(run_consumers(wired, stop)))
            tasks.append(asyncio.create_task(run_channel_sync(wired, stop)))
        tasks.append(asyncio.create_task(run_feed(wired, feed, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await task
            if owned:
                await wired.close()

    app = FastAPI(
        title="stockd",
        version=stockd.__version__,
        description="Real-time inventory: five numbers per SKU per location, atomic reservations, a ledger.",
        lifespan=lifespan,
    )
    app.state.stockd = wired
    feed = app.state.feed = ChangeFeed()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    relay_stats = app.state.relay_stats = RelayStats()
    metrics = app.state.metrics = Metrics(relay_stats)
    errors.install(app)
    routers = (catalog, stock, reservations, devices, security, live, counts, alerts, webhook_routes, replenishment)
    for module in routers:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(sales_channels.router, prefix=API_PREFIX)
    app.include_router(health.router)
    dashboard.install(app, settings, wired.env.clock)
    app.add_middleware(EdgeGuard, max_body_bytes=settings.max_body_bytes)
    # Outermost, so requests the edge refuses are counted and logged too.
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return app
