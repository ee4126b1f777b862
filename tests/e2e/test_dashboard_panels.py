"""The operations panels' extension point, in Chromium: a panel registered with a loader shows its items, and
its button posts (with the session's CSRF token) and redraws it. Alerts will plug in exactly like this."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, expect

from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.domain.security import Permission
from stockd.entrypoints.api.app import create_app
from stockd.entrypoints.dashboard import Panel
from stockd.entrypoints.dashboard.auth import session_writer
from stockd.entrypoints.dashboard.views import render_panel
from stockd.service_layer.ports import Actor
from tests.e2e.test_dashboard import browser  # noqa: F401 - the module-scoped Chromium fixture
from tests.e2e.test_server import free_port, run_cli

Acknowledger = Annotated[Actor, Depends(session_writer(Permission.STOCK_MOVE))]


class Alerts:
    """A stand-in alert source (the real one is on another branch): open alerts, acknowledged by id."""

    def __init__(self) -> None:
        self.open = {"a1": "TEE-BLK-M below reorder point at WH-EAST", "a2": "MUG-LOGO count overdue"}
        self.acknowledged_by: dict[str, str] = {}

    async def load(self, stockd: Stockd, actor: Actor) -> dict[str, Any]:
        return {"items": [{"text": text, "action": f"/ui/alerts/{alert_id}/ack", "action_label": "Acknowledge"}
                          for alert_id, text in sorted(self.open.items())], "empty": "No open alerts."}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, Alerts]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('panels') / 'panels.db'}"
    assert run_cli("demo", url=url).returncode == 0
    operator = run_cli("keys", "create", "--role", "operator", url=url).stdout.strip()
    viewer = run_cli("keys", "create", "--role", "viewer", url=url).stdout.strip()
    alerts = Alerts()
    app = create_app(Settings(database_url=url))
    app.state.panels.register(Panel("alerts", "Open alerts", load=alerts.load, template="panels/list.html"))

    @app.post("/ui/alerts/{alert_id}/ack")
    async def acknowledge(request: Request, alert_id: str, actor: Acknowledger) -> HTMLResponse:
        alerts.open.pop(alert_id, None)
        alerts.acknowledged_by[alert_id] = actor.name
        return await render_panel(request, request.app.state.stockd, actor, "alerts")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield base, operator, viewer, alerts
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_an_alert_is_acknowledged_from_the_page(browser: Browser, served: tuple[str, str, str, Alerts]) -> None:  # noqa: F811
    base, operator, _, alerts = served
    page: Page = browser.new_page()
    page.goto(f"{base}/login")
    page.fill("#api_key", operator)
    page.click("#login")
    items = page.locator("#items-alerts li")
    expect(items).to_have_count(2)
    expect(page.locator("#panel-counts_due .placeholder")).to_be_visible()
    items.filter(has_text="TEE-BLK-M").locator("button.action").click()
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("MUG-LOGO")
    assert alerts.acknowledged_by == {"a1": operator.split("_")[1]}
    page.close()


def test_panel_actions_need_the_csrf_token_and_the_permission(served: tuple[str, str, str, Alerts]) -> None:
    base, operator, viewer, alerts = served
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/login", data={"api_key": operator}).status_code == 303
        assert http.post("/ui/alerts/a2/ack").status_code == 403, "no CSRF token"
        assert "a2" in alerts.open
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/login", data={"api_key": viewer}).status_code == 303
        token = http.get("/").text.split('"X-CSRF-Token": "')[1].split('"')[0]
        refused = http.post("/ui/alerts/a2/ack", headers={"X-CSRF-Token": token})
        assert refused.status_code == 403 and "viewer may not" in refused.text
        assert "a2" in alerts.open
