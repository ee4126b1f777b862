"""Sends a webhook: POST of the exact signed bytes, with httpx."""

from __future__ import annotations

import httpx

from stockd.adapters.webhooks.signing import sign
from stockd.service_layer.ports import WebhookSendError


class HttpWebhookSender:
    def __init__(self, timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        # Redirects are not followed: a receiver that moved must be re-subscribed at its new URL.
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, url: str, secret: str, body: bytes, headers: dict[str, str]) -> int:
        signed = {"Content-Type": "application/json", "User-Agent": "stockd-webhooks", **headers, **sign(body, secret)}
        try:
            response = await self._client.post(url, content=body, headers=signed)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            # Any failure to get an answer is this delivery's problem, recorded on it, never the whole round's.
            raise WebhookSendError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return response.status_code

    async def close(self) -> None:
        await self._client.aclose()
