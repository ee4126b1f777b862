"""The `stockd` command: serve, migrate, demo, import-csv."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import structlog
import typer
import uvicorn
from rich.console import Console

from stockd.adapters.db import migrate as migrations
from stockd.bootstrap import Stockd, bootstrap
from stockd.config import Settings
from stockd.domain.errors import StockdError
from stockd.domain.security import Role
from stockd.entrypoints.cli_counting import register as register_counting
from stockd.entrypoints.demo import load_demo
from stockd.entrypoints.importer import import_csv
from stockd.service_layer.keys import NewKey, create_key, revoke_key
from stockd.service_layer.ports import Actor, UnitOfWork

app = typer.Typer(help="stockd: real-time inventory that never oversells.", no_args_is_help=True)
console = Console(stderr=True)
CLI_ACTOR = Actor(name="cli", role="admin")
T = TypeVar("T")

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
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    stamped: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Records from the standard library (uvicorn, asyncio, aio-pika) go out in the same JSON shape.
    handler = logging.StreamHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*stamped, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*stamped, structlog.processors.format_exc_info, renderer],
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
            result = await import_csv(services, path, CLI_ACTOR)
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
    ssl_certfile: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="serve HTTPS")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    proxy_headers: Annotated[bool, typer.Option(help="trust X-Forwarded-* from --forwarded-allow-ips")] = False,
    forwarded_allow_ips: Annotated[str, typer.Option(help="proxies allowed to set X-Forwarded-*")] = "127.0.0.1",
    log_level: Annotated[str, typer.Option(envvar="STOCKD_LOG_LEVEL")] = "info",
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs). Prints an admin key the first time, when none exists."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")
    settings = _settings(database_url, host=host, port=port, log_level=log_level)
    configure_logging(settings.log_level, settings.log_json)
    if migrate_first:
        migrations.upgrade(settings.database_url)
    if with_demo:
        demo(database_url=settings.database_url, if_empty=True)
    _first_admin_key(settings)
    from stockd.entrypoints.api.app import create_app

    scheme = "https" if ssl_certfile else "http"
    console.print(f"stockd on {scheme}://{host}:{port}  (API /v1, docs /docs) database {_safe(settings.database_url)}")
    # Keep-alive longer than the usual 60 s idle timeout of proxies and clients, so the server is never the
    # side that closes a connection a client is about to reuse.
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False, log_config=None,
                timeout_keep_alive=75, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips)


def _first_admin_key(settings: Settings) -> None:
    async def run() -> NewKey | None:
        services = bootstrap(settings)
        try:
            async def create(uow: UnitOfWork) -> NewKey | None:
                if await uow.keys.any():
                    return None
                return await create_key(uow, services.env, CLI_ACTOR, Role.ADMIN, "first admin")

            return await services.runner.run(create)
        finally:
            await services.close()

    created = asyncio.run(run())
    if created is not None:
        console.print(f"[bold]admin API key (shown once, keep it):[/bold] {created.token}")


keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, manager, operator, device, channel or viewer")],
    name: Annotated[str, typer.Option(help="who or what uses it")] = "",
    locations: Annotated[str | None, typer.Option(help="comma-separated location codes; default all")] = None,
    channel: Annotated[str | None, typer.Option(help="the sales channel of a channel key")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a key and print it once (only its digest is stored)."""
    scope = frozenset(c.strip() for c in locations.split(",") if c.strip()) if locations is not None else None
    label = name or f"{role.value} key"
    created = _with_services(database_url, lambda s, uow: create_key(uow, s.env, CLI_ACTOR, role, label, scope,
                                                                       channel))
    console.print(f"key {created.key.id} ({role.value}) created; shown once:")
    typer.echo(created.token)


@keys_app.command("list")
def keys_list(database_url: DatabaseOpt = None) -> None:
    """List keys (never their secrets)."""
    for key in _with_services(database_url, lambda s, uow: uow.keys.list()):
        scope = ",".join(sorted(key.locations)) if key.locations else "all"
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        typer.echo(f"{key.id}  {key.role.value:<8} {state:<24} locations={scope} channel={key.channel or '-'}"
                   f"  {key.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, database_url: DatabaseOpt = None) -> None:
    """Revoke a key: every request with it gets 401 from then on."""
    _with_services(database_url, lambda s, uow: revoke_key(uow, s.env, CLI_ACTOR, key_id))
    console.print(f"key {key_id} revoked")


def _with_services(database_url: str | None, action: Callable[[Stockd, UnitOfWork], Awaitable[T]]) -> T:
    settings = _settings(database_url)

    async def run() -> T:
        services = bootstrap(settings)
        try:
            return await services.runner.run(lambda uow: action(services, uow))
        finally:
            await services.close()

    try:
        return asyncio.run(run())
    except StockdError as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


BusOpt = Annotated[
    str | None,
    typer.Option("--bus-url", envvar="STOCKD_BUS_URL", show_envvar=True,
                 help="memory:// (in-process, default) or amqp://user:pass@host:5672/"),
]


@app.command()
def worker(
    database_url: DatabaseOpt = None,
    bus_url: BusOpt = None,
    log_level: Annotated[str, typer.Option(envvar="STOCKD_LOG_LEVEL")] = "info",
) -> None:
    """Run the outbox relay (events to the broker) and the reservation expiry sweeper, until stopped."""
    from stockd.entrypoints.workers.worker import run_worker

    settings = _settings(database_url, bus_url=bus_url, log_level=log_level)
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run_worker(settings))


events_app = typer.Typer(help="The event stream.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@events_app.command("replay")
def events_replay(
    since: Annotated[str, typer.Option(help="ISO 8601 (2026-03-02T09:00:00Z); without a zone, UTC")],
    until: Annotated[str | None, typer.Option(help="ISO 8601, exclusive; default: no end")] = None,
    event_type: Annotated[list[str] | None, typer.Option("--type", help="only this type; repeatable")] = None,
    database_url: DatabaseOpt = None,
    bus_url: BusOpt = None,
) -> None:
    """Publish the events of a time window to the broker again, same ids, for a consumer that lost its state."""
    from rich.progress import Progress

    from stockd.entrypoints.replay import count_events, replay_events, window

    settings = _settings(database_url, bus_url=bus_url)
    try:
        query = window(since, until, event_type or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def run() -> int:
        services = bootstrap(settings)
        try:
            if services.bus is not None:
                raise typer.BadParameter("replay publishes to a broker: set --bus-url / STOCKD_BUS_URL to amqp://")
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("replaying", total=await count_events(services, query))
                return await replay_events(services, query, lambda n: progress.advance(task, n))
        finally:
            await services.close()

    sent = asyncio.run(run())
    console.print(f"[green]replayed[/green] {sent} events")

# --- Replenishment: `stockd replenish`, `stockd po ...`, `stockd suppliers ...`.


@app.command()
def replenish(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be ordered; write nothing")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Flag late POs, then draft one purchase order per supplier for what is at or below its reorder point."""
    from stockd.service_layer.purchasing import flag_late_pos
    from stockd.service_layer.replenishment import replenish as run_replenishment
    from stockd.service_layer.replenishment import run_summary

    settings = _settings(database_url)

    async def run() -> tuple[dict[str, object], int]:
        services = bootstrap(settings)
        try:
            late = [] if dry_run else await services.runner.run(lambda uow: flag_late_pos(uow, services.env))
            result = await run_replenishment(services.runner, services.env, CLI_ACTOR, services.forecaster,
                                             services.replenishment, dry_run)
            return run_summary(result), len(late)
        finally:
            await services.close()

    summary, late = asyncio.run(run())
    pos = summary["purchase_orders"]
    assert isinstance(pos, list)
    for po in pos:
        typer.echo(f"{'would draft' if dry_run else 'drafted'} PO {po['id']} to {po['supplier']}: "
                   f"{len(po['lines'])} lines, {po['total']} {po['currency']}")
        for line in po["lines"]:
            typer.echo(f"    {line['sku']} @ {line['location']}: {line['quantity']} x {line['unit_cost']}")
    cuts = summary["cuts"]
    assert isinstance(cuts, list)
    for cut in cuts:
        typer.echo(f"budget cut {cut['sku']} @ {cut['location']}: {cut['requested']} -> {cut['kept']} "
                   f"(priority {cut['priority']:.4f}, {cut['amount_cut']} saved)")
    console.print(f"{len(pos)} purchase order(s), {len(cuts)} cut(s), {late} PO(s) newly late")


po_app = typer.Typer(help="Purchase orders: list, send, receive, cancel.", no_args_is_help=True)
app.add_typer(po_app, name="po")


@po_app.command("list")
def po_list(
    status: Annotated[str | None, typer.Option(help="draft, sent, partially_received, received, cancelled")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Purchase orders, newest first."""
    from stockd.domain.replenishment import PoStatus

    try:
        wanted = PoStatus(status) if status else None
    except ValueError as exc:
        raise typer.BadParameter(f"unknown status {status!r}") from exc
    for po in _with_services(database_url, lambda s, uow: uow.replenishment.list_pos(wanted, None, 1000)):
        units = sum(ln.quantity for ln in po.lines)
        received = sum(ln.received for ln in po.lines)
        typer.echo(f"{po.id}  {po.supplier:<12} {po.status.value:<18} {received}/{units} units  "
                   f"{po.total:.2f} {po.currency}  expected {po.expected_at:%Y-%m-%d}{'  LATE' if po.late else ''}")


@po_app.command("send")
def po_send(po_id: str, database_url: DatabaseOpt = None) -> None:
    """Send a draft: its quantities go in transit."""
    from stockd.service_layer.purchasing import send_po

    po = _with_services(database_url, lambda s, uow: send_po(uow, s.env, CLI_ACTOR, po_id))
    console.print(f"PO {po.id} sent to {po.supplier}, expected {po.expected_at:%Y-%m-%d}")


@po_app.command("receive")
def po_receive(
    po_id: str,
    line: Annotated[list[str] | None, typer.Option(help="SKU:LOCATION=QTY, repeatable; default everything")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Receive goods against a sent PO (in transit -> on hand)."""
    from stockd.service_layer.purchasing import receive_po

    quantities: dict[tuple[str, str], int] | None = None
    if line:
        quantities = {}
        for item in line:
            try:
                key, qty = item.rsplit("=", 1)
                sku, location = key.split(":", 1)
                quantities[(sku, location)] = int(qty)
            except ValueError as exc:
                raise typer.BadParameter(f"{item!r}: expected SKU:LOCATION=QTY") from exc

    def run(s: Stockd, uow: UnitOfWork) -> Awaitable[object]:
        return receive_po(uow, s.env, CLI_ACTOR, po_id, quantities, s.replenishment.late_deliveries_before_switch)

    po = _with_services(database_url, run)
    console.print(f"PO {po_id} is now {getattr(po, 'status', '?')}")


@po_app.command("cancel")
def po_cancel(po_id: str, database_url: DatabaseOpt = None) -> None:
    """Cancel a PO; what is still in transit is given back."""
    from stockd.service_layer.purchasing import cancel_po

    _with_services(database_url, lambda s, uow: cancel_po(uow, s.env, CLI_ACTOR, po_id))
    console.print(f"PO {po_id} cancelled")


suppliers_app = typer.Typer(help="Suppliers and their reliability.", no_args_is_help=True)
app.add_typer(suppliers_app, name="suppliers")


@suppliers_app.command("stats")
def suppliers_stats(database_url: DatabaseOpt = None) -> None:
    """On-time rate and measured lead time of every supplier."""
    from stockd.domain.replenishment import Reliability
    from stockd.service_layer.purchasing import reliability

    async def all_stats(s: Stockd, uow: UnitOfWork) -> list[Reliability]:
        return [await reliability(uow, sup.code) for sup in await uow.replenishment.list_suppliers()]

    for r in _with_services(database_url, all_stats):
        rate = f"{r.on_time_rate:.0%}" if r.on_time_rate is not None else "-"
        source = "measured" if r.lead_time.measured else "promised"
        typer.echo(f"{r.supplier:<12} receipts {r.receipts:<4} late {r.late_receipts:<4} on time {rate:<5} "
                   f"lead time {r.lead_time.mean:.1f}±{r.lead_time.std:.1f} d ({source}; promised "
                   f"{r.promised_lead_time_days} d)")


channels_app = typer.Typer(help="Sales channels: definitions, push status, resync.", no_args_is_help=True)
app.add_typer(channels_app, name="channels")


@channels_app.command("list")
def channels_list(database_url: DatabaseOpt = None) -> None:
    """List channels with their connector, buffer, reserve and feeding locations."""
    for c in _with_services(database_url, lambda s, uow: uow.channels.list()):
        state = "active" if c.active else "inactive"
        typer.echo(f"{c.name:<20} {c.connector.value:<8} buffer={c.buffer} min_reserve={c.min_reserve} "
                   f"{state:<8} locations={','.join(c.locations) or '-'}")


@channels_app.command("status")
def channels_status(
    channel: Annotated[str | None, typer.Argument(help="one channel; default all")] = None,
    sku: Annotated[str | None, typer.Option(help="only this SKU")] = None,
    failing: Annotated[bool, typer.Option("--failing", help="only SKUs whose pushes keep failing")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    database_url: DatabaseOpt = None,
) -> None:
    """Per channel and SKU: last value pushed, when, attempts and the last error."""
    from stockd.service_layer.channels import sync_status

    rows = _with_services(database_url, lambda s, uow: sync_status(uow, channel, sku, failing, limit, 0))
    for r in rows:
        when = f"{r.pushed_at:%Y-%m-%d %H:%M:%S}" if r.pushed_at else "never"
        flags = ("FAILING " if r.failing else "") + ("pending" if r.pending else "in sync")
        typer.echo(f"{r.channel:<16} {r.sku:<20} pushed={r.last_pushed if r.last_pushed is not None else '-':<6} "
                   f"at={when:<19} attempts={r.attempts} {flags}  {r.last_error or ''}")
    console.print(f"{len(rows)} row(s)")


@channels_app.command("resync")
def channels_resync(
    channel: Annotated[str | None, typer.Argument(help="one channel; default all")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Recompute and push every SKU again (the running server or worker sends them within a poll interval)."""
    from stockd.service_layer.channels import resync

    marked = _with_services(database_url, lambda s, uow: resync(uow, s.env, CLI_ACTOR, channel))
    console.print(f"[green]queued[/green] {marked} listing(s) for a full push")


register_counting(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
