"""Webhook subscriptions and their delivery queue in SQL."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import webhook_deliveries, webhook_subscriptions
from stockd.domain.webhooks import Delivery, DeliveryStatus, Subscription
from stockd.service_layer.ports import DeliveryJob

_subs = webhook_subscriptions
_dels = webhook_deliveries


def _subscription(row: Row[*tuple[Any, ...]]) -> Subscription:
    m = row._mapping
    return Subscription(m["id"], m["url"], tuple(m["event_types"]), bool(m["active"]), m["created_at"],
                        m["created_by"], m["description"])


def _delivery(row: Row[*tuple[Any, ...]]) -> Delivery:
    m = row._mapping
    return Delivery(m["id"], m["subscription_id"], m["event_id"], m["event_type"], DeliveryStatus(m["status"]),
                    m["attempts"], m["next_attempt_at"], m["last_error"], m["response_code"], m["created_at"],
                    m["delivered_at"])


class SqlWebhookRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, subscription: Subscription, secret: str) -> None:
        s = subscription
        await self._conn.execute(insert(_subs).values(
            id=s.id, url=s.url, secret=secret, event_types=list(s.event_types), description=s.description,
            active=s.active, created_at=s.created_at, created_by=s.created_by))

    async def get(self, subscription_id: str) -> Subscription | None:
        row = (await self._conn.execute(select(_subs).where(_subs.c.id == subscription_id))).first()
        return _subscription(row) if row is not None else None

    async def list(self) -> builtins.list[Subscription]:
        return [_subscription(r) for r in await self._conn.execute(select(_subs).order_by(_subs.c.created_at))]

    async def active(self) -> builtins.list[Subscription]:
        stmt = select(_subs).where(_subs.c.active.is_(True)).order_by(_subs.c.id)
        return [_subscription(r) for r in await self._conn.execute(stmt)]

    async def delete(self, subscription_id: str) -> bool:
        await self._conn.execute(delete(_dels).where(_dels.c.subscription_id == subscription_id))
        return (await self._conn.execute(delete(_subs).where(_subs.c.id == subscription_id))).rowcount == 1

    async def enqueue(self, subscription_ids: Sequence[str], event: dict[str, Any], now: datetime) -> int:
        if not subscription_ids:
            return 0
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        rows = [{"subscription_id": sid, "event_id": str(event["id"]), "event_type": str(event["type"])[:64],
                 "payload": event, "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
                 "created_at": now} for sid in subscription_ids]
        stmt = dialect.insert(_dels).values(rows).on_conflict_do_nothing(
            index_elements=["subscription_id", "event_id"]).returning(_dels.c.id)
        return len((await self._conn.execute(stmt)).all())

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryJob]:
        stmt = (
            select(_dels.c.id, _dels.c.event_id, _dels.c.event_type, _dels.c.payload, _dels.c.attempts,
                   _subs.c.url, _subs.c.secret)
            .join(_subs, _subs.c.id == _dels.c.subscription_id)
            .where(_dels.c.status == DeliveryStatus.PENDING.value, _dels.c.next_attempt_at <= now,
                   _subs.c.active.is_(True))
            .order_by(_dels.c.next_attempt_at, _dels.c.id)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=_dels)
        jobs = [DeliveryJob(r.id, r.url, r.secret, r.event_id, r.event_type, dict(r.payload), r.attempts)
                for r in await self._conn.execute(stmt)]
        if jobs:
            await self._conn.execute(update(_dels).where(_dels.c.id.in_([j.delivery_id for j in jobs]))
                                     .values(next_attempt_at=lease_until))
        return jobs

    async def finish(
        self, delivery_id: int, status: DeliveryStatus, attempts: int, next_attempt_at: datetime | None,
        response_code: int | None, error: str | None, now: datetime,
    ) -> None:
        await self._conn.execute(update(_dels).where(_dels.c.id == delivery_id).values(
            status=status.value, attempts=attempts, next_attempt_at=next_attempt_at, response_code=response_code,
            last_error=error[:500] if error else None,
            delivered_at=now if status is DeliveryStatus.DELIVERED else None))

    async def deliveries(
        self, subscription_id: str, status: DeliveryStatus | None, limit: int
    ) -> builtins.list[Delivery]:
        stmt = select(_dels).where(_dels.c.subscription_id == subscription_id).order_by(_dels.c.id.desc())
        if status is not None:
            stmt = stmt.where(_dels.c.status == status.value)
        return [_delivery(r) for r in await self._conn.execute(stmt.limit(limit))]
