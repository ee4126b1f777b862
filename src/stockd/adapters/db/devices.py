"""Device events in SQL: the dedupe log, count marks, and the deltas that came after a count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import device_counts, device_events, movements
from stockd.domain.devices import DeviceEvent, Outcome
from stockd.domain.movements import MovementKind

_DELTA_KINDS = [k.value for k in (MovementKind.ADDED, MovementKind.REMOVED, MovementKind.MOVED_OUT,
                                  MovementKind.MOVED_IN)]


class SqlDeviceLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def seen(self, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = sorted(set(event_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._conn.execute(select(device_events.c.event_id).where(device_events.c.event_id.in_(chunk)))
            found.update(r[0] for r in rows)
        return found

    async def record(
        self, event_id: str | None, event: DeviceEvent | None, source: str, now: datetime, outcome: Outcome,
        reason: str | None, raw: dict[str, Any] | None,
    ) -> None:
        values: dict[str, Any] = {"event_id": event_id, "source": source, "received_at": now,
                                  "outcome": outcome.value, "reason": reason[:300] if reason else None, "raw": raw}
        if event is not None:
            values |= {"kind": event.kind.value, "sku": event.sku, "location": event.location,
                       "to_location": event.to_location, "quantity": event.quantity, "occurred_at": event.timestamp}
        await self._conn.execute(insert(device_events).values(**values))

    async def set_outcome(self, event_id: str, outcome: Outcome, reason: str | None) -> None:
        await self._conn.execute(
            update(device_events).where(device_events.c.event_id == event_id)
            .values(outcome=outcome.value, reason=reason)
        )

    async def last_count(self, sku: str, location: str) -> datetime | None:
        stmt = select(device_counts.c.counted_at).where(device_counts.c.sku == sku,
                                                         device_counts.c.location == location)
        row = (await self._conn.execute(stmt)).first()
        return row[0] if row else None

    async def set_last_count(self, sku: str, location: str, counted_at: datetime) -> None:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(device_counts).values(sku=sku, location=location, counted_at=counted_at)
        await self._conn.execute(
            stmt.on_conflict_do_update(index_elements=["sku", "location"], set_={"counted_at": counted_at})
        )

    async def deltas_after(self, sku: str, location: str, after: datetime) -> int:
        """What applied device deltas timestamped after `after` changed this row's on_hand."""
        stmt = (
            select(func.coalesce(func.sum(movements.c.d_on_hand), 0))
            .select_from(movements.join(device_events, device_events.c.event_id == movements.c.reference))
            .where(movements.c.sku == sku, movements.c.location == location,
                   movements.c.kind.in_(_DELTA_KINDS), device_events.c.occurred_at > after)
        )
        return int((await self._conn.execute(stmt)).scalar_one())
