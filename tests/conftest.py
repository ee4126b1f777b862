from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.catalog import LocationKind
from stockd.entrypoints.api.app import create_app
from stockd.service_layer import catalog, commands
from stockd.service_layer.ports import UnitOfWork
from tests.support.clock import FakeClock
from tests.support.databases import PostgresDatabase, SqliteTemplate, missing_service


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


@pytest.fixture
async def client(services: Stockd) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services, sweeper=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stockd.test") as http:
        yield http


async def seed(services: Stockd, stock: dict[tuple[str, str], int]) -> None:
    """Products and locations named in `stock`, with that much on hand."""
    from stockd.domain.transfers import TransferLine
    from stockd.service_layer import stock as stock_uc
    from stockd.service_layer.env import SYSTEM

    async def run(uow: UnitOfWork) -> None:
        env = services.env
        for sku in sorted({s for s, _ in stock}):
            await catalog.create_product(uow, env, commands.CreateProduct(sku, f"Product {sku}", Decimal("2.50"),
                                                                         Decimal("10.00")))
        for loc in sorted({loc for _, loc in stock}):
            await catalog.create_location(uow, env, commands.CreateLocation(loc, f"Location {loc}",
                                                                           LocationKind.WAREHOUSE))
        for (sku, loc), qty in stock.items():
            if qty:
                await stock_uc.receive(uow, env, SYSTEM, commands.Receive(loc, (TransferLine(sku, qty),)))

    await services.runner.read(run)
