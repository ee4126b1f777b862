"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from stockd.adapters.db.migrate import upgrade
from stockd.adapters.db.tables import metadata


def _sync_url(url: str) -> str:
    url = url.replace("+aiosqlite", "").replace("+asyncpg", "")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(_sync_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], f"the migrations and tables.py disagree: {diff}"
