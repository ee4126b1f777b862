"""The `stockd` command: serve, migrate, demo, import-csv."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import structlog
import typer
import uvicorn
from rich.console import Console

from stockd.adapters.db import migrate as migrations
from stockd.bootstrap import bootstrap
from stockd.config import Settings
from stockd.domain.errors import StockdError
from stockd.entrypoints.demo import load_demo
from stockd.entrypoints.importer import import_csv
from stockd.service_layer.ports import Actor

app = typer.Typer(help="stockd: real-time inventory that never oversells.", no_args_is_help=True)
console = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="STOCKD_DATABASE_URL", show_envvar=True,
                 help="sqlite:///stockd.db (default) or postgresql://user@host/db"),
]


def _settings(database_url: str | None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if database_url:
        values["database_url"] = database_url
    return Settings(**values)  # type: ignore[arg-type]


def configure_logging(level: str, json_logs: bool) -> None:
    logging.basicConfig(format="%(message)s", level=level.upper())
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )


@app.command()
def migrate(database_url: DatabaseOpt = None) -> None:
    """Create or upgrade the database schema (Alembic) to the latest version."""
    settings = _settings(database_url)
    migrations.upgrade(settings.database_url)
    console.print(f"[green]schema up to date[/green] at {_safe(settings.database_url)}")


@app.command()
def demo(
    database_url: DatabaseOpt = None,
    if_empty: Annotated[bool, typer.Option(help="do nothing when products already exist")] = True,
) -> None:
    """Load demo locations, SKUs and stock (migrates first)."""
    settings = _settings(database_url)
    migrations.upgrade(settings.database_url)

    async def run() -> bool:
        services = bootstrap(settings)
        try:
            return await load_demo(services, if_empty=if_empty)
        finally:
            await services.close()

    loaded = asyncio.run(run())
    console.print("[green]demo data loaded[/green]" if loaded else "data already present; demo skipped")


@app.command("import-csv")
def import_csv_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                          help="CSV with sku,name,unit_cost,price[,location,quantity]")],
    database_url: DatabaseOpt = None,
) -> None:
    """Create or update products from a CSV, receiving opening stock; all rows or none."""
    settings = _settings(database_url)

    async def run() -> None:
        services = bootstrap(settings)
        try:
            result = await import_csv(services, path, Actor(name="cli", role="admin"))
        finally:
            await services.close()
        console.print(f"[green]imported[/green] {result.products_created} new, {result.products_updated} "
                      f"updated products; {result.units_received} units received")

    try:
        asyncio.run(run())
    except StockdError as exc:
        console.print(f"[red]import refused, nothing changed:[/red] {exc}")
        raise typer.Exit(code=2) from exc


@app.command()
def serve(
    database_url: DatabaseOpt = None,
    host: Annotated[str, typer.Option(envvar="STOCKD_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="STOCKD_PORT")] = 8000,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="upgrade the schema first")] = True,
    with_demo: Annotated[bool, typer.Option("--demo", help="load demo data when the database is empty")] = False,
    log_level: Annotated[str, typer.Option(envvar="STOCKD_LOG_LEVEL")] = "info",
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    settings = _settings(database_url, host=host, port=port, log_level=log_level)
    configure_logging(settings.log_level, settings.log_json)
    if migrate_first:
        migrations.upgrade(settings.database_url)
    if with_demo:
        demo(database_url=settings.database_url, if_empty=True)
    from stockd.entrypoints.api.app import create_app

    console.print(f"stockd on http://{host}:{port}  (API /v1, docs /docs) database {_safe(settings.database_url)}")
    # Keep-alive longer than the usual 60 s idle timeout of proxies and clients, so the server is never the
    # side that closes a connection a client is about to reuse.
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                timeout_keep_alive=75)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
