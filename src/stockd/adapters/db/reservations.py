"""Reservations and transfers in SQL; status changes are compare-and-set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stockd.adapters.db.tables import reservation_lines, reservations, transfers
from stockd.domain.reservations import Line, Reservation, ReservationStatus
from stockd.domain.transfers import Transfer, TransferLine, TransferStatus
from stockd.service_layer.ports import Actor


class SqlReservationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, reservation: Reservation, actor: Actor) -> None:
        r = reservation
        await self._conn.execute(
            insert(reservations).values(
                id=r.id, order_id=r.order_id, channel=r.channel, status=r.status.value,
                expires_at=r.expires_at, created_at=r.created_at, updated_at=r.updated_at, actor=actor.name,
            )
        )
        await self._conn.execute(
            insert(reservation_lines),
            [{"reservation_id": r.id, "sku": ln.sku, "location": ln.location, "quantity": ln.quantity}
             for ln in r.lines],
        )

    async def get(self, reservation_id: str) -> Reservation | None:
        found = await self._load(select(reservations).where(reservations.c.id == reservation_id))
        return found[0] if found else None

    async def get_by_order(self, order_id: str) -> Reservation | None:
        found = await self._load(select(reservations).where(reservations.c.order_id == order_id))
        return found[0] if found else None

    async def transition(
        self, reservation_id: str, source: ReservationStatus, target: ReservationStatus, now: datetime
    ) -> bool:
        result = await self._conn.execute(
            update(reservations)
            .where(reservations.c.id == reservation_id, reservations.c.status == source.value)
            .values(status=target.value, updated_at=now)
        )
        return bool(result.rowcount == 1)

    async def due_to_expire(
        self, now: datetime, skus: Sequence[str] | None, limit: int
    ) -> list[Reservation]:
        stmt = (
            select(reservations)
            .where(reservations.c.status == ReservationStatus.ACTIVE.value, reservations.c.expires_at <= now)
            .order_by(reservations.c.expires_at, reservations.c.id)
            .limit(limit)
        )
        if skus is not None:
            touching = select(reservation_lines.c.reservation_id).where(reservation_lines.c.sku.in_(skus))
            stmt = stmt.where(reservations.c.id.in_(touching))
        return await self._load(stmt)

    async def _load(self, stmt: Any) -> list[Reservation]:
        headers = (await self._conn.execute(stmt)).all()
        if not headers:
            return []
        ids = [h._mapping["id"] for h in headers]
        lines: dict[str, list[Line]] = defaultdict(list)
        rows = await self._conn.execute(
            select(reservation_lines).where(reservation_lines.c.reservation_id.in_(ids))
        )
        for row in rows:
            m = row._mapping
            lines[m["reservation_id"]].append(Line(m["sku"], m["location"], m["quantity"]))
        return [_reservation(h, lines[h._mapping["id"]]) for h in headers]


def _reservation(row: Row[*tuple[Any, ...]], lines: list[Line]) -> Reservation:
    m = row._mapping
    return Reservation(
        id=m["id"], order_id=m["order_id"], channel=m["channel"], status=ReservationStatus(m["status"]),
        lines=tuple(sorted(lines, key=lambda ln: ln.key)), expires_at=m["expires_at"],
        created_at=m["created_at"], updated_at=m["updated_at"],
    )


class SqlTransferRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, transfer: Transfer) -> None:
        t = transfer
        await self._conn.execute(
            insert(transfers).values(
                id=t.id, source=t.source, destination=t.destination, status=t.status.value,
                lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in t.lines],
                created_at=t.created_at, received_at=t.received_at,
            )
        )

    async def get(self, transfer_id: str) -> Transfer | None:
        row = (await self._conn.execute(select(transfers).where(transfers.c.id == transfer_id))).first()
        if row is None:
            return None
        m = row._mapping
        return Transfer(
            m["id"], m["source"], m["destination"], TransferStatus(m["status"]),
            tuple(TransferLine(ln["sku"], ln["quantity"]) for ln in m["lines"]), m["created_at"],
            m["received_at"],
        )

    async def transition(
        self, transfer_id: str, source: TransferStatus, target: TransferStatus, now: datetime
    ) -> bool:
        result = await self._conn.execute(
            update(transfers)
            .where(transfers.c.id == transfer_id, transfers.c.status == source.value)
            .values(status=target.value, received_at=now)
        )
        return bool(result.rowcount == 1)
