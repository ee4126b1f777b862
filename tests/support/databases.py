"""Real databases for tests: a migrated SQLite template copied per test, and a PostgreSQL database per run."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from stockd.adapters.db import migrate
from stockd.adapters.db.tables import metadata

PG_ADMIN_URL = os.environ.get("STOCKD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ALLOW_SKIP = os.environ.get("STOCKD_TEST_ALLOW_SKIP") == "1"
TABLES = ", ".join(t.name for t in metadata.sorted_tables)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def missing_service(name: str, error: Exception) -> None:
    """CI must not skip what it cannot reach: the run fails unless skipping was asked for."""
    message = f"{name} is not reachable ({error}); set STOCKD_TEST_ALLOW_SKIP=1 to skip instead"
    if ALLOW_SKIP:
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


class PostgresDatabase:
    def __init__(self) -> None:
        self.name = f"stockd_test_{uuid.uuid4().hex[:10]}"
        base = _dsn(PG_ADMIN_URL)
        self.url = base.rsplit("/", 1)[0] + "/" + self.name

    def create(self) -> None:
        with psycopg.connect(_dsn(PG_ADMIN_URL), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        migrate.upgrade(self.url)

    def truncate(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")

    def drop(self) -> None:
        with psycopg.connect(_dsn(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        migrate.upgrade(f"sqlite:///{self.path}")

    def fresh(self, directory: Path) -> str:
        target = directory / "stockd.db"
        shutil.copy(self.path, target)
        return f"sqlite:///{target}"
