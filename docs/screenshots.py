"""Take the dashboard screenshots in docs/img/ again: `.venv/bin/python docs/screenshots.py`.

Starts `stockd serve --demo` on a throwaway SQLite database, makes some sales so the charts have a shape,
and photographs the main pages with Playwright driving Debian's Chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "STOCKD_DATABASE_URL": f"sqlite:///{tmp}/shots.db"}
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
            shoot(base, key)
        finally:
            server.terminate()
            server.wait(timeout=20)


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
        page.screenshot(path=str(OUT / "stock.png"), full_page=True)
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
