"""Schemathesis over the whole OpenAPI spec, in process, on SQLite and on PostgreSQL.

With an admin key no operation answers 5xx, and every 2xx has a documented status, content type and body; every
error is a problem+json body. Without a key every /v1 operation answers 401.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from random import Random
from typing import Any

import httpx
import pytest
import schemathesis
import structlog
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, HookContext
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stockd.bootstrap import Stockd
from stockd.config import Settings
from stockd.domain.security import Role
from stockd.entrypoints.api.app import create_app
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.clock import FakeClock

# The spec comes from an app that is never served (nothing connects before a request); each test sends its cases
# to an app of its own on a fresh database. (schemathesis.pytest.from_fixture, which would build the schema from
# a fixture, does not run on pytest 9: it writes Function._nodeid.)
schema = schemathesis.openapi.from_dict(create_app(Settings(database_url="sqlite://"), sweeper=False).openapi())

# Per operation and database: max_examples bounds the random (fuzzing) phase; the examples and coverage phases add
# a fixed set of cases on top. The fixtures are set up once per operation, not per example, which is intended.
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# What setup_catalog creates, so that generated requests reach past "unknown SKU or location".
SKUS = ("TEE", "MUG")
LOCATIONS = ("WH-A", "WH-B", "SHOP")
KNOWN: dict[str, tuple[str, ...]] = {"sku": SKUS, "location": LOCATIONS, "code": LOCATIONS, "source": LOCATIONS,
                                     "destination": LOCATIONS}
SEEDED_IDS: dict[str, tuple[str, ...]] = {}  # reservation_id and transfer_id of the running test's seed data


def _aim(value: Any, rnd: Random, odds: float) -> Any:
    """`value` with SKU, location and id fields pointed at things that exist and quantities made small (enough for
    the seeded stock), each with probability `odds`."""
    if isinstance(value, list):
        return [_aim(item, rnd, odds) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, item in value.items():
        known = KNOWN.get(name) or SEEDED_IDS.get(name)
        if known and isinstance(item, str) and rnd.random() < odds:
            out[name] = rnd.choice(known)
        elif name == "quantity" and isinstance(item, int | float) and rnd.random() < odds:
            out[name] = rnd.randint(1, 5) * (-1 if item < 0 else 1)
        else:
            out[name] = _aim(item, rnd, odds)
    return out


def _sometimes_aimed(value: Any) -> st.SearchStrategy[Any]:
    """As generated; or partly aimed, which mixes real and unknown things; or wholly aimed, which gets past
    validation to the use cases (a long multi-line body is almost never valid otherwise)."""
    aimed = st.builds(lambda rnd, odds: _aim(value, rnd, odds), st.randoms(use_true_random=False),
                      st.sampled_from((0.7, 1.0)))
    return st.one_of(st.just(value), aimed)


@schema.hook
def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
    return _sometimes_aimed(body)


@schema.hook
def flatmap_headers(context: HookContext, headers: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    # A valid Idempotency-Key from a small pool, so that replays and reuse with another body happen too.
    if not headers or "Idempotency-Key" not in headers:
        return st.just(headers)
    keys = st.sampled_from(("k1", "k2", "k3"))
    return st.one_of(st.just(headers), keys.map(lambda key: {**headers, "Idempotency-Key": key}))


@schema.hook
def flatmap_path_parameters(context: HookContext, path_parameters: dict[str, Any]) -> st.SearchStrategy[Any]:
    return _sometimes_aimed(path_parameters)


@schema.hook
def flatmap_query(context: HookContext, query: dict[str, Any]) -> st.SearchStrategy[Any]:
    return _sometimes_aimed(query)


@pytest.fixture
def clock() -> FakeClock:
    """The seed data's clock starts now: the fuzzed app runs on the system clock, and the seeded reservation must
    not have expired before the fuzzer reaches it."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def admin_token(client: httpx.AsyncClient, services: Stockd) -> AsyncIterator[str]:
    """Catalog, stock, a reservation and a transfer to aim at, and an admin key, written through the test's own
    services (on the test's event loop; the fuzzed app has its own engine)."""
    await setup_catalog(client)
    held = await client.post("/v1/reservations", json={"lines": [{"sku": "TEE", "location": "WH-A", "quantity": 2}]})
    moved = await client.post("/v1/transfers", json={"source": "WH-A", "destination": "WH-B",
                                                     "lines": [{"sku": "MUG", "quantity": 1}]})
    assert held.status_code == moved.status_code == 201, (held.text, moved.text)
    SEEDED_IDS.update(reservation_id=(held.json()["id"],), transfer_id=(moved.json()["id"],))
    yield await new_key(services, Role.ADMIN)
    SEEDED_IDS.clear()


@pytest.fixture
def fuzz_app(database_url: str) -> Iterator[FastAPI]:
    """The app under test. It builds and owns its engine; schemathesis runs its lifespan and every request on one
    event loop (a thread of its own), and shutdown_lifespans() disposes of the engine there. No rate limit."""
    app = create_app(Settings(database_url=database_url, rate_limit_per_second=0), sweeper=False)
    # structlog is not configured in tests; its default renderer would spend seconds on each 500's traceback.
    with structlog.testing.capture_logs():
        yield app
    shutdown_lifespans()


# The live feed is an endless stream by design: it has its own end-to-end test.
@schema.exclude(path="/v1/feed").parametrize()
@FUZZ
def test_with_an_admin_key_nothing_is_a_5xx(case: Case, fuzz_app: FastAPI, admin_token: str) -> None:
    response = case.call(app=fuzz_app, headers={"Authorization": f"Bearer {admin_token}"})
    if 200 <= response.status_code < 300:
        checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    else:
        checks = [not_a_server_error]
    case.validate_response(response, checks=checks)
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text
        assert response.json()["code"], response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@schema.include(path_regex="^/v1/").parametrize()
@settings(FUZZ, max_examples=5)
def test_without_a_key_every_operation_is_401(case: Case, fuzz_app: FastAPI) -> None:
    response = case.call(app=fuzz_app)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code in (405, 413, 415) or response.json().get("code") == "malformed_json":
        # Refused before authentication, without touching anything: a method that is not routed, a body the edge
        # refuses (too large, not JSON), or one FastAPI cannot parse (it parses the body before the dependencies).
        return
    assert response.status_code == 401, (case.method, case.formatted_path, response.status_code, response.text)
    assert response.headers["www-authenticate"] == ["Bearer"]
