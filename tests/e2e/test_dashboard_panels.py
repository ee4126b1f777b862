"""The operations panels in Chromium against `stockd serve --demo`, fed by the real features: an alert raised by a
sale appears on the open page and is acknowledged from it; a count far off freezes a row (panel and badge) until a
manager accepts it; counts due follow the ABC classes; a viewer sees no button and may not post one."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_dashboard import Server, browser, log_in, page, row, server  # noqa: F401 - the fixtures
from tests.e2e.test_server import run_cli

LIVE = 3000  # ms: an SSE-driven panel refresh, well under the panels' own 5 s timer


@pytest.fixture(scope="module")
def operator(server: Server) -> str:  # noqa: F811
    return run_cli("keys", "create", "--role", "operator", "--name", "floor lead", url=server.url).stdout.strip()


def api_json(srv: Server, method: str, path: str, expect_status: int, **kwargs: Any) -> Any:
    with srv.api() as api:
        r = api.request(method, path, **kwargs)
        assert r.status_code == expect_status, r.text
        return r.json() if r.content else None


def wait_for(check: Any, within: float = 5.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {within}s")


def csrf_token(http: httpx.Client) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', http.get("/").text)
    assert found is not None
    return found.group(1)


def test_an_alert_raised_by_a_sale_appears_live_and_is_acknowledged_from_the_page(
    page: Page, server: Server, operator: str  # noqa: F811
) -> None:
    log_in(page, server, operator)
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    panel = page.locator("#panel-alerts")
    expect(panel.locator("#items-alerts")).to_contain_text("No open alerts.")
    page.evaluate("window.__notReloaded = true")

    # The last 2 steel bottles at the store are reserved: nothing left to promise there.
    api_json(server, "POST", "/v1/reservations", 201,
             json={"lines": [{"sku": "BOTTLE-STEEL", "location": "STORE-NYC", "quantity": 2}]})
    item = panel.locator("li[data-kind=out_of_stock]")
    expect(item).to_have_count(1, timeout=LIVE)
    expect(item).to_contain_text("BOTTLE-STEEL @ STORE-NYC")
    expect(item).to_contain_text("BOTTLE-STEEL is out of stock at STORE-NYC")
    expect(item.locator(".sev")).to_have_text("critical")
    expect(item.locator(".occurrences")).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True, "the panel updated in place"
    alert_id = item.get_attribute("data-alert-id")
    assert api_json(server, "GET", f"/v1/alerts/{alert_id}", 200)["status"] == "open"

    item.locator("button.ack").click()
    expect(item).to_contain_text("acknowledged by", timeout=LIVE)
    expect(item.locator("button.ack")).to_have_count(0)
    acknowledged = api_json(server, "GET", f"/v1/alerts/{alert_id}", 200)
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == operator.split("_")[1]
    assert page.evaluate("window.__notReloaded") is True


def test_a_count_off_by_more_than_10_percent_shows_frozen_until_a_manager_accepts(
    page: Page, server: Server  # noqa: F811
) -> None:
    log_in(page, server, server.admin)
    badge = page.locator(f"{row('HOODIE-GRY-L', 'WH-WEST')} .badge.frozen")
    expect(badge).to_have_count(0)
    frozen = page.locator("#items-frozen li[data-sku='HOODIE-GRY-L'][data-location='WH-WEST']")
    page.evaluate("window.__notReloaded = true")

    count = api_json(server, "POST", "/v1/counts", 201, json={"sku": "HOODIE-GRY-L", "location": "WH-WEST"})
    submitted = api_json(server, "POST", f"/v1/counts/{count['id']}/submit", 200, json={"counted": 20})
    assert submitted["status"] == "investigating" and submitted["outcome"] == "frozen"  # 25 expected, 20% off
    expect(badge).to_have_count(1, timeout=LIVE)
    expect(frozen).to_contain_text("counted 20, expected 25", timeout=LIVE)
    expect(frozen.locator(".count")).to_contain_text(f"{count['id']}: investigating, waiting for a manager")
    expect(page.locator("#panel-alerts li[data-kind=sku_frozen]")).to_contain_text("HOODIE-GRY-L @ WH-WEST")

    api_json(server, "POST", f"/v1/counts/{count['id']}/resolve", 200, json={"action": "accept"})
    expect(badge).to_have_count(0, timeout=LIVE)
    expect(frozen).to_have_count(0, timeout=LIVE)
    expect(page.locator(f"{row('HOODIE-GRY-L', 'WH-WEST')}-on_hand")).to_have_text("20")
    assert page.evaluate("window.__notReloaded") is True, "badge and panel changed without a reload"
    page.reload()
    expect(page.locator("#items-frozen")).to_contain_text("Nothing is frozen.")


def test_counts_due_per_location_follow_the_abc_classes(page: Page, server: Server) -> None:  # noqa: F811
    reservation = api_json(server, "POST", "/v1/reservations", 201,
                           json={"lines": [{"sku": "SOCK-3PK", "location": "3PL-CHI", "quantity": 50}]})
    api_json(server, "POST", f"/v1/reservations/{reservation['id']}/ship", 200)
    log_in(page, server, server.admin)
    chicago = page.locator("#items-counts_due li[data-location='3PL-CHI']")
    expect(chicago.locator(".due-total")).to_have_text("4")  # every row with stock there, never counted
    expect(chicago.locator(".classes")).to_contain_text("A 0 · B 0 · C 4")

    classes = api_json(server, "POST", "/v1/abc/recompute", 200)["items"]
    assert {c["sku"]: c["abc_class"] for c in classes}["SOCK-3PK"] == "A"
    page.reload()
    expect(chicago.locator(".due").first).to_have_attribute("data-sku", "SOCK-3PK")
    expect(chicago.locator(".due").first).to_have_attribute("data-class", "A")
    expect(chicago.locator(".classes")).to_contain_text(re.compile(r"A [1-9]"))
    expected = {(d["location"], d["sku"]) for d in api_json(server, "GET", "/v1/counts/due?limit=1000", 200)["items"]}
    shown = {(li.get_attribute("data-location"), d.get_attribute("data-sku"))
             for li in page.locator("#items-counts_due li").all() for d in li.locator(".due").all()}
    assert shown and shown <= expected


def test_a_viewer_sees_alerts_without_a_button_and_may_not_acknowledge(
    page: Page, server: Server, operator: str  # noqa: F811
) -> None:
    api_json(server, "POST", "/v1/reservations", 201,
             json={"lines": [{"sku": "TEE-WHT-M", "location": "STORE-NYC", "quantity": 10}]})
    alert = wait_for(lambda: api_json(server, "GET", "/v1/alerts?kind=out_of_stock&sku=TEE-WHT-M", 200)["items"])[0]
    log_in(page, server, server.viewer)
    item = page.locator(f"#alert-{alert['id']}")
    expect(item).to_contain_text("TEE-WHT-M is out of stock at STORE-NYC")
    expect(page.locator("#panel-alerts button")).to_have_count(0)

    with httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.post("/login", data={"api_key": server.viewer}).status_code == 303
        refused = http.post(f"/ui/alerts/{alert['id']}/acknowledge", headers={"X-CSRF-Token": csrf_token(http)})
        assert refused.status_code == 403 and "viewer may not" in refused.text
    with httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.post("/login", data={"api_key": operator}).status_code == 303
        assert http.post(f"/ui/alerts/{alert['id']}/acknowledge").status_code == 403, "no CSRF token"
        foreign = http.post(f"/ui/alerts/{alert['id']}/acknowledge",
                            headers={"X-CSRF-Token": csrf_token(http), "Origin": "https://evil.test"})
        assert foreign.status_code == 403, "cross-origin"
    assert api_json(server, "GET", f"/v1/alerts/{alert['id']}", 200)["status"] == "open"


def test_the_dashboard_stream_names_alerts_and_freezes_for_the_panels(server: Server, operator: str) -> None:  # noqa: F811
    """The SSE stream the page holds: an alert arrives as event `alert`, a freeze as a `stock` badge swap plus
    event `frozen` (what the panels' hx-trigger listens for)."""
    with httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.post("/login", data={"api_key": operator}).status_code == 303
        seen: list[str] = []
        with http.stream("GET", "/ui/events") as stream:
            count = api_json(server, "POST", "/v1/counts", 201, json={"sku": "CAP-NVY", "location": "STORE-NYC"})
            api_json(server, "POST", f"/v1/counts/{count['id']}/submit", 200, json={"counted": 1})
            for line in stream.iter_lines():
                seen.append(line)
                if "event: alert" in seen and "event: frozen" in seen:
                    break
        badge = next(line for line in seen if "-frozen" in line and "hx-swap-oob" in line)
        assert row("CAP-NVY", "STORE-NYC")[1:] + "-frozen" in badge and "badge frozen" in badge
        api_json(server, "POST", f"/v1/counts/{count['id']}/resolve", 200, json={"action": "reject"})


def test_purchase_orders_in_transit_show_with_the_late_ones_flagged_first(page: Page, server: Server) -> None:  # noqa: F811
    for code, lead in (("FASTCO", 0), ("SLOWCO", 30)):  # promised today (so already late once sent) / in 30 days
        api_json(server, "POST", "/v1/suppliers", 201,
                 json={"code": code, "name": f"{code} Ltd", "currency": "USD", "lead_time_days": lead})
    api_json(server, "PUT", "/v1/suppliers/FASTCO/products/BOTTLE-STEEL", 200, json={"unit_cost": "6.90"})
    api_json(server, "PUT", "/v1/suppliers/SLOWCO/products/MUG-LOGO", 200, json={"unit_cost": "2.75"})
    api_json(server, "PUT", "/v1/reorder-policies/BOTTLE-STEEL/WH-EAST", 200,
             json={"static_reorder_point": 50, "static_order_quantity": 40})
    api_json(server, "PUT", "/v1/reorder-policies/MUG-LOGO/WH-EAST", 200,
             json={"static_reorder_point": 100, "static_order_quantity": 24})
    run = api_json(server, "POST", "/v1/replenishment/run", 200, json={})
    drafted = {po["supplier"]: po["id"] for po in run["purchase_orders"]}
    assert set(drafted) == {"FASTCO", "SLOWCO"}, run
    log_in(page, server, server.viewer)
    panel = page.locator("#items-purchase_orders")
    expect(panel).to_contain_text("No purchase order in transit.")  # drafts are not in transit

    for po_id in drafted.values():
        api_json(server, "POST", f"/v1/purchase-orders/{po_id}/send", 200)
    page.reload()
    orders = panel.locator("li[data-po]")
    expect(orders).to_have_count(2)
    expect(orders.first).to_have_attribute("data-po", drafted["FASTCO"])
    expect(orders.first.locator(".late-flag")).to_contain_text("late")
    expect(orders.nth(1)).to_have_attribute("data-po", drafted["SLOWCO"])
    expect(orders.nth(1).locator(".late-flag")).to_have_count(0)
    expect(page.locator("#panel-purchase_orders h2")).to_contain_text("2 in transit, 1 late")

    mug = next(ln for ln in api_json(server, "GET", f"/v1/purchase-orders/{drafted['SLOWCO']}", 200)["lines"]
               if ln["location"] == "WH-EAST")
    api_json(server, "POST", f"/v1/purchase-orders/{drafted['SLOWCO']}/receive", 200,
             json={"lines": [{"sku": "MUG-LOGO", "location": "WH-EAST", "quantity": 4}]})
    page.reload()
    expect(orders.nth(1)).to_have_attribute("data-status", "partially_received")
    expect(orders.nth(1).locator(".outstanding")).to_have_text(str(mug["quantity"] - 4))
    api_json(server, "POST", f"/v1/purchase-orders/{drafted['FASTCO']}/receive", 200, json={})
    page.reload()
    expect(orders).to_have_count(1)
    expect(page.locator("#panel-purchase_orders h2 small")).to_have_text("(1 in transit)")
    expect(page.locator("#panel-purchase_orders .late-flag")).to_have_count(0)


@pytest.fixture(autouse=True)
def _no_5xx(server: Server) -> Iterator[None]:  # noqa: F811
    yield
    assert '"status": 500' not in server.log.read_text()
