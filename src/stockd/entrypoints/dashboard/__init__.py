"""The live dashboard: Jinja2 pages, htmx (+ SSE extension) and uPlot served from the package; no build step."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from stockd.config import Settings
from stockd.entrypoints.dashboard import operations, views
from stockd.entrypoints.dashboard.auth import LoginRequiredError
from stockd.entrypoints.dashboard.health import BusStatus
from stockd.entrypoints.dashboard.panels import Panel, PanelRegistry
from stockd.service_layer.ports import Clock
from stockd.service_layer.sessions import SessionSigner

STATIC = Path(__file__).parent / "static"

__all__ = ["Panel", "PanelRegistry", "install"]


def install(app: FastAPI, settings: Settings, clock: Clock) -> None:
    """Mount the dashboard on `app`: pages at /, /trends, /health; partials under /ui; files under /static."""
    secret = settings.session_secret.encode() if settings.session_secret else secrets.token_bytes(32)
    app.state.sessions = SessionSigner(secret, clock, timedelta(hours=settings.session_hours))
    app.state.panels = PanelRegistry()
    operations.register(app.state.panels)
    app.state.bus_status = BusStatus()
    app.include_router(views.router)
    app.include_router(operations.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequiredError, _login_required)


async def _login_required(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    if request.url.path.startswith("/ui/"):
        return JSONResponse({"detail": "log in first"}, status_code=401)
    return RedirectResponse("/login", status_code=303)
