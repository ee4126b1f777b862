"""The channel routes: define, change, map SKUs, read the push state, resync; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_api import setup_catalog

AMAZON = {"name": "amazon-us", "connector": "amazon", "buffer": "0.85", "locations": ["WH-A"],
          "config": {"seller_id": "A1SELLER", "marketplace_id": "ATVPDKIKX0DER"}}


@pytest.mark.parametrize(("body", "code"), [
    ({**AMAZON, "buffer": "1.5"}, "validation_failed"),
    ({**AMAZON, "buffer": "0.12345"}, "validation_failed"),
    ({**AMAZON, "buffer": "NaN"}, "validation_failed"),
    ({**AMAZON, "min_reserve": -1}, "validation_failed"),
    ({**AMAZON, "connector": "ebay"}, "validation_failed"),
    ({**AMAZON, "locations": ["NOWHERE"]}, "unknown_location"),
    ({**AMAZON, "config": {"seller_id": "A1SELLER"}}, "invalid_request"),
    ({**AMAZON, "config": {**AMAZON["config"], "token": "Atza|secret"}}, "invalid_request"),
    ({**AMAZON, "name": "bad name"}, "validation_failed"),
    ({**AMAZON, "extra": 1}, "validation_failed"),
])
async def test_a_bad_channel_definition_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    await setup_catalog(client)
    r = await client.post("/v1/channels", json=body)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert (await client.get("/v1/channels")).json() == []


async def test_channels_are_defined_changed_and_read(client: httpx.AsyncClient) -> None:
    await setup_catalog(client)
    created = await client.post("/v1/channels", json=AMAZON)
    assert created.status_code == 201, created.text
    assert created.json()["buffer"] == "0.8500" and created.json()["locations"] == ["WH-A"]
    again = await client.post("/v1/channels", json=AMAZON)
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    r = await client.patch("/v1/channels/amazon-us", json={"buffer": "0.5", "min_reserve": 3,
                                                           "locations": ["WH-A", "WH-B"], "active": False})
    assert r.status_code == 200, r.text
    got = (await client.get("/v1/channels/amazon-us")).json()
    assert (got["buffer"], got["min_reserve"], got["locations"], got["active"]) == ("0.5000", 3, ["WH-A", "WH-B"],
                                                                                   False)
    assert [c["name"] for c in (await client.get("/v1/channels")).json()] == ["amazon-us"]
    missing = await client.get("/v1/channels/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "channel_not_found"
    assert (await client.patch("/v1/channels/nope", json={"buffer": "0.5"})).status_code == 404
    bad = await client.patch("/v1/channels/amazon-us", json={"config": {"seller_id": "A1SELLER"}})
    assert bad.status_code == 422 and (await client.get("/v1/channels/amazon-us")).json() == got
    actions = [e["action"] for e in (await client.get("/v1/audit")).json()["items"]]
    assert "channel.created" in actions and "channel.updated" in actions


async def test_sku_mappings_are_set_in_bulk_all_or_none(client: httpx.AsyncClient) -> None:
    await setup_catalog(client)
    await client.post("/v1/channels", json=AMAZON)
    await client.post("/v1/channels", json={"name": "shop", "connector": "shopify", "buffer": "0.9",
                                            "locations": ["WH-A"]})
    refused = [
        await client.put("/v1/channels/amazon-us/listings", json={"listings": [{"sku": "TEE"}, {"sku": "NOPE"}]}),
        await client.put("/v1/channels/amazon-us/listings", json={"listings": [{"sku": "TEE"}, {"sku": "TEE"}]}),
        await client.put("/v1/channels/amazon-us/listings", json={"listings": []}),
        await client.put("/v1/channels/shop/listings", json={"listings": [{"sku": "TEE"}]}),
        await client.put("/v1/channels/shop/listings", json={"listings": [
            {"sku": "TEE", "external_id": "gid://shopify/InventoryItem/1"}]}),  # no location anywhere
        await client.put("/v1/channels/nope/listings", json={"listings": [{"sku": "TEE"}]}),
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 422, 422, 404], [r.text for r in refused]
    assert (await client.get("/v1/channels/amazon-us/listings")).json() == {"items": []}
    assert (await client.get("/v1/channel-status")).json() == {"items": []}

    r = await client.put("/v1/channels/amazon-us/listings", json={"listings": [
        {"sku": "TEE", "external_id": "TEE-US", "product_type": "SHIRT"}, {"sku": "MUG"}]})
    assert r.status_code == 200, r.text
    listed = (await client.get("/v1/channels/amazon-us/listings")).json()["items"]
    assert [(ln["sku"], ln["external_id"], ln["product_type"]) for ln in listed] == [("MUG", None, None),
                                                                                   ("TEE", "TEE-US", "SHIRT")]
    status = (await client.get("/v1/channels/amazon-us/status")).json()["items"]
    assert [(s["sku"], s["pending"], s["last_pushed"], s["attempts"]) for s in status] == [
        ("MUG", True, None, 0), ("TEE", True, None, 0)], "a new mapping waits to be pushed"
    assert (await client.delete("/v1/channels/amazon-us/listings/MUG")).status_code == 204
    assert (await client.delete("/v1/channels/amazon-us/listings/MUG")).status_code == 404
    assert [s["sku"] for s in (await client.get("/v1/channels/amazon-us/status")).json()["items"]] == ["TEE"]
    r = await client.post("/v1/channels/amazon-us/resync")
    assert r.status_code == 202 and r.json() == {"channel": "amazon-us", "marked": 1}
    assert (await client.post("/v1/channels/nope/resync")).status_code == 404
    assert (await client.get("/v1/channels/nope/status")).status_code == 404
