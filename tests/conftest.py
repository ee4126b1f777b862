from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.domain.security import Role
from stockd.domain.transfers import TransferLine
from stockd.entrypoints.api.app import create_app
from stockd.service_layer import catalog, commands
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.keys import create_key
from stockd.service_layer.ports import UnitOfWork
from tests.support.clock import FakeClock
from tests.support.databases import PostgresDatabase, SqliteTemplate, missing_service
from tests.support.rabbitmq import drop_session_vhost


@pytest.fixture(scope="session", autouse=True)
def _rabbitmq_session_vhost() -> Iterator[None]:
    yield
    drop_session_vhost()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase()
    try:
        database.create()
    except Exception as exc:
        missing_service("PostgreSQL", exc)
    yield database
    database.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every test that takes this runs on both databases."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        return template.fresh(tmp_path)
    pg: PostgresDatabase = request.getfixturevalue("postgres")
    pg.truncate()
    return pg.url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_size=20)


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Stockd]:
    wired = bootstrap(settings, clock=clock)
    yield wired
    await wired.close()


async def new_key(services: Stockd, role: Role, locations: frozenset[str] | None = None,
                  channel: str | None = None) -> str:
    """A real API key, created as the CLI does; returns the bearer token."""
    created = await services.runner.run(
        lambda uow: create_key(uow, services.env, SYSTEM, role, f"test {role.value}", locations, channel)
    )
    return created.token


@pytest.fixture
def app(services: Stockd) -> FastAPI:
    return create_app(services=services, sweeper=False)


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that carries no key."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockd.test") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI, services: Stockd) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an admin key."""
    headers = {"Authorization": f"Bearer {await new_key(services, Role.ADMIN)}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockd.test",
                                 headers=headers) as http:
        yield http


async def seed(services: Stockd, stock: dict[tuple[str, str], int]) -> None:
    """Products and locations named in `stock`, with that much on hand."""

    async def run(uow: UnitOfWork) -> None:
        env = services.env
        for sku in sorted({s for s, _ in stock}):
            product = commands.CreateProduct(sku, f"Product {sku}", Decimal("2.50"), Decimal("10.00"))
            await catalog.create_product(uow, env, SYSTEM, product)
        for loc in sorted({loc for _, loc in stock}):
            location = commands.CreateLocation(loc, f"Location {loc}", LocationKind.WAREHOUSE)
            await catalog.create_location(uow, env, SYSTEM, location)
        for (sku, loc), qty in stock.items():
            if qty:
                await stock_uc.receive(uow, env, SYSTEM, commands.Receive(loc, (TransferLine(sku, qty),)))

    await services.runner.run(run)
