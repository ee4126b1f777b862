"""Shopify Admin GraphQL: inventorySetQuantities on the "available" quantity, with compare-and-swap.

POST {base}/admin/api/{version}/graphql.json, header X-Shopify-Access-Token. Each quantity carries
changeFromQuantity = the value stockd last pushed (null the first time: no compare), and every call an
@idempotent key, so a retried call is applied once. CHANGE_FROM_QUANTITY_STALE (something else moved the
quantity, e.g. a Shopify order) is answered by reading the current value and sending again under a new key.
At most 250 quantities per call; a 429 or a THROTTLED error is retried after the channel's Retry-After.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import httpx

from stockd.adapters.channels.base import (
    DEFAULT_RETRY_AFTER_SECONDS,
    ChannelEndpoint,
    RateLimiter,
    failed_all,
    http_error,
    retry_after_of,
)
from stockd.domain.channels import Channel
from stockd.service_layer.channel_ports import PushOutcome, QuantityPush

MAX_QUANTITIES = 250
STALE = "CHANGE_FROM_QUANTITY_STALE"

SET_QUANTITIES = """mutation StockdSetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}"""

CURRENT_AVAILABLE = """query StockdCurrentAvailable($inventoryItemId: ID!, $locationId: ID!) {
  inventoryItem(id: $inventoryItemId) {
    inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
  }
}"""


class ShopifyError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def location_of(channel: Channel, push: QuantityPush) -> str:
    return push.listing.external_location_id or channel.config.get("location_id", "")


def quantities(
    channel: Channel, pushes: Sequence[QuantityPush], compare: dict[str, int | None]
) -> list[dict[str, Any]]:
    """changeFromQuantity: what Shopify should hold now (our last push, or what we just read); null: no check."""
    return [{"inventoryItemId": p.listing.external_id, "locationId": location_of(channel, p), "quantity": p.quantity,
             "changeFromQuantity": compare.get(p.listing.sku, p.previous)} for p in pushes]


class ShopifyConnector:
    def limiter(self, endpoint: ChannelEndpoint) -> RateLimiter | None:
        return RateLimiter(endpoint.rate_per_second, 2) if endpoint.rate_per_second else None

    async def push(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                   pushes: Sequence[QuantityPush], limiter: RateLimiter | None) -> list[PushOutcome]:
        if not endpoint.token:
            return failed_all(pushes, f"no access token configured for channel {channel.name}")
        outcomes: list[PushOutcome] = []
        for start in range(0, len(pushes), MAX_QUANTITIES):
            chunk = pushes[start:start + MAX_QUANTITIES]
            if limiter is not None:
                await limiter.acquire()
            try:
                await _ShopifyCall(http, channel, endpoint).set_available(chunk)
            except ShopifyError as exc:
                outcomes += failed_all(chunk, str(exc), exc.retry_after)
            except httpx.HTTPError as exc:
                outcomes += failed_all(chunk, f"{type(exc).__name__}: {exc}")
            else:
                outcomes += [PushOutcome(p.listing.sku) for p in chunk]
        return outcomes


class _ShopifyCall:
    def __init__(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint) -> None:
        self._http = http
        self._channel = channel
        self._endpoint = endpoint
        self._url = f"{endpoint.base_url.rstrip('/')}/admin/api/{endpoint.api_version}/graphql.json"

    async def set_available(self, chunk: Sequence[QuantityPush]) -> None:
        key = hashlib.sha256("|".join(p.key for p in chunk).encode()).hexdigest()[:40]
        compare: dict[str, int | None] = {}
        errors = await self._mutate(chunk, compare, key)
        if errors and any(e.get("code") == STALE for e in errors):
            # Someone else changed the quantity since our last push: read what Shopify has, compare against that.
            for push in _named(chunk, errors, STALE):
                compare[push.listing.sku] = await self._current(push)
            errors = await self._mutate(chunk, compare, key + "-reread")
        if errors:
            raise ShopifyError("Shopify userErrors: " + "; ".join(f"{e.get('code')}: {e.get('message')}"
                                                                  for e in errors))

    async def _mutate(self, chunk: Sequence[QuantityPush], compare: dict[str, int | None],
                      key: str) -> list[dict[str, Any]]:
        variables = {"idempotencyKey": key, "input": {
            "name": "available", "reason": "correction",
            "referenceDocumentUri": f"gid://stockd/ChannelSync/{self._channel.name}/{key}",
            "quantities": quantities(self._channel, chunk, compare),
        }}
        data = await self._post(SET_QUANTITIES, variables)
        payload = data.get("inventorySetQuantities") or {}
        return [e for e in payload.get("userErrors") or [] if isinstance(e, dict)]

    async def _current(self, push: QuantityPush) -> int | None:
        data = await self._post(CURRENT_AVAILABLE, {"inventoryItemId": push.listing.external_id,
                                                    "locationId": location_of(self._channel, push)})
        level = (data.get("inventoryItem") or {}).get("inventoryLevel") or {}
        for quantity in level.get("quantities") or []:
            if quantity.get("name") == "available":
                return int(quantity["quantity"])
        return None  # not stocked at that location yet: set it without a compare

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.post(
            self._url, json={"query": query, "variables": variables}, timeout=self._endpoint.timeout_seconds,
            headers={"X-Shopify-Access-Token": self._endpoint.token or "", "Content-Type": "application/json"},
        )
        if response.status_code == 429:
            raise ShopifyError("throttled: " + http_error(response), retry_after_of(response))
        if not response.is_success:
            raise ShopifyError(http_error(response))
        body = response.json()
        errors = body.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)):
            raise ShopifyError("throttled (THROTTLED)", DEFAULT_RETRY_AFTER_SECONDS)
        if errors:
            raise ShopifyError("Shopify errors: " + "; ".join(str(e.get("message", e)) for e in errors)[:400])
        return dict(body.get("data") or {})


def _named(chunk: Sequence[QuantityPush], errors: list[dict[str, Any]], code: str) -> list[QuantityPush]:
    """The pushes an error names by its field path (["input", "quantities", "3", ...]); all when it names none."""
    named: list[QuantityPush] = []
    for error in errors:
        field = error.get("field") or []
        if error.get("code") != code:
            continue
        if len(field) >= 3 and field[1] == "quantities" and str(field[2]).isdigit() and int(field[2]) < len(chunk):
            named.append(chunk[int(field[2])])
        else:
            return list(chunk)
    return named
