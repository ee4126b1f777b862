"""Take the dashboard screenshots in docs/img/ again: `.venv/bin/python docs/screenshots.py`.

Starts `stockd serve --demo` on a throwaway SQLite database, makes some sales so the charts have a shape, gives
the operations panels something to show (an item sold out, a count far off that froze a row, one under
investigation, ABC classes, two webhook channels: one answering, one down), and photographs the main pages with
Playwright driving Debian's Chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

OUT = Path(__file__).parent / "img"
CHROMIUM = os.environ.get("STOCKD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def activity(base: str, key: str) -> None:
    """A few orders: some shipped (sales), some still held (reserved)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        orders = [("SOCK-3PK", "WH-EAST", 12), ("SOCK-3PK", "WH-WEST", 30), ("TEE-BLK-M", "WH-EAST", 8),
                  ("CAP-NVY", "WH-EAST", 15), ("SOCK-3PK", "3PL-CHI", 20), ("MUG-LOGO", "STORE-NYC", 2),
                  ("TEE-BLK-M", "3PL-CHI", 5), ("HOODIE-GRY-L", "WH-EAST", 3)]
        for i, (sku, location, quantity) in enumerate(orders):
            r = api.post("/v1/reservations", json={"lines": [{"sku": sku, "location": location, "quantity": quantity}]})
            r.raise_for_status()
            if i % 3 != 2:
                api.post(f"/v1/reservations/{r.json()['id']}/ship").raise_for_status()
        api.post("/v1/receipts", json={"location": "WH-EAST", "lines": [{"sku": "SOCK-3PK", "quantity": 40}]})


def operations(base: str, key: str) -> None:
    """Something for each panel: an alert, a frozen row, an investigation, counts due by class, channel sync."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        api.post("/v1/reservations", json={"lines": [{"sku": "BOTTLE-STEEL", "location": "STORE-NYC", "quantity": 2}]}
                 ).raise_for_status()  # sold out there: an out_of_stock alert
        for sku, location, counted in (("HOODIE-GRY-L", "WH-WEST", 20), ("CAP-NVY", "STORE-NYC", 37)):
            count = api.post("/v1/counts", json={"sku": sku, "location": location})
            count.raise_for_status()  # 20 of 25 (20% off) freezes; 37 of 40 (7.5%) is investigated
            api.post(f"/v1/counts/{count.json()['id']}/submit", json={"counted": counted}).raise_for_status()
        api.post("/v1/abc/recompute").raise_for_status()
        for code, lead in (("FASTCO", 0), ("SLOWCO", 21)):  # promised today (late once sent) / in three weeks
            api.post("/v1/suppliers", json={"code": code, "name": f"{code} Ltd", "currency": "USD",
                                            "lead_time_days": lead}).raise_for_status()
        for code, sku, location, cost in (("FASTCO", "BOTTLE-STEEL", "WH-EAST", "6.90"),
                                          ("SLOWCO", "TEE-WHT-M", "WH-WEST", "4.10")):
            api.put(f"/v1/suppliers/{code}/products/{sku}", json={"unit_cost": cost}).raise_for_status()
            api.put(f"/v1/reorder-policies/{sku}/{location}",
                    json={"static_reorder_point": 100, "static_order_quantity": 48}).raise_for_status()
        run = api.post("/v1/replenishment/run", json={})
        run.raise_for_status()
        for po in run.json()["purchase_orders"]:
            api.post(f"/v1/purchase-orders/{po['id']}/send").raise_for_status()
        channels = (("wholesale", "0.8", ["WH-EAST", "WH-WEST"]), ("marketplace", "0.5", ["WH-EAST"]))
        for name, buffer, locations in channels:
            api.post("/v1/channels", json={"name": name, "connector": "webhook", "buffer": buffer,
                                           "locations": locations}).raise_for_status()
            listings = [{"sku": sku, "external_id": f"{name[:2].upper()}-{sku}"}
                        for sku in ("TEE-BLK-M", "CAP-NVY", "SOCK-3PK", "HOODIE-GRY-L")]
            api.put(f"/v1/channels/{name}/listings", json={"listings": listings}).raise_for_status()


class Receiver(BaseHTTPRequestHandler):
    """The wholesale partner's endpoint: takes every push."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        partner = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=partner.serve_forever, daemon=True).start()
        partner_url = f"http://127.0.0.1:{partner.server_address[1]}/stock"
        endpoints = {"wholesale": {"base_url": partner_url, "secret": "whsec_x"},
                     "marketplace": {"base_url": f"http://127.0.0.1:{free_port()}/down", "secret": "whsec_x"}}
        env = {**os.environ, "STOCKD_DATABASE_URL": f"sqlite:///{tmp}/shots.db",
               "STOCKD_CHANNEL_ENDPOINTS": json.dumps(endpoints), "STOCKD_CHANNEL_RETRY_BASE_SECONDS": "0.05",
               "STOCKD_CHANNEL_RETRY_MAX_SECONDS": "0.2"}
        log = Path(tmp) / "server.log"
        with log.open("w") as out:
            server = subprocess.Popen([sys.executable, "-m", "stockd.entrypoints.cli", "serve", "--demo", "--port",
                                       str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            key = next(w for w in log.read_text().split() if w.startswith("sk_"))
            activity(base, key)
            operations(base, key)
            shoot(base, key)
        finally:
            server.terminate()
            server.wait(timeout=20)
            partner.shutdown()


def shoot(base: str, key: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{base}/login")
        page.screenshot(path=str(OUT / "login.png"))
        page.fill("#api_key", key)
        page.click("#login")
        page.wait_for_url(f"{base}/")
        page.click("#stock-table a.sku >> nth=15")
        page.wait_for_selector("#distribution table")
        page.wait_for_selector("#h-events")
        for ready in ("#items-alerts li[data-kind=channel_sync_failing]", "#items-frozen li[data-sku]",
                      "#items-purchase_orders li.late",
                      "#items-counts_due .due[data-class=A]", "#items-channels li[data-channel]"):
            page.wait_for_selector(ready, timeout=20_000)
        page.screenshot(path=str(OUT / "stock.png"), full_page=True)
        page.locator(".grid.ops").screenshot(path=str(OUT / "operations.png"))
        page.goto(f"{base}/trends?sku=SOCK-3PK&hours=24")
        page.wait_for_selector("#sales-chart canvas")
        page.wait_for_selector("#fastest tbody tr")
        page.screenshot(path=str(OUT / "trends.png"), full_page=True)
        page.goto(f"{base}/health")
        page.wait_for_selector("#h-relay")
        page.screenshot(path=str(OUT / "health.png"), full_page=True)
        browser.close()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
