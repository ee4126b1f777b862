"""The outbox relay's SQL: claim committed, unpublished events, hand them to the bus, mark them published.

PostgreSQL: the claim is `SELECT ... FOR UPDATE SKIP LOCKED`, and the publish and the `published_at` update
happen inside that same transaction. Rows one relay has claimed are locked, so another relay skips them, and
once it commits they are no longer unpublished: any number of relays never publish a row twice, and none
waits for another. A crash (or a broker error) before the commit rolls the claim back: the rows are claimed
again and published again (at least once; the consumers' inbox absorbs the duplicate).

The claim never reads "ids above the last one seen" (DESIGN invariant 6): ids are taken at INSERT but become
visible at COMMIT, so a row with a lower id can appear after a higher one. Every claim looks at all rows
still unpublished, in id order.

SQLite has one writer at a time and no row locks. Holding the write lock (and, in a server, the only pooled
connection) while waiting for a broker would stall every write, so there the relay reads, publishes outside
any transaction, then marks. One relay per database is the SQLite deployment; a second one could publish a
row twice, which consumers absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from stockd.adapters.db.tables import outbox
from stockd.service_layer.ports import Clock, Publisher

S = TypeVar("S", bound=Select[Any])


class Doorbell:
    """Rung after each commit that wrote outbox rows, so a relay in the same process publishes them at once
    rather than at its next poll."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    def clear(self) -> None:
        self._rung.clear()

    async def wait(self) -> None:
        await self._rung.wait()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    envelope: dict[str, Any]


class SqlOutboxRelay:
    def __init__(self, engine: AsyncEngine, publisher: Publisher, clock: Clock, batch_size: int) -> None:
        self._engine = engine
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._one_batch_at_a_time = asyncio.Lock()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished events, oldest id first; returns how many. Raises when the bus
        refuses them; they stay unpublished."""
        claimed: list[int] = []
        try:
            if self._engine.dialect.name == "postgresql":
                return await self._relay_locked(claimed)
            return await self._relay_unlocked(claimed)
        except Exception:
            await self._count_failed_attempt(claimed)
            raise

    async def _relay_locked(self, claimed: list[int]) -> int:
        async with self._engine.connect() as conn, conn.begin():
            rows = await _read(conn, _unpublished(self._batch_size).with_for_update(skip_locked=True))
            claimed.extend(r.id for r in rows)
            if rows:
                await self._publisher.publish([r.envelope for r in rows])
                await _mark_published(conn, claimed, self._clock.now())
        return len(rows)

    async def _relay_unlocked(self, claimed: list[int]) -> int:
        async with self._one_batch_at_a_time:
            async with self._engine.begin() as conn:
                rows = await _read(conn, _unpublished(self._batch_size))
            claimed.extend(r.id for r in rows)
            if rows:
                await self._publisher.publish([r.envelope for r in rows])
                async with self._engine.begin() as conn:
                    await _mark_published(conn, claimed, self._clock.now())
            return len(rows)

    async def _count_failed_attempt(self, ids: list[int]) -> None:
        # Bookkeeping only (`attempts` shows rows that keep failing); when the database is what failed,
        # this fails too, and that must not hide the original error. Rows another relay has claimed since
        # are skipped, not waited for.
        if not ids:
            return
        free = select(outbox.c.id).where(outbox.c.id.in_(ids)).with_for_update(skip_locked=True)
        with contextlib.suppress(Exception):
            async with self._engine.begin() as conn:
                await conn.execute(update(outbox).where(outbox.c.id.in_(free)).values(attempts=outbox.c.attempts + 1))


def _unpublished(limit: int) -> Select[int, Any]:
    stmt = select(outbox.c.id, outbox.c.payload).where(outbox.c.published_at.is_(None))
    return stmt.order_by(outbox.c.id).limit(limit)


async def _read(conn: AsyncConnection, stmt: Select[int, Any]) -> list[OutboxRow]:
    return [OutboxRow(row.id, row.payload) for row in await conn.execute(stmt)]


async def _mark_published(conn: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    await conn.execute(
        update(outbox).where(outbox.c.id.in_(ids)).values(published_at=now, attempts=outbox.c.attempts + 1)
    )


async def backlog(engine: AsyncEngine) -> int:
    """Committed events not yet published."""
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await conn.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class ReplayQuery:
    since: datetime
    until: datetime | None = None
    types: tuple[str, ...] = ()


class SqlEventLog:
    """Reads back events already in the outbox, to publish them again (`stockd events replay`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def count(self, query: ReplayQuery) -> int:
        async with self._engine.connect() as conn:
            stmt = _matching(select(func.count()).select_from(outbox), query)
            return int((await conn.execute(stmt)).scalar_one())

    async def page(self, query: ReplayQuery, after_id: int, limit: int) -> list[OutboxRow]:
        """Keyset paging by id is right here, unlike in the relay: a replay reads a past window of events
        that are all committed; one still being written is the live relay's to publish."""
        stmt = _matching(select(outbox.c.id, outbox.c.payload), query)
        stmt = stmt.where(outbox.c.id > after_id).order_by(outbox.c.id).limit(limit)
        async with self._engine.connect() as conn:
            return await _read(conn, stmt)


def _matching(stmt: S, query: ReplayQuery) -> S:
    stmt = stmt.where(outbox.c.created_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(outbox.c.created_at < query.until)
    if query.types:
        stmt = stmt.where(outbox.c.type.in_(query.types))
    return stmt
