"""One database transaction per use case (Core, explicit SQL); repositories bound to its connection."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from stockd.adapters.db.alerts import SqlAlertRepository
from stockd.adapters.db.catalog import SqlLocationRepository, SqlProductRepository
from stockd.adapters.db.channels import SqlChannelRepository, SqlChannelSyncStore
from stockd.adapters.db.counting import SqlAbcRepository, SqlCountRepository
from stockd.adapters.db.devices import SqlDeviceLog
from stockd.adapters.db.events import SqlEventOutbox
from stockd.adapters.db.idempotency import SqlIdempotencyStore
from stockd.adapters.db.inbox import SqlInbox
from stockd.adapters.db.insights import SqlInsightsReader
from stockd.adapters.db.ledger import SqlLedger
from stockd.adapters.db.queries import SqlMovementReader, SqlStockReader
from stockd.adapters.db.replenishment import SqlReplenishmentRepository
from stockd.adapters.db.reservations import SqlReservationRepository, SqlTransferRepository
from stockd.adapters.db.security import SqlAuditLog, SqlKeyRepository
from stockd.adapters.db.webhooks import SqlWebhookRepository
from stockd.service_layer.ports import IdGenerator

# PostgreSQL: serialization_failure, deadlock_detected, unique_violation (a twin request won the race).
_TRANSIENT_SQLSTATES = {"40001", "40P01", "23505"}
# connection_exception, operator_intervention (shutdown), insufficient_resources (too many connections).
_UNAVAILABLE_SQLSTATES_PREFIXES = ("08", "57P", "53")


class SqlUnitOfWork:
    def __init__(
        self, engine: AsyncEngine, new_id: IdGenerator, on_events_committed: Callable[[], None] | None = None
    ) -> None:
        self._engine = engine
        self._new_id = new_id
        self._on_events_committed = on_events_committed
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        try:
            self._tx = await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.products = SqlProductRepository(conn)
        self.locations = SqlLocationRepository(conn)
        self.ledger = SqlLedger(conn, self._new_id)
        self.stock = SqlStockReader(conn)
        self.movements = SqlMovementReader(conn)
        self.reservations = SqlReservationRepository(conn)
        self.transfers = SqlTransferRepository(conn)
        self.idempotency = SqlIdempotencyStore(conn)
        self.keys = SqlKeyRepository(conn)
        self.audit = SqlAuditLog(conn)
        self.devices = SqlDeviceLog(conn)
        self.inbox = SqlInbox(conn)
        self.events = SqlEventOutbox(conn, self._new_id)
        self.insights = SqlInsightsReader(conn)
        self.channels = SqlChannelRepository(conn)
        self.channel_sync = SqlChannelSyncStore(conn)
        self.counts = SqlCountRepository(conn)
        self.abc = SqlAbcRepository(conn)
        self.alerts = SqlAlertRepository(conn)
        self.webhooks = SqlWebhookRepository(conn)
        self.replenishment = SqlReplenishmentRepository(conn)
        return self

    @property
    def connection(self) -> AsyncConnection:
        assert self._conn is not None, "use the unit of work inside 'async with'"
        return self._conn

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        async with self.connection.begin_nested():
            yield

    async def commit(self) -> None:
        assert self._tx is not None
        await self._tx.commit()
        # Only after the commit: a relay woken earlier would not see the rows yet and go back to sleep.
        if self._on_events_committed is not None and (self.ledger.wrote_events or self.events.wrote_events):
            self._on_events_committed()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self._conn.close()

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # A pooled connection that died (database restarted): the pool drops it; a retry gets a new one.
            return True
        if isinstance(exc, DBAPIError):
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate in _TRANSIENT_SQLSTATES:
                return True
            if isinstance(exc, IntegrityError) and self._engine.dialect.name == "sqlite":
                return "UNIQUE constraint failed" in str(exc.orig)
            return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)
        return False

    def is_unavailable(self, exc: BaseException) -> bool:
        if isinstance(exc, PoolTimeoutError | ConnectionError | OSError):
            return True
        if isinstance(exc, InterfaceError):
            return True
        if isinstance(exc, OperationalError | DBAPIError):
            sqlstate = getattr(exc.orig, "sqlstate", None) or ""
            if sqlstate.startswith(_UNAVAILABLE_SQLSTATES_PREFIXES):
                return True
            return bool(exc.connection_invalidated)
        return False
