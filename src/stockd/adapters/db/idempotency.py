"""Stored answers to requests that carried an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import idempotency_keys
from stockd.service_layer.ports import StoredResponse


class SqlIdempotencyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, scope: str, key: str) -> StoredResponse | None:
        t = idempotency_keys
        row = (await self._conn.execute(select(t).where(t.c.scope == scope, t.c.key == key))).first()
        if row is None:
            return None
        m = row._mapping
        return StoredResponse(m["fingerprint"], m["status"], m["body"])

    async def save(self, scope: str, key: str, response: StoredResponse, now: datetime) -> None:
        await self._conn.execute(
            insert(idempotency_keys).values(
                scope=scope, key=key, fingerprint=response.fingerprint, status=response.status,
                body=response.body, created_at=now,
            )
        )

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self._conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff))
        return int(result.rowcount)
