"""Is the bus there? For /readyz and the health panel: the in-process bus always is; RabbitMQ must accept a
connection within the timeout."""

from __future__ import annotations

import asyncio

import aio_pika
from yarl import URL


def is_broker_url(url: str) -> bool:
    return url.strip().startswith(("amqp://", "amqps://"))


async def probe_bus(url: str, seconds: float) -> str | None:
    """None when the bus is reachable, else why not (without the URL's password)."""
    if not is_broker_url(url):
        return None
    target = URL(url.strip())
    try:
        async with asyncio.timeout(seconds):
            connection = await aio_pika.connect(target, timeout=seconds)
            await connection.close()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if target.password:
            reason = reason.replace(target.password, "***")
        return reason
    return None
