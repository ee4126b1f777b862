"""The dashboard in a real browser (Debian's headless Chromium driven by Playwright) against `stockd serve --demo`."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.test_server import run_cli, start_server, wait_until_up
from tests.support.databases import missing_service

CHROMIUM = os.environ.get("STOCKD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class Server:
    base: str
    url: str
    admin: str
    viewer: str
    log: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10, headers={"Authorization": f"Bearer {self.admin}"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'dash.db'}"
    log = tmp / "server.log"
    proc, port = start_server(url, log, "--demo")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz")
        admin = next(word for word in log.read_text().split() if word.startswith("sk_"))
        viewer = run_cli("keys", "create", "--role", "viewer", "--name", "wall screen", url=url).stdout.strip()
        yield Server(base, url, admin, viewer, log)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        missing_service("Chromium", FileNotFoundError(CHROMIUM))
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def log_in(page: Page, server: Server, key: str) -> None:
    page.goto(f"{server.base}/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.fill("#api_key", key)
    page.click("#login")
    expect(page).to_have_url(f"{server.base}/")


def row(sku: str, location: str) -> str:
    return "#r" + f"{sku}|{location}".encode().hex()


def cell(page: Page, sku: str, location: str, bucket: str) -> str:
    return f"{row(sku, location)}-{bucket}"


def reserve(server: Server, sku: str, location: str, quantity: int) -> str:
    with server.api() as api:
        r = api.post("/v1/reservations", json={"lines": [{"sku": sku, "location": location, "quantity": quantity}]})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def test_a_reservation_made_over_the_api_shows_on_the_open_page_within_two_seconds(page: Page, server: Server) -> None:
    log_in(page, server, server.admin)
    expect(page.locator(cell(page, "TEE-BLK-M", "WH-EAST", "on_hand"))).to_have_text("120")
    expect(page.locator(cell(page, "TEE-BLK-M", "WH-EAST", "available"))).to_have_text("120")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))  # the SSE stream is open
    page.evaluate("window.__notReloaded = true")
    reserve(server, "TEE-BLK-M", "WH-EAST", 3)
    expect(page.locator(cell(page, "TEE-BLK-M", "WH-EAST", "reserved"))).to_have_text("3", timeout=2000)
    expect(page.locator(cell(page, "TEE-BLK-M", "WH-EAST", "available"))).to_have_text("117", timeout=2000)
    assert page.evaluate("window.__notReloaded") is True, "the page must update in place"
    page.click(f"{row('TEE-BLK-M', 'WH-EAST')} a.sku")  # warehouse distribution of that SKU
    expect(page.locator("#dist-TEE-BLK-M tfoot")).to_contain_text("415")
    expect(page.locator("#items-alerts")).to_contain_text("No open alerts.")
    expect(page.locator("#items-frozen")).to_contain_text("Nothing is frozen.")
    expect(page.locator("#items-counts_due li[data-location=WH-EAST] .due-total")).to_have_text("7")
    expect(page.locator("#items-channels")).to_contain_text("No channel has listings.")
    expect(page.locator("#items-purchase_orders")).to_contain_text("No purchase order in transit.")
    expect(page.locator("#h-channels")).to_contain_text("no channels")


def test_search_and_sort_the_stock_table(page: Page, server: Server) -> None:
    log_in(page, server, server.admin)
    page.fill("#search", "mug")
    rows = page.locator("#stock-table tbody tr")
    expect(rows).to_have_count(3)  # MUG-LOGO at the three locations that hold it
    for sku in rows.locator("td:first-child").all_inner_texts():
        assert sku == "MUG-LOGO"
    page.fill("#search", "")
    expect(rows).to_have_count(24)
    page.click("th a[data-sort-key=available]")
    expect(page.locator("#stock-table")).to_have_attribute("data-dir", "asc")
    page.click("th a[data-sort-key=available]")
    expect(page.locator("#stock-table")).to_have_attribute("data-dir", "desc")
    expect(page.locator("#stock-table tbody td.avail").first).to_have_text("900")
    expect(rows).to_have_count(24)
    numbers = [int(t) for t in page.locator("#stock-table tbody td.avail").all_inner_texts()]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == 900


def test_trends_chart_draws_stock_and_sales_from_the_ledger(page: Page, server: Server) -> None:
    reservation = reserve(server, "SOCK-3PK", "WH-WEST", 7)
    with server.api() as api:
        assert api.post(f"/v1/reservations/{reservation}/ship").status_code == 200
    log_in(page, server, server.viewer)
    page.goto(f"{server.base}/trends?sku=SOCK-3PK&hours=24")
    expect(page.locator("#stock-chart canvas")).to_have_count(1)
    expect(page.locator("#sales-chart canvas")).to_have_count(1)
    stock = page.evaluate("window.stockdCharts.stock.data")
    sales = page.evaluate("window.stockdCharts.sales.data")
    assert stock[1][0] == 0 and max(stock[1]) == 1855 and stock[1][-1] == 1848, stock
    assert sum(sales[1]) == 7, sales
    expect(page.locator("#fastest tbody tr").first).to_contain_text("SOCK-3PK")
    expect(page.locator("#slowest tbody")).not_to_contain_text("BAG-TOTE")  # nothing on hand is not slow


def test_health_panel_shows_live_numbers(page: Page, server: Server) -> None:
    reserve(server, "CAP-NVY", "WH-EAST", 1)
    log_in(page, server, server.viewer)
    page.goto(f"{server.base}/health")
    expect(page.locator("#h-events")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    expect(page.locator("#h-outbox")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#h-outbox-age")).to_have_text(re.compile(r"^\d+\.\d s$"))
    expect(page.locator("#h-relay")).to_contain_text("running")
    expect(page.locator("#h-latency")).to_have_text(re.compile(r"^\d+(\.\d+)? / \d+(\.\d+)? ms"))
    expect(page.locator("#h-bus")).to_have_text("ok")
    expect(page.locator("#h-clients")).to_have_text(re.compile(r"^[1-9]\d*$"))


def test_a_viewer_logs_in_and_out(page: Page, server: Server) -> None:
    log_in(page, server, server.viewer)
    expect(page.locator("#who")).to_contain_text("(viewer)")
    expect(page.locator(cell(page, "CAP-NVY", "WH-WEST", "on_hand"))).to_have_text("150")
    page.click("#logout")
    expect(page).to_have_url(f"{server.base}/login")
    assert not [c for c in page.context.cookies() if c["name"] == "stockd_session"]
    page.goto(f"{server.base}/trends")
    expect(page).to_have_url(f"{server.base}/login")


def test_a_wrong_key_is_refused(page: Page, server: Server) -> None:
    page.goto(f"{server.base}/login")
    page.fill("#api_key", server.admin[:-4] + "abcd")
    page.click("#login")
    expect(page.locator("#login-error")).to_contain_text("not valid")
    assert not page.context.cookies()
    page.goto(f"{server.base}/")
    expect(page).to_have_url(f"{server.base}/login")


def test_session_cookie_and_csrf(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        r = http.post("/login", data={"api_key": server.viewer})
        assert r.status_code == 303
        set_cookie = r.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and server.viewer not in set_cookie
        assert http.get("/").status_code == 200
        assert http.post("/logout").status_code == 403, "no CSRF token"
        assert http.post("/logout", data={"csrf_token": "forged"}).status_code == 403
        page = http.get("/").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        foreign = http.post("/logout", data={"csrf_token": token.group(1)}, headers={"Origin": "https://evil.test"})
        assert foreign.status_code == 403
        cookie = http.cookies["stockd_session"]
        assert http.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
        # The old cookie, replayed after logout, opens nothing.
        replay = httpx.get(f"{server.base}/", cookies={"stockd_session": cookie})
        assert replay.status_code == 303
        assert http.post("/login", data={"api_key": server.admin}, headers={"Origin": "https://evil.test"}
                         ).status_code == 403, "login CSRF"
        device = run_cli("keys", "create", "--role", "device", url=server.url).stdout.strip()
        assert http.post("/login", data={"api_key": device}).status_code == 403, "a device key cannot read"


def test_every_request_is_one_json_log_line_without_keys(server: Server) -> None:
    with server.api() as api:
        api.get("/v1/stock/TEE-BLK-M", headers={"X-Request-Id": "trace-me-1"})
    # The request's line is written once the response has gone out: under load, a moment after the client has it.
    deadline = time.monotonic() + 5
    while "trace-me-1" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    requests = [entry for entry in lines if entry.get("event") == "request"]
    mine = [entry for entry in requests if entry["request_id"] == "trace-me-1"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1/stock/{sku}" and mine[0]["status"] == 200 and mine[0]["method"] == "GET"
    assert mine[0]["level"] == "info" and isinstance(mine[0]["duration_ms"], float) and mine[0]["timestamp"]
    json_text = json.dumps(lines)
    assert "sk_" not in json_text and "stockd_session" not in json_text
