"""Idempotent event consumers: each event applied at most once per consumer, never after a later one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from stockd.service_layer.ports import Clock, InboxUnitOfWork

Apply = Callable[[InboxUnitOfWork, dict[str, Any]], Awaitable[None]]


async def apply_once(
    uow_factory: Callable[[], InboxUnitOfWork], clock: Clock, consumer: str, event: dict[str, Any], apply: Apply
) -> bool:
    """Run `apply` for `event` unless `consumer` already applied it or a later event of the same (sku, location);
    the inbox row and the consumer's writes commit together, so a crash between them leaves neither.
    Returns whether it was applied. Errors propagate: the bus redelivers, and the inbox keeps that safe."""
    async with uow_factory() as uow:
        if not await uow.inbox.accept(consumer, event, clock.now()):
            return False
        await apply(uow, event)
        await uow.commit()
        return True
