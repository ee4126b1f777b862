"""The consumers' inbox: drops redelivered events and stale sequences, in the consumer's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import consumer_positions, inbox


class SqlInbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def accept(self, consumer: str, event: dict[str, Any], now: datetime) -> bool:
        if not await self._first_time(consumer, str(event["id"]), now):
            return False
        sku, location, sequence = event.get("sku"), event.get("location"), event.get("sequence")
        if sku is None or location is None or sequence is None:
            return True  # not a per-row event: there is no order to keep
        return await self._advance(consumer, sku, location, int(sequence), now)

    async def _first_time(self, consumer: str, event_id: str, now: datetime) -> bool:
        # ON CONFLICT DO NOTHING rather than catching the duplicate key: on PostgreSQL a twin delivery being
        # applied concurrently makes this wait for its commit, then insert nothing; no error, no retry.
        stmt = (
            self._insert(inbox)
            .values(consumer=consumer, event_id=event_id, received_at=now)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
            .returning(inbox.c.event_id)
        )
        return (await self._conn.execute(stmt)).first() is not None

    async def _advance(self, consumer: str, sku: str, location: str, sequence: int, now: datetime) -> bool:
        """Move the consumer's position for this row forward, only forward: a conditional upsert, so the
        check and the write are one statement and two deliveries for the same row cannot both pass it."""
        insert = self._insert(consumer_positions).values(
            consumer=consumer, sku=sku, location=location, sequence=sequence, updated_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["consumer", "sku", "location"],
            set_={"sequence": insert.excluded.sequence, "updated_at": insert.excluded.updated_at},
            where=consumer_positions.c.sequence < insert.excluded.sequence,
        ).returning(consumer_positions.c.sequence)
        return (await self._conn.execute(stmt)).first() is not None

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        # Both dialects have the same upsert (INSERT ... ON CONFLICT), under two import paths.
        if self._conn.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
