"""Events that are not stock movements (sku.frozen, po.created, alert.raised, channel.pushed ...): an outbox row
in the caller's transaction, published by the same relay as the stock events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import outbox
from stockd.domain.events import Event
from stockd.service_layer.ports import IdGenerator


def outbox_row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.id, "type": event.type, "sku": event.sku, "location": event.location,
        "sequence": event.sequence, "payload": event.envelope(), "created_at": event.time, "attempts": 0,
    }


class SqlEventOutbox:
    def __init__(self, conn: AsyncConnection, new_id: IdGenerator) -> None:
        self._conn = conn
        self._new_id = new_id
        self.wrote_events = False  # read by the unit of work after commit, to wake the outbox relay

    async def emit(
        self, type: str, data: dict[str, Any], now: datetime, sku: str | None = None, location: str | None = None
    ) -> str:
        # No sequence: only stock movements are numbered per row; consumers of these events read current
        # state rather than rely on their order.
        event = Event(id=self._new_id(), type=type, time=now, sku=sku, location=location, sequence=None, data=data)
        await self._conn.execute(insert(outbox).values(outbox_row(event)))
        self.wrote_events = True
        return event.id
