"""The service as a user runs it: the `stockd` command, a real server process, real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.databases import PostgresDatabase

STOCKD = [sys.executable, "-m", "stockd.entrypoints.cli"]


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STOCKD_DATABASE_URL": url}
    return subprocess.run([*STOCKD, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pg_url(postgres: PostgresDatabase) -> Iterator[str]:
    """A database of its own, never migrated: the CLI must do it."""
    fresh = PostgresDatabase()
    with psycopg.connect(fresh.url.rsplit("/", 1)[0] + "/test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{fresh.name}"')
    yield fresh.url
    fresh.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_migrate_demo_and_import_from_the_command_line(empty_url: str, tmp_path: Path) -> None:
    assert "serve" in run_cli("--help", url=empty_url).stdout
    migrated = run_cli("migrate", url=empty_url)
    assert migrated.returncode == 0, migrated.stderr
    assert run_cli("migrate", url=empty_url).returncode == 0, "migrate must be repeatable"
    demo = run_cli("demo", url=empty_url)
    assert demo.returncode == 0 and "demo data loaded" in demo.stderr, demo.stderr
    assert "skipped" in run_cli("demo", url=empty_url).stderr
    good = tmp_path / "catalog.csv"
    good.write_text("sku,name,unit_cost,price,location,quantity\nNEW-1,New one,1.20,5.00,WH-EAST,7\n"
                    "TEE-BLK-M,Classic tee black M,4.20,21.00,,\n")
    imported = run_cli("import-csv", str(good), url=empty_url)
    assert imported.returncode == 0, imported.stderr
    assert "1 new, 1 updated" in imported.stderr and "7 units" in imported.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,unit_cost,price,location,quantity\nNEW-2,Fine,1,2,WH-EAST,3\nNEW-3,Broken,abc,2,,\n")
    refused = run_cli("import-csv", str(bad), url=empty_url)
    assert refused.returncode == 2 and "line 3" in refused.stderr and "nothing changed" in refused.stderr


@pytest.fixture
def server(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {**os.environ, "STOCKD_DATABASE_URL": pg_url, "STOCKD_POOL_SIZE": "30"}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([*STOCKD, "serve", "--port", str(port), "--demo", "--log-level", "warning"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not become ready")
        created = run_cli("keys", "create", "--role", "channel", "--channel", "web", "--name", "shop", url=pg_url)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("sk_") and token not in log_text(tmp_path)
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        print(log_text(tmp_path)[-5000:])


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "server.log").read_text()


async def test_200_http_buyers_race_for_50_units_on_a_real_server(server: tuple[str, str], pg_url: str) -> None:
    base, channel_key = server
    admin_key = run_cli("keys", "create", "--role", "admin", url=pg_url).stdout.strip()
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=200),
                                 headers={"Authorization": f"Bearer {channel_key}"}) as http:
        admin = {"Authorization": f"Bearer {admin_key}"}
        r = await http.post("/v1/products", json={"sku": "FLASH", "name": "Flash sale", "unit_cost": 1, "price": 9},
                            headers=admin)
        assert r.status_code == 201
        r = await http.post("/v1/receipts", json={"location": "WH-EAST", "lines": [{"sku": "FLASH", "quantity": 50}]},
                            headers=admin)
        assert r.status_code == 201

        async def buy(i: int) -> httpx.Response:
            # As a real client does: a dropped connection is retried with the same key, never double-applied.
            for attempt in range(3):
                try:
                    return await http.post(
                        "/v1/reservations", headers={"Idempotency-Key": f"buyer-{i}"},
                        json={"lines": [{"sku": "FLASH", "location": "WH-EAST", "quantity": 1}]})
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        responses = await asyncio.gather(*(buy(i) for i in range(200)))
        codes = [r.status_code for r in responses]
        assert codes.count(201) == 50 and codes.count(409) == 150, sorted(set(codes))
        refused = next(r for r in responses if r.status_code == 409).json()
        assert refused["shortfalls"] == [{"sku": "FLASH", "location": "WH-EAST", "requested": 1, "available": 0}]
        retried = await asyncio.gather(*(buy(i) for i in range(200)))
        assert [r.status_code for r in retried].count(201) == 50, "replays must answer as the first time"
        level = (await http.get("/v1/stock/FLASH/WH-EAST")).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (50, 50, 0)
        assert (await http.get("/v1/reconciliation", headers=admin)).json()["consistent"] is True
        assert (await http.get("/v1/reconciliation")).status_code == 403, "a channel key may not audit"
        demo = (await http.get("/v1/stock/TEE-BLK-M")).json()
        assert demo["on_hand"] == 415


def start_server(url: str, log_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    log = log_path.open("w")
    proc = subprocess.Popen([*STOCKD, "serve", "--port", str(port), *extra],
                            env={**os.environ, "STOCKD_DATABASE_URL": url}, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    log.close()
    return proc, port


def wait_until_up(url: str, **kwargs: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1, **kwargs)  # type: ignore[arg-type]
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not come up")


def test_serve_over_tls_prints_an_admin_key_only_the_first_time(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    url = f"sqlite:///{tmp_path / 'tls.db'}"
    first_log = tmp_path / "first.log"
    proc, port = start_server(url, first_log, "--demo", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    try:
        base = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cafile=str(cert))
        wait_until_up(f"{base}/healthz", verify=trust)
        token = next(word for word in first_log.read_text().split() if word.startswith("sk_"))
        r = httpx.get(f"{base}/v1/stock/TEE-BLK-M", verify=trust, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["on_hand"] == 415
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    second_log = tmp_path / "second.log"
    proc, port = start_server(url, second_log)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "sk_" not in second_log.read_text(), "the admin key is printed only when no key exists"
    listed = run_cli("keys", "list", url=url).stdout
    assert "sk_" not in listed and len(listed.strip().splitlines()) == 1
