"""Authentication, roles, location scopes, channel ownership, rate limits and the audit trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from stockd.adapters.db.tables import api_keys
from stockd.adapters.db.unit_of_work import SqlUnitOfWork
from stockd.bootstrap import Stockd
from stockd.domain.alerts import AlertDraft, AlertKind
from stockd.domain.security import ROLE_PERMISSIONS, Permission, Role
from stockd.service_layer.alerts import raise_alert
from tests.conftest import new_key
from tests.e2e.test_api import setup_catalog
from tests.support.invariants import assert_invariants

Setup = Callable[[httpx.AsyncClient], Awaitable[str]]


async def _reservation(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/reservations", json={
        "channel": "web", "lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]})
    return str(r.json()["id"])


async def _transfer(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/transfers", json={"source": "WH-A", "destination": "WH-B",
                                                "lines": [{"sku": "TEE", "quantity": 1}]})
    return str(r.json()["id"])


async def _key(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/keys", json={"name": "victim", "role": "viewer"})
    return str(r.json()["id"])


async def _none(admin: httpx.AsyncClient) -> str:
    return ""


async def _channel(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/channels", json={"name": "web", "connector": "webhook", "buffer": "0.9",
                                               "locations": ["WH-A"]})
    await admin.put("/v1/channels/web/listings", json={"listings": [{"sku": "TEE"}]})
    return str(r.json()["name"])


async def _count(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/counts", json={"sku": "MUG", "location": "WH-A"})
    return str(r.json()["id"])


async def _investigated_count(admin: httpx.AsyncClient) -> str:
    count_id = await _count(admin)
    await admin.post(f"/v1/counts/{count_id}/submit", json={"counted": 1})
    return count_id


async def _alert(admin: httpx.AsyncClient) -> str:
    stockd = admin._transport.app.state.stockd  # type: ignore[attr-defined]  # the app behind the client
    draft = AlertDraft(AlertKind.PO_LATE, "po_late:PO-1", "PO-1 is late")
    alert, _ = await stockd.runner.run(lambda uow: raise_alert(uow, stockd.env, draft))
    return str(alert.id)


async def _webhook(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/webhooks", json={"url": "http://hooks.test/in", "event_types": ["#"]})
    return str(r.json()["id"])


async def _supplier(admin: httpx.AsyncClient) -> str:
    r = await admin.post("/v1/suppliers", json={"code": "ACME", "name": "Acme", "currency": "EUR",
                                                "lead_time_days": 3})
    assert (await admin.put("/v1/suppliers/ACME/products/TEE", json={"unit_cost": 1})).status_code == 200
    return str(r.json()["code"])


async def _draft_po(admin: httpx.AsyncClient) -> str:
    await _supplier(admin)
    await admin.put("/v1/reorder-policies/TEE/WH-A", json={"static_reorder_point": 50})
    r = await admin.post("/v1/replenishment/run", json={})
    return str(r.json()["purchase_orders"][0]["id"])


async def _policy(admin: httpx.AsyncClient) -> str:
    await _draft_po(admin)
    return ""


async def _sent_po(admin: httpx.AsyncClient) -> str:
    po_id = await _draft_po(admin)
    await admin.post(f"/v1/purchase-orders/{po_id}/send")
    return po_id


# method, path ({} is filled by setup), body, the permission it needs, setup
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Permission, Setup]] = [
    ("GET", "/v1/products", None, Permission.READ, _none),
    ("GET", "/v1/products/TEE", None, Permission.READ, _none),
    ("POST", "/v1/products", {"sku": "NEW", "name": "New", "unit_cost": 1, "price": 2}, Permission.CATALOG_WRITE,
     _none),
    ("PATCH", "/v1/products/TEE", {"price": 3}, Permission.CATALOG_WRITE, _none),
    ("GET", "/v1/locations", None, Permission.READ, _none),
    ("GET", "/v1/locations/WH-A", None, Permission.READ, _none),
    ("POST", "/v1/locations", {"code": "WH-C", "name": "C", "kind": "warehouse"}, Permission.CATALOG_WRITE, _none),
    ("PATCH", "/v1/locations/WH-A", {"name": "A2"}, Permission.CATALOG_WRITE, _none),
    ("GET", "/v1/stock", None, Permission.READ, _none),
    ("GET", "/v1/stock/TEE", None, Permission.READ, _none),
    ("GET", "/v1/stock/TEE/WH-A", None, Permission.READ, _none),
    ("POST", "/v1/receipts", {"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 1}]}, Permission.STOCK_MOVE,
     _none),
    ("POST", "/v1/adjustments", {"sku": "TEE", "location": "WH-A", "quantity": 1, "reason": "found"},
     Permission.STOCK_MOVE, _none),
    ("POST", "/v1/returns", {"sku": "TEE", "location": "WH-A", "quantity": 1}, Permission.STOCK_MOVE, _none),
    ("POST", "/v1/transfers", {"source": "WH-A", "destination": "WH-B", "lines": [{"sku": "TEE", "quantity": 1}]},
     Permission.STOCK_MOVE, _none),
    ("GET", "/v1/transfers/{}", None, Permission.READ, _transfer),
    ("POST", "/v1/transfers/{}/receive", None, Permission.STOCK_MOVE, _transfer),
    ("POST", "/v1/reservations", {"channel": "web", "lines": [{"sku": "TEE", "location": "WH-A", "quantity": 1}]},
     Permission.RESERVE, _none),
    ("GET", "/v1/reservations/{}", None, Permission.READ, _reservation),
    ("POST", "/v1/reservations/{}/commit", None, Permission.RESERVE, _reservation),
    ("POST", "/v1/reservations/{}/release", None, Permission.RESERVE, _reservation),
    ("POST", "/v1/reservations/{}/ship", None, Permission.SHIP, _reservation),
    ("GET", "/v1/movements", None, Permission.READ, _none),
    ("GET", "/v1/reconciliation", None, Permission.AUDIT_READ, _none),
    ("GET", "/v1/audit", None, Permission.AUDIT_READ, _none),
    ("GET", "/v1/keys", None, Permission.KEYS_MANAGE, _none),
    ("POST", "/v1/keys", {"name": "n", "role": "viewer"}, Permission.KEYS_MANAGE, _none),
    ("DELETE", "/v1/keys/{}", None, Permission.KEYS_MANAGE, _key),
    ("POST", "/v1/channels", {"name": "new", "connector": "webhook", "buffer": "0.5"}, Permission.CHANNELS_MANAGE,
     _none),
    ("GET", "/v1/channels", None, Permission.READ, _none),
    ("GET", "/v1/channels/{}", None, Permission.READ, _channel),
    ("PATCH", "/v1/channels/{}", {"buffer": "0.8"}, Permission.CHANNELS_MANAGE, _channel),
    ("PUT", "/v1/channels/{}/listings", {"listings": [{"sku": "MUG"}]}, Permission.CHANNELS_MANAGE, _channel),
    ("GET", "/v1/channels/{}/listings", None, Permission.READ, _channel),
    ("DELETE", "/v1/channels/{}/listings/TEE", None, Permission.CHANNELS_MANAGE, _channel),
    ("GET", "/v1/channels/{}/status", None, Permission.READ, _channel),
    ("GET", "/v1/channel-status", None, Permission.READ, _none),
    ("POST", "/v1/channels/{}/resync", None, Permission.CHANNELS_MANAGE, _channel),
    ("POST", "/v1/channel-resync", None, Permission.CHANNELS_MANAGE, _none),
    ("POST", "/v1/abc/recompute", None, Permission.COUNT_RESOLVE, _none),
    ("GET", "/v1/abc", None, Permission.READ, _none),
    ("GET", "/v1/counts/due", None, Permission.COUNT, _none),
    ("POST", "/v1/counts", {"sku": "TEE", "location": "WH-A"}, Permission.COUNT, _none),
    ("GET", "/v1/counts", None, Permission.READ, _none),
    ("GET", "/v1/counts/{}", None, Permission.READ, _count),
    ("POST", "/v1/counts/{}/submit", {"counted": 10}, Permission.COUNT, _count),
    ("POST", "/v1/counts/{}/resolve", {"action": "reject"}, Permission.COUNT_RESOLVE, _investigated_count),
    ("GET", "/v1/alerts", None, Permission.READ, _none),
    ("GET", "/v1/alerts/{}", None, Permission.READ, _alert),
    ("POST", "/v1/alerts/{}/acknowledge", None, Permission.ALERTS_MANAGE, _alert),
    ("POST", "/v1/alerts/{}/resolve", None, Permission.ALERTS_MANAGE, _alert),
    ("POST", "/v1/webhooks", {"url": "http://hooks.test/in", "event_types": ["alert.*"]}, Permission.WEBHOOKS_MANAGE,
     _none),
    ("GET", "/v1/webhooks", None, Permission.WEBHOOKS_MANAGE, _none),
    ("GET", "/v1/webhooks/{}", None, Permission.WEBHOOKS_MANAGE, _webhook),
    ("DELETE", "/v1/webhooks/{}", None, Permission.WEBHOOKS_MANAGE, _webhook),
    ("GET", "/v1/webhooks/{}/deliveries", None, Permission.WEBHOOKS_MANAGE, _webhook),
    ("POST", "/v1/suppliers", {"code": "NEW", "name": "New", "currency": "EUR", "lead_time_days": 2},
     Permission.PURCHASING, _none),
    ("GET", "/v1/suppliers", None, Permission.READ, _supplier),
    ("GET", "/v1/suppliers/{}", None, Permission.READ, _supplier),
    ("PATCH", "/v1/suppliers/{}", {"lead_time_days": 4}, Permission.PURCHASING, _supplier),
    ("GET", "/v1/suppliers/{}/stats", None, Permission.READ, _supplier),
    ("PUT", "/v1/suppliers/{}/products/MUG", {"unit_cost": 1}, Permission.PURCHASING, _supplier),
    ("GET", "/v1/suppliers/{}/products", None, Permission.READ, _supplier),
    ("GET", "/v1/reorder-policies", None, Permission.READ, _none),
    ("PUT", "/v1/reorder-policies/TEE/WH-A", {"service_level": 0.9}, Permission.PURCHASING, _none),
    ("GET", "/v1/reorder-policies/TEE/WH-A", None, Permission.READ, _policy),
    ("GET", "/v1/reorder-policies/TEE/WH-A/changes", None, Permission.READ, _none),
    ("GET", "/v1/forecasts/TEE/WH-A", None, Permission.READ, _none),
    ("POST", "/v1/replenishment/run", {"dry_run": True}, Permission.PURCHASING, _supplier),
    ("GET", "/v1/replenishment/runs", None, Permission.READ, _none),
    ("GET", "/v1/purchase-orders", None, Permission.READ, _none),
    ("GET", "/v1/purchase-orders/{}", None, Permission.READ, _draft_po),
    ("POST", "/v1/purchase-orders/{}/send", None, Permission.PURCHASING, _draft_po),
    ("POST", "/v1/purchase-orders/{}/receive", {}, Permission.PURCHASING, _sent_po),
    ("POST", "/v1/purchase-orders/{}/cancel", None, Permission.PURCHASING, _draft_po),
    ("GET", "/v1/budgets", None, Permission.READ, _none),
    ("PUT", "/v1/budgets/2026-03/EUR", {"amount": 100}, Permission.PURCHASING, _none),
]
CASES = [(role, *endpoint) for role in Role for endpoint in ENDPOINTS]


def _id(case: tuple[Any, ...]) -> str:
    return f"{case[0].value}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("role", "method", "path", "body", "permission", "setup"), CASES,
                         ids=[_id(c) for c in CASES])
async def test_role_matrix(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd, role: Role, method: str, path: str,
    body: dict[str, Any] | None, permission: Permission, setup: Setup,
) -> None:
    await setup_catalog(client)
    target = path.format(await setup(client))
    token = await new_key(services, role, channel="web" if role is Role.CHANNEL else None)
    r = await anonymous.request(method, target, json=body, headers={"Authorization": f"Bearer {token}"})
    if permission in ROLE_PERMISSIONS[role]:
        assert 200 <= r.status_code < 300, (role, method, target, r.text)
    else:
        assert r.status_code == 403, (role, method, target, r.text)
        assert r.json()["code"] == "forbidden" and role.value in r.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "path", "body", "permission", "setup"), ENDPOINTS,
                         ids=[f"{e[0]}-{e[1]}" for e in ENDPOINTS])
async def test_no_key_or_a_bad_key_is_401_everywhere(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd, method: str, path: str,
    body: dict[str, Any] | None, permission: Permission, setup: Setup,
) -> None:
    await setup_catalog(client)
    target = path.format(await setup(client))
    revoked = await new_key(services, Role.ADMIN)
    key_id = revoked.split("_")[1]
    assert (await client.delete(f"/v1/keys/{key_id}")).status_code == 200
    forged = revoked[:-4] + "AAAA"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="},
                    {"Authorization": f"Bearer {revoked}"}, {"Authorization": f"Bearer {forged}"}):
        r = await anonymous.request(method, target, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


async def test_a_key_scoped_to_one_warehouse_cannot_touch_another(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd
) -> None:
    await setup_catalog(client)
    await client.post("/v1/receipts", json={"location": "WH-B", "lines": [{"sku": "TEE", "quantity": 5}]})
    token = await new_key(services, Role.OPERATOR, locations=frozenset({"WH-A"}))
    operator = {"Authorization": f"Bearer {token}"}
    before = (await client.get("/v1/stock")).json()
    refused = [
        await anonymous.post("/v1/receipts", headers=operator,
                             json={"location": "WH-B", "lines": [{"sku": "TEE", "quantity": 1}]}),
        await anonymous.post("/v1/adjustments", headers=operator,
                             json={"sku": "TEE", "location": "WH-B", "quantity": -1, "reason": "damaged"}),
        await anonymous.post("/v1/transfers", headers=operator,
                             json={"source": "WH-B", "destination": "WH-A", "lines": [{"sku": "TEE", "quantity": 1}]}),
        await anonymous.get("/v1/stock/TEE/WH-B", headers=operator),
        await anonymous.get("/v1/stock", params={"location": "WH-B"}, headers=operator),
        await anonymous.get("/v1/movements", params={"location": "WH-B"}, headers=operator),
        await anonymous.get("/v1/locations/WH-B", headers=operator),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all("WH-B" in r.json()["detail"] for r in refused)
    assert (await client.get("/v1/stock")).json() == before, "nothing changed"
    seen = (await anonymous.get("/v1/stock", headers=operator)).json()["items"]
    assert {row["location"] for row in seen} == {"WH-A"}
    totals = (await anonymous.get("/v1/stock/TEE", headers=operator)).json()
    assert [loc["location"] for loc in totals["locations"]] == ["WH-A"] and totals["on_hand"] == 10
    ledger = (await anonymous.get("/v1/movements", headers=operator)).json()["items"]
    assert {m["location"] for m in ledger} == {"WH-A"}
    ok = await anonymous.post("/v1/receipts", headers=operator,
                              json={"location": "WH-A", "lines": [{"sku": "TEE", "quantity": 1}]})
    assert ok.status_code == 201
    await assert_invariants(services)


async def test_a_channel_key_acts_for_its_own_channel_only(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd
) -> None:
    await setup_catalog(client)
    web = {"Authorization": f"Bearer {await new_key(services, Role.CHANNEL, channel='web')}"}
    line = {"sku": "TEE", "location": "WH-A", "quantity": 1}
    mine = await anonymous.post("/v1/reservations", headers=web, json={"lines": [line]})
    assert mine.status_code == 201 and mine.json()["channel"] == "web"
    other = await anonymous.post("/v1/reservations", headers=web, json={"channel": "amazon", "lines": [line]})
    assert other.status_code == 403
    theirs = (await client.post("/v1/reservations", json={"channel": "amazon", "lines": [line]})).json()
    for action in ("commit", "release"):
        r = await anonymous.post(f"/v1/reservations/{theirs['id']}/{action}", headers=web)
        assert r.status_code == 403 and "web" in r.json()["detail"]
    assert (await anonymous.get(f"/v1/reservations/{theirs['id']}", headers=web)).status_code == 403
    assert (await anonymous.post(f"/v1/reservations/{mine.json()['id']}/commit", headers=web)).status_code == 200
    rows = await assert_invariants(services)
    assert (rows[("TEE", "WH-A")]["reserved"], rows[("TEE", "WH-A")]["committed"]) == (1, 1)


async def test_keys_are_shown_once_and_stored_only_as_digests(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd
) -> None:
    created = (await client.post("/v1/keys", json={"name": "scanner", "role": "viewer"})).json()
    token = created["token"]
    secret = token.split("_", 2)[2]
    assert (await anonymous.get("/v1/products", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    listed = (await client.get("/v1/keys")).text
    assert created["id"] in listed and secret not in listed and "digest" not in listed
    audit = (await client.get("/v1/audit")).text
    assert secret not in audit
    uow = services.uow()
    assert isinstance(uow, SqlUnitOfWork)
    async with uow:
        stored = [tuple(row) for row in await uow.connection.execute(select(api_keys))]
    assert stored and all(secret not in str(row) for row in stored)


async def test_the_rate_limit_answers_429_with_retry_after(services: Stockd) -> None:
    from stockd.config import Settings
    from stockd.entrypoints.api.app import create_app

    settings = Settings(database_url=services.settings.database_url, rate_limit_per_second=1, rate_limit_burst=3)
    app = create_app(settings, services=services, sweeper=False)
    token = await new_key(services, Role.VIEWER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        codes = [(await http.get("/v1/locations")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        limited = await http.get("/v1/locations")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        other = await new_key(services, Role.VIEWER)
        fresh = await http.get("/v1/locations", headers={"Authorization": f"Bearer {other}"})
        assert fresh.status_code == 200, "limits are per key"


async def test_the_audit_trail_names_who_changed_what(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, services: Stockd
) -> None:
    await setup_catalog(client)
    token = await new_key(services, Role.OPERATOR)
    key_id = token.split("_")[1]
    operator = {"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"}
    await anonymous.post("/v1/adjustments", headers=operator,
                         json={"sku": "MUG", "location": "WH-A", "quantity": -1, "reason": "damaged"})
    mine = (await client.get("/v1/audit", params={"actor": key_id})).json()["items"]
    assert [(e["action"], e["sku"], e["location"], e["role"], e["request_id"]) for e in mine] == [
        ("stock.adjusted", "MUG", "WH-A", "operator", "req-42")]
    tee = (await client.get("/v1/audit", params={"sku": "TEE"})).json()["items"]
    assert {e["action"] for e in tee} == {"product.created", "stock.received"}
    at_shop = (await client.get("/v1/audit", params={"location": "SHOP"})).json()["items"]
    assert [e["action"] for e in at_shop] == ["location.created"]
    ledger = (await client.get("/v1/movements", params={"sku": "MUG", "kind": "adjusted"})).json()["items"]
    assert (ledger[0]["actor"], ledger[0]["role"], ledger[0]["request_id"]) == (key_id, "operator", "req-42")
