"""`stockd counts`, `stockd alerts`, `stockd webhooks`: cycle counting, alerts and webhooks from the shell."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from stockd.bootstrap import Stockd
from stockd.domain.alerts import AlertKind, AlertStatus
from stockd.entrypoints.policies import abc_policy, count_policy
from stockd.service_layer import alerts, counting, webhooks
from stockd.service_layer.ports import Actor, AlertFilter, UnitOfWork

T = TypeVar("T")
CLI_ACTOR = Actor(name="cli", role="admin")
console = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="STOCKD_DATABASE_URL", show_envvar=True,
                 help="sqlite:///stockd.db (default) or postgresql://user@host/db"),
]

counts_app = typer.Typer(help="Cycle counts: what is due, ABC classes.", no_args_is_help=True)
alerts_app = typer.Typer(help="List, acknowledge and resolve alerts.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook subscriptions (signed POSTs of events).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(counts_app, name="counts")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(webhooks_app, name="webhooks")


def _run(database_url: str | None, action: Callable[[Stockd, UnitOfWork], Awaitable[T]]) -> T:
    # Imported here: cli.py registers these commands, so it imports this module first.
    from stockd.entrypoints.cli import _with_services

    return _with_services(database_url, action)


@counts_app.command("due")
def counts_due(
    location: Annotated[str | None, typer.Option(help="only this location")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    database_url: DatabaseOpt = None,
) -> None:
    """What to count now: rows with stock whose last count is older than their class's interval."""
    due = _run(database_url, lambda s, uow: counting.counts_due(uow, s.env, CLI_ACTOR, count_policy(s.settings),
                                                               location, limit, 0))
    for d in due:
        last = d.last_counted_at.strftime("%Y-%m-%d") if d.last_counted_at else "never"
        typer.echo(f"{d.location}\t{d.sku}\t{d.abc_class.value}\tlast counted {last}"
                   + (f"\tcount {d.active_count_id} open" if d.active_count_id else ""))
    console.print(f"{len(due)} count(s) due")


@counts_app.command("abc")
def counts_abc(database_url: DatabaseOpt = None) -> None:
    """Recompute the ABC classes now and print them."""
    classes = _run(database_url, lambda s, uow: counting.recompute_abc(uow, s.env, abc_policy(s.settings)))
    for c in sorted(classes, key=lambda c: (c.abc_class.value, -c.revenue, c.sku)):
        typer.echo(f"{c.abc_class.value}\t{c.sku}\t{c.revenue}")
    counts = {k: sum(1 for c in classes if c.abc_class.value == k) for k in "ABC"}
    console.print(f"A {counts['A']}, B {counts['B']}, C {counts['C']} over {classes[0].window_days if classes else 0} "
                  "days")


@alerts_app.command("list")
def alerts_list(
    status: Annotated[AlertStatus | None, typer.Option(help="open, acknowledged or resolved")] = None,
    kind: Annotated[AlertKind | None, typer.Option(help="low_stock, out_of_stock, ...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    database_url: DatabaseOpt = None,
) -> None:
    """Alerts, newest first."""
    query = AlertFilter(status.value if status else None, kind.value if kind else None, limit=limit)
    for a in _run(database_url, lambda s, uow: alerts.list_alerts(uow, CLI_ACTOR, query)):
        typer.echo(f"{a.id}\t{a.status.value}\t{a.severity.value}\t{a.kind.value}\tx{a.occurrences}\t{a.message}")


@alerts_app.command("ack")
def alerts_ack(alert_id: str, database_url: DatabaseOpt = None) -> None:
    """Acknowledge an alert."""
    alert = _run(database_url, lambda s, uow: alerts.acknowledge(uow, s.env, CLI_ACTOR, alert_id))
    console.print(f"alert {alert.id} {alert.status.value}")


@alerts_app.command("resolve")
def alerts_resolve(alert_id: str, database_url: DatabaseOpt = None) -> None:
    """Resolve an alert."""
    alert = _run(database_url, lambda s, uow: alerts.resolve(uow, s.env, CLI_ACTOR, alert_id))
    console.print(f"alert {alert.id} {alert.status.value}")


@webhooks_app.command("add")
def webhooks_add(
    url: str,
    event: Annotated[list[str], typer.Option("--event", help="event type pattern (alert.*, po.created); repeatable")],
    description: Annotated[str | None, typer.Option()] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Subscribe a URL; prints the signing secret once."""
    created = _run(database_url, lambda s, uow: webhooks.create_subscription(uow, s.env, CLI_ACTOR, url, event,
                                                                             description))
    console.print(f"webhook {created.subscription.id} created; signing secret shown once:")
    typer.echo(created.secret)


@webhooks_app.command("list")
def webhooks_list(database_url: DatabaseOpt = None) -> None:
    """Subscriptions (never their secrets)."""
    for sub in _run(database_url, lambda s, uow: uow.webhooks.list()):
        typer.echo(f"{sub.id}\t{sub.url}\t{','.join(sub.event_types)}\t{'active' if sub.active else 'inactive'}")


@webhooks_app.command("remove")
def webhooks_remove(subscription_id: str, database_url: DatabaseOpt = None) -> None:
    """Delete a subscription and its pending deliveries."""
    _run(database_url, lambda s, uow: webhooks.delete_subscription(uow, subscription_id))
    console.print(f"webhook {subscription_id} removed")
