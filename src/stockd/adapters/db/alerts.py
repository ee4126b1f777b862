"""Alerts in SQL: one statement raises or counts a repeat, guarded by the partial unique index."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import alerts, reservations
from stockd.domain.alerts import Alert, AlertDraft, AlertKind, AlertStatus, Severity
from stockd.domain.reservations import ReservationStatus
from stockd.service_layer.ports import AlertFilter

_UNRESOLVED = alerts.c.status != AlertStatus.RESOLVED.value
# The partial index's own predicate, as a literal: PostgreSQL infers the arbiter index only from a matching one.
_INDEX_PREDICATE = text("status <> 'resolved'")


def _alert(row: Row[*tuple[Any, ...]]) -> Alert:
    m = row._mapping
    return Alert(
        id=m["id"], kind=AlertKind(m["kind"]), key=m["dedupe_key"], severity=Severity(m["severity"]),
        status=AlertStatus(m["status"]), sku=m["sku"], location=m["location"], message=m["message"],
        data=dict(m["data"] or {}), raised_at=m["raised_at"], last_seen_at=m["last_seen_at"],
        occurrences=m["occurrences"], acknowledged_at=m["acknowledged_at"], acknowledged_by=m["acknowledged_by"],
        resolved_at=m["resolved_at"], resolved_by=m["resolved_by"],
    )


class SqlAlertRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def upsert(self, draft: AlertDraft, alert_id: str, now: datetime) -> tuple[Alert, bool]:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(alerts).values(
            id=alert_id, kind=draft.kind.value, dedupe_key=draft.key, severity=draft.severity.value,
            status=AlertStatus.OPEN.value, sku=draft.sku, location=draft.location, message=draft.message[:500],
            data=draft.data, raised_at=now, last_seen_at=now, occurrences=1,
        )
        # ON CONFLICT on the partial unique index (its predicate repeated, so the database can infer it): a racing
        # twin waits for the first insert to commit, then counts an occurrence instead of failing.
        stmt = stmt.on_conflict_do_update(
            index_elements=["dedupe_key"], index_where=_INDEX_PREDICATE,
            set_={"occurrences": alerts.c.occurrences + 1, "last_seen_at": now, "data": draft.data},
        ).returning(*alerts.c)
        row = (await self._conn.execute(stmt)).one()
        alert = _alert(row)
        return alert, alert.id == alert_id

    async def get(self, alert_id: str) -> Alert | None:
        row = (await self._conn.execute(select(alerts).where(alerts.c.id == alert_id))).first()
        return _alert(row) if row is not None else None

    async def unresolved(self, key: str) -> Alert | None:
        row = (await self._conn.execute(select(alerts).where(alerts.c.dedupe_key == key, _UNRESOLVED))).first()
        return _alert(row) if row is not None else None

    async def transition(
        self, alert_id: str, sources: Sequence[AlertStatus], target: AlertStatus, actor: str, now: datetime
    ) -> Alert | None:
        values: dict[str, Any] = {"status": target.value}
        if target is AlertStatus.ACKNOWLEDGED:
            values |= {"acknowledged_at": now, "acknowledged_by": actor}
        if target is AlertStatus.RESOLVED:
            values |= {"resolved_at": now, "resolved_by": actor}
        stmt = (update(alerts).where(alerts.c.id == alert_id, alerts.c.status.in_([s.value for s in sources]))
                .values(**values).returning(*alerts.c))
        row = (await self._conn.execute(stmt)).first()
        return _alert(row) if row is not None else None

    async def list(self, query: AlertFilter) -> builtins.list[Alert]:
        stmt = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.id)
        for column, value in ((alerts.c.status, query.status), (alerts.c.kind, query.kind),
                              (alerts.c.sku, query.sku), (alerts.c.location, query.location)):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.locations is not None:
            stmt = stmt.where(alerts.c.location.in_(sorted(query.locations)))
        return [_alert(r) for r in await self._conn.execute(stmt.limit(query.limit).offset(query.offset))]

    async def expired_reservations_since(self, since: datetime) -> int:
        stmt = select(func.count()).select_from(reservations).where(
            reservations.c.status == ReservationStatus.EXPIRED.value, reservations.c.updated_at > since)
        return int((await self._conn.execute(stmt)).scalar_one())
