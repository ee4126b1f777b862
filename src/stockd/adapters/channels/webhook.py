"""A generic channel behind a JSON webhook, each push signed with HMAC-SHA256 (Stockd-Signature)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from stockd.adapters.channels.base import ChannelEndpoint, RateLimiter, http_error, retry_after_of
from stockd.adapters.webhooks.signing import sign
from stockd.domain.channels import Channel
from stockd.service_layer.channel_ports import PushOutcome, QuantityPush

CONCURRENCY = 8


def payload(channel: Channel, push: QuantityPush) -> bytes:
    """The body: the SKU, its channel id, the quantity to show, the one before, and an id to dedupe on."""
    return json.dumps({
        "channel": channel.name, "sku": push.listing.sku, "external_id": push.listing.external_id,
        "quantity": push.quantity, "previous": push.previous, "event_id": push.key,
        "time": datetime.now(UTC).isoformat(),
    }, separators=(",", ":")).encode()


class WebhookConnector:
    def limiter(self, endpoint: ChannelEndpoint) -> RateLimiter | None:
        return RateLimiter(endpoint.rate_per_second, 10) if endpoint.rate_per_second else None

    async def push(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                   pushes: Sequence[QuantityPush], limiter: RateLimiter | None) -> list[PushOutcome]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(push: QuantityPush) -> PushOutcome:
            async with gate:
                if limiter is not None:
                    await limiter.acquire()
                return await self._send(http, channel, endpoint, push)

        return list(await asyncio.gather(*(one(p) for p in pushes)))

    async def _send(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                    push: QuantityPush) -> PushOutcome:
        if not endpoint.secret:
            return PushOutcome(push.listing.sku, f"no signing secret configured for channel {channel.name}")
        body = payload(channel, push)
        headers = {"Content-Type": "application/json", "Idempotency-Key": push.key, **sign(body, endpoint.secret)}
        try:
            response = await http.post(endpoint.base_url, content=body, headers=headers,
                                       timeout=endpoint.timeout_seconds)
        except httpx.HTTPError as exc:
            return PushOutcome(push.listing.sku, f"{type(exc).__name__}: {exc}"[:500])
        if response.status_code == 429:
            return PushOutcome(push.listing.sku, http_error(response), retry_after_of(response))
        if not response.is_success:
            return PushOutcome(push.listing.sku, http_error(response))
        return PushOutcome(push.listing.sku)
