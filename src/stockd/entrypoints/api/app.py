"""The FastAPI application: create_app(settings) wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

import stockd
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.entrypoints.api import errors
from stockd.entrypoints.api.edge import EdgeGuard
from stockd.entrypoints.api.limits import RateLimiter
from stockd.entrypoints.api.routes import catalog, health, reservations, security, stock
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
        task = asyncio.create_task(run_sweeper(wired, stop)) if sweeper else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
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
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    errors.install(app)
    for module in (catalog, stock, reservations, security):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.add_middleware(EdgeGuard, max_body_bytes=settings.max_body_bytes)
    return app
