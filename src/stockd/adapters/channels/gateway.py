"""The QuantityPusher the sync uses: picks the connector by the channel's kind and its endpoint by its name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from stockd.adapters.channels.amazon import AmazonConnector
from stockd.adapters.channels.base import ChannelConnector, ChannelEndpoint, RateLimiter, failed_all
from stockd.adapters.channels.shopify import ShopifyConnector
from stockd.adapters.channels.webhook import WebhookConnector
from stockd.domain.channels import Channel, Connector
from stockd.service_layer.channel_ports import PushOutcome, QuantityPush

CONNECTORS: dict[Connector, ChannelConnector] = {
    Connector.SHOPIFY: ShopifyConnector(),
    Connector.AMAZON: AmazonConnector(),
    Connector.WEBHOOK: WebhookConnector(),
}


class HttpChannelGateway:
    def __init__(self, endpoints: Mapping[str, ChannelEndpoint], http: httpx.AsyncClient | None = None) -> None:
        self._endpoints = dict(endpoints)
        self._http = http or httpx.AsyncClient(limits=httpx.Limits(max_connections=50), follow_redirects=False)
        self._limiters: dict[str, RateLimiter | None] = {}

    async def push(self, channel: Channel, pushes: Sequence[QuantityPush]) -> list[PushOutcome]:
        endpoint = self._endpoints.get(channel.name)
        if endpoint is None:
            return failed_all(pushes, f"no endpoint configured for channel {channel.name} "
                                      "(STOCKD_CHANNEL_ENDPOINTS)")
        connector = CONNECTORS[channel.connector]
        if channel.name not in self._limiters:
            self._limiters[channel.name] = connector.limiter(endpoint)
        try:
            return await connector.push(self._http, channel, endpoint, pushes, self._limiters[channel.name])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # A channel that answers nonsense fails this push (retried later); it never stops the pusher.
            return failed_all(pushes, f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        await self._http.aclose()
