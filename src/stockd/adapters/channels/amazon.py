"""Amazon SP-API Listings Items: patchListingsItem on the fulfillment_availability attribute.

PATCH {base}/listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=... with an LWA access token in
`x-amz-access-token`. Amazon has no compare-and-swap on quantity, so stockd sends coalesced absolute quantities,
one SKU per call, within the operation's rate limit (about 5 requests a second), and a resync reconciles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from stockd.adapters.channels.base import ChannelEndpoint, RateLimiter, http_error, retry_after_of
from stockd.domain.channels import Channel
from stockd.service_layer.channel_ports import PushOutcome, QuantityPush

API = "/listings/2021-08-01/items"
DEFAULT_RATE_PER_SECOND = 5.0
DEFAULT_PRODUCT_TYPE = "PRODUCT"


def patch_body(channel: Channel, push: QuantityPush) -> dict[str, Any]:
    product_type = push.listing.product_type or channel.config.get("product_type") or DEFAULT_PRODUCT_TYPE
    return {
        "productType": product_type,
        "patches": [{
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": push.quantity}],
        }],
    }


class AmazonConnector:
    def limiter(self, endpoint: ChannelEndpoint) -> RateLimiter | None:
        return RateLimiter(endpoint.rate_per_second or DEFAULT_RATE_PER_SECOND, 5)

    async def push(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                   pushes: Sequence[QuantityPush], limiter: RateLimiter | None) -> list[PushOutcome]:
        outcomes = []
        for push in pushes:  # one call per SKU, paced by the rate limit
            if limiter is not None:
                await limiter.acquire()
            outcomes.append(await self._send(http, channel, endpoint, push))
        return outcomes

    async def _send(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                    push: QuantityPush) -> PushOutcome:
        sku = push.listing.sku
        if not endpoint.token:
            return PushOutcome(sku, f"no access token configured for channel {channel.name}")
        seller_sku = push.listing.external_id or sku
        url = f"{endpoint.base_url.rstrip('/')}{API}/{quote(channel.config['seller_id'], safe='')}/" \
              f"{quote(seller_sku, safe='')}"
        try:
            response = await http.patch(
                url, params={"marketplaceIds": channel.config["marketplace_id"]}, json=patch_body(channel, push),
                headers={"x-amz-access-token": endpoint.token, "Accept": "application/json"},
                timeout=endpoint.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            return PushOutcome(sku, f"{type(exc).__name__}: {exc}"[:500])
        if response.status_code == 429:
            return PushOutcome(sku, http_error(response), retry_after_of(response))
        if not response.is_success:
            return PushOutcome(sku, http_error(response))
        return _accepted(sku, response)


def _accepted(sku: str, response: httpx.Response) -> PushOutcome:
    try:
        body = response.json()
    except ValueError:
        return PushOutcome(sku, "Amazon answered with a body that is not JSON")
    if body.get("status") == "ACCEPTED":
        return PushOutcome(sku)
    issues = "; ".join(str(i.get("message", i)) for i in body.get("issues", []) if isinstance(i, dict))
    return PushOutcome(sku, f"Amazon {body.get('status', 'rejected')}: {issues or 'no reason given'}"[:500])
