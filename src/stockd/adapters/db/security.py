"""API keys (digests only) and the audit log in SQL."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import api_keys, audit_log, movements
from stockd.domain.security import ApiKey, AuditEntry, Role
from stockd.service_layer.ports import AuditFilter


def _key(m: RowMapping) -> ApiKey:
    locations = frozenset(m["locations"]) if m["locations"] is not None else None
    return ApiKey(m["id"], m["name"], Role(m["role"]), locations, m["channel"], m["digest"], m["created_at"],
                  m["created_by"], m["revoked_at"])


class SqlKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        locations = sorted(key.locations) if key.locations is not None else None
        await self._conn.execute(insert(api_keys).values(
            id=key.id, name=key.name, role=key.role.value, locations=locations, channel=key.channel,
            digest=key.digest, created_at=key.created_at, created_by=key.created_by, revoked_at=key.revoked_at,
        ))

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return _key(row._mapping) if row else None

    async def list(self) -> builtins.list[ApiKey]:
        rows = await self._conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
        return [_key(r._mapping) for r in rows]

    async def revoke(self, key_id: str, now: Any) -> bool:
        result = await self._conn.execute(
            update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        return bool(result.rowcount == 1)

    async def any(self) -> bool:
        return (await self._conn.execute(select(api_keys.c.id).limit(1))).first() is not None


class SqlAuditLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        await self._conn.execute(insert(audit_log).values(
            occurred_at=entry.occurred_at, actor=entry.actor, role=entry.role, request_id=entry.request_id,
            action=entry.action, target=entry.target, sku=entry.sku, location=entry.location, details=entry.details,
        ))

    async def list(self, query: AuditFilter) -> builtins.list[AuditEntry]:
        entries = await self._catalog_changes(query) + await self._stock_changes(query)
        entries.sort(key=lambda e: e.occurred_at, reverse=True)
        return entries[: query.limit]

    async def _catalog_changes(self, q: AuditFilter) -> builtins.list[AuditEntry]:
        t = audit_log
        stmt = select(t).order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(q.limit)
        stmt = stmt.where(*_filters(t.c, q))
        return [
            AuditEntry(m["occurred_at"], m["actor"], m["role"], m["request_id"], m["action"], m["target"], m["sku"],
                       m["location"], m["details"])
            for m in (r._mapping for r in await self._conn.execute(stmt))
        ]

    async def _stock_changes(self, q: AuditFilter) -> builtins.list[AuditEntry]:
        t = movements
        stmt = select(t).order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(q.limit)
        stmt = stmt.where(*_filters(t.c, q))
        return [
            AuditEntry(
                m["occurred_at"], m["actor"], m["role"], m["request_id"], f"stock.{m['kind']}", m["reference"],
                m["sku"], m["location"],
                {"quantity": m["quantity"], "reason": m["reason"], "sequence": m["sequence"],
                 "on_hand": m["on_hand"], "reserved": m["reserved"], "committed": m["committed"],
                 "in_transit": m["in_transit"]},
            )
            for m in (r._mapping for r in await self._conn.execute(stmt))
        ]


def _filters(c: Any, q: AuditFilter) -> builtins.list[Any]:
    conditions = []
    if q.actor is not None:
        conditions.append(c.actor == q.actor)
    if q.sku is not None:
        conditions.append(c.sku == q.sku)
    if q.location is not None:
        conditions.append(c.location == q.location)
    if q.since is not None:
        conditions.append(c.occurred_at >= q.since)
    if q.until is not None:
        conditions.append(c.occurred_at < q.until)
    return conditions
