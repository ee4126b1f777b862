"""What every connector shares: where the channel is (from configuration), and how fast it may be called."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from stockd.domain.channels import Channel
from stockd.service_layer.channel_ports import PushOutcome, QuantityPush

DEFAULT_RETRY_AFTER_SECONDS = 2.0


@dataclass(frozen=True)
class ChannelEndpoint:
    """A channel's base URL and credentials, from configuration only (never the database, never logged)."""

    base_url: str
    token: str | None = None  # Shopify Admin API access token, or an Amazon LWA access token
    secret: str | None = None  # the webhook signing secret
    api_version: str = "2026-04"  # Shopify Admin API version
    rate_per_second: float | None = None  # None: the connector's default
    timeout_seconds: float = 10.0

    def __repr__(self) -> str:
        return f"ChannelEndpoint(base_url={self.base_url!r}, token=***, secret=***)"


class RateLimiter:
    """A token bucket: at most `rate` calls a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self._rate = rate
        self._burst = float(max(1, burst))
        self._tokens = self._burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._stamp = time.monotonic()
                self._tokens = 1.0
            self._tokens -= 1


class ChannelConnector(Protocol):
    async def push(self, http: httpx.AsyncClient, channel: Channel, endpoint: ChannelEndpoint,
                   pushes: Sequence[QuantityPush], limiter: RateLimiter | None) -> list[PushOutcome]: ...

    def limiter(self, endpoint: ChannelEndpoint) -> RateLimiter | None: ...


def failed_all(pushes: Sequence[QuantityPush], error: str, retry_after: float | None = None) -> list[PushOutcome]:
    return [PushOutcome(p.listing.sku, error[:500], retry_after) for p in pushes]


def retry_after_of(response: httpx.Response) -> float:
    """Seconds the channel asked us to wait (Retry-After), or a default."""
    try:
        return max(0.0, float(response.headers.get("retry-after", DEFAULT_RETRY_AFTER_SECONDS)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def http_error(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:200]}"
