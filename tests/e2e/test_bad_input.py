"""Bad input gets a 4xx problem that names the problem, and changes nothing (never a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from stockd.bootstrap import Stockd
from tests.e2e.test_api import setup_catalog
from tests.support.invariants import assert_invariants

LINE = {"sku": "TEE", "location": "WH-A", "quantity": 1}


def reserve_with(**line: Any) -> dict[str, Any]:
    return {"lines": [{**LINE, **line}]}


CASES: list[tuple[str, str, Any, int, str]] = [
    # (name, path, json body, expected status, a word the detail must contain)
    ("zero", "/v1/reservations", reserve_with(quantity=0), 422, "quantity"),
    ("negative", "/v1/reservations", reserve_with(quantity=-3), 422, "quantity"),
    ("fraction", "/v1/reservations", reserve_with(quantity=1.5), 422, "quantity"),
    ("string number", "/v1/reservations", reserve_with(quantity="1"), 422, "quantity"),
    ("2^63", "/v1/reservations", reserve_with(quantity=2**63), 422, "quantity"),
    ("absurd", "/v1/reservations", reserve_with(quantity=10**12), 422, "quantity"),
    ("null", "/v1/reservations", reserve_with(quantity=None), 422, "quantity"),
    ("unknown sku", "/v1/reservations", reserve_with(sku="NOPE"), 422, "NOPE"),
    ("unknown location", "/v1/reservations", reserve_with(location="MARS"), 422, "MARS"),
    ("no lines", "/v1/reservations", {"lines": []}, 422, "lines"),
    ("extra field", "/v1/reservations", {**reserve_with(), "discount": 5}, 422, "discount"),
    ("sql injection sku", "/v1/reservations", reserve_with(sku="x'; DROP TABLE stock;--"), 422, "sku"),
    ("NUL in sku", "/v1/reservations", reserve_with(sku="TE\u0000E"), 422, "sku"),
    ("ttl too long", "/v1/reservations", {**reserve_with(), "ttl_seconds": 10**9}, 422, "ttl_seconds"),
    ("ttl zero", "/v1/reservations", {**reserve_with(), "ttl_seconds": 0}, 422, "ttl_seconds"),
    ("lines not a list", "/v1/reservations", {"lines": "TEE"}, 422, "lines"),
    ("body is a list", "/v1/reservations", [LINE], 422, "body"),
    ("adjust by zero", "/v1/adjustments", {"sku": "TEE", "location": "WH-A", "quantity": 0,
                                           "reason": "correction"}, 422, "0"),
    ("unknown reason", "/v1/adjustments", {"sku": "TEE", "location": "WH-A", "quantity": 1,
                                           "reason": "gift"}, 422, "reason"),
    ("receipt to unknown location", "/v1/receipts", {"location": "NOWHERE", "lines": [{"sku": "TEE",
                                                                                      "quantity": 1}]}, 422, "NOWHERE"),
    ("receipt of unknown sku", "/v1/receipts", {"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 1},
                                                                              {"sku": "GHOST", "quantity": 1}]},
     422, "GHOST"),
    ("transfer to itself", "/v1/transfers", {"source": "WH-A", "destination": "WH-A",
                                             "lines": [{"sku": "TEE", "quantity": 1}]}, 422, "different"),
    ("transfer more than there is", "/v1/transfers", {"source": "WH-A", "destination": "WH-B",
                                                      "lines": [{"sku": "TEE", "quantity": 11}]}, 409, "available 10"),
    ("negative price", "/v1/products", {"sku": "NEW", "name": "n", "unit_cost": -1, "price": 1}, 422, "unit_cost"),
    ("NaN price", "/v1/products", {"sku": "NEW", "name": "n", "unit_cost": "NaN", "price": 1}, 422, "unit_cost"),
    ("control chars in name", "/v1/products", {"sku": "NEW", "name": "a\u0007b", "unit_cost": 1, "price": 1}, 422,
     "control"),
    ("odd unicode sku", "/v1/products", {"sku": "\u202eevil", "name": "n", "unit_cost": 1, "price": 1}, 422, "sku"),
    ("unknown location kind", "/v1/locations", {"code": "X", "name": "x", "kind": "moon"}, 422, "kind"),
]


async def snapshot(client: httpx.AsyncClient) -> tuple[Any, ...]:
    stock = (await client.get("/v1/stock")).json()
    ledger = (await client.get("/v1/movements", params={"limit": 1000})).json()
    products = (await client.get("/v1/products")).json()
    locations = (await client.get("/v1/locations")).json()
    return stock, len(ledger["items"]), products, locations


@pytest.mark.parametrize(("name", "path", "body", "status", "word"), CASES, ids=[c[0] for c in CASES])
async def test_bad_body_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Stockd, name: str, path: str, body: Any, status: int, word: str
) -> None:
    await setup_catalog(client)
    before = await snapshot(client)
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert word in problem["detail"] or word in str(problem.get("errors")), problem
    assert await snapshot(client) == before
    await assert_invariants(services)


RAW_CASES = [
    ("malformed json", b'{"lines": [', "application/json", 400, "malformed_json"),
    ("deeply nested", b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed_json"),
    ("wrong content type", b"sku=TEE", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("oversized", b'{"lines": [' + b'{"sku": "TEE", "location": "WH-A", "quantity": 1},' * 30_000 + b"]}",
     "application/json", 413, "body_too_large"),
    ("not utf-8", b'{"lines": "\xff\xfe"}', "application/json", 400, "malformed_json"),
]


@pytest.mark.parametrize(("name", "raw", "media", "status", "code"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
async def test_unparseable_bodies_are_refused(
    client: httpx.AsyncClient, name: str, raw: bytes, media: str, status: int, code: str
) -> None:
    await setup_catalog(client)
    before = await snapshot(client)
    r = await client.post("/v1/reservations", content=raw, headers={"content-type": media})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert await snapshot(client) == before


async def test_chunked_oversized_body_is_cut_off(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3000):
            yield b" " * 1024

    r = await client.post("/v1/reservations", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("path", "params"),
    [("/v1/stock", {"limit": "1e9"}), ("/v1/stock", {"limit": 0}), ("/v1/movements", {"since": "yesterday"}),
     ("/v1/movements", {"since": "2026-01-01T00:00:00"}), ("/v1/products", {"offset": -1}),
     ("/v1/stock", {"sku": "bad sku!"})],
)
async def test_bad_query_parameters_are_422(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> None:
    r = await client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_failed"


async def test_unknown_things_in_the_url_are_404(client: httpx.AsyncClient) -> None:
    await setup_catalog(client)
    for path in ("/v1/stock/NOPE", "/v1/stock/TEE/NOWHERE", "/v1/reservations/abc-123", "/v1/transfers/abc",
                 "/v1/nothing-here"):
        r = await client.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"]
    r = await client.post("/v1/reservations/abc-123/commit")
    assert r.status_code == 404 and "abc-123" in r.json()["detail"]
