"""Engine creation for SQLite (embedded default) and PostgreSQL. Nothing connects until asked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


def async_url(url: str) -> str:
    """Accept plain URLs (postgresql://, sqlite:///) and pick the async driver for them."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    name = driver.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def create_engine(url: str, pool_size: int = 20, echo: bool = False) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size // 2,
        # No pre-ping: it costs round trips on every checkout. A connection found dead mid-transaction is
        # invalidated and the runner retries the whole use case on a fresh one.
        pool_recycle=1800,
        pool_timeout=10,
        echo=echo,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def _sqlite_engine(url: str, echo: bool) -> AsyncEngine:
    # SQLite has one writer at a time: one pooled connection per process makes that queue an asyncio
    # queue instead of "database is locked" retries. Other processes (CLI, workers) wait on busy_timeout.
    engine = create_async_engine(
        url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=60, echo=echo
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE can be issued below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock at BEGIN: a transaction that reads then writes cannot be overtaken.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
