"""The operations panels wired to their features: open alerts (acknowledged from the page), counts due, frozen SKUs,
purchase orders in transit (late ones flagged) and channel sync. Each loader reads through a use case in the
logged-in key's scope."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from stockd.bootstrap import Stockd
from stockd.domain.errors import InvalidStateError, NotFoundError
from stockd.domain.security import Permission, Role, may
from stockd.entrypoints.api.deps import StockdDep
from stockd.entrypoints.dashboard.auth import session_writer
from stockd.entrypoints.dashboard.panels import Panel, PanelRegistry
from stockd.entrypoints.dashboard.views import ALERT_EVENT, FROZEN_EVENT, render_panel
from stockd.entrypoints.policies import count_policy
from stockd.service_layer import alerts, operations
from stockd.service_layer.ports import Actor

router = APIRouter(include_in_schema=False)
AlertManager = Annotated[Actor, Depends(session_writer(Permission.ALERTS_MANAGE))]
AlertId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")]


async def load_alerts(stockd: Stockd, actor: Actor) -> dict[str, Any]:
    found = await stockd.runner.run(lambda uow: operations.unresolved_alerts(uow, actor))
    return {"alerts": found, "may_acknowledge": may(Role(actor.role), Permission.ALERTS_MANAGE)}


async def load_frozen(stockd: Stockd, actor: Actor) -> dict[str, Any]:
    return {"frozen": await stockd.runner.run(lambda uow: operations.frozen_skus(uow, actor))}


async def load_counts_due(stockd: Stockd, actor: Actor) -> dict[str, Any]:
    policy = count_policy(stockd.settings)
    due = await stockd.runner.run(lambda uow: operations.counts_due_by_location(uow, stockd.env, actor, policy))
    return {"locations": due}


async def load_channels(stockd: Stockd, actor: Actor) -> dict[str, Any]:
    return {"channels": await stockd.runner.run(lambda uow: operations.channel_sync(uow, actor))}


async def load_purchase_orders(stockd: Stockd, actor: Actor) -> dict[str, Any]:
    found = await stockd.runner.run(lambda uow: operations.purchase_orders_in_transit(uow, stockd.env, actor))
    return {"orders": found, "late": sum(1 for o in found if o.late)}


PANELS = (
    Panel("alerts", "Open alerts", load=load_alerts, sse_event=ALERT_EVENT),
    Panel("counts_due", "Counts due", load=load_counts_due, refresh_seconds=15),
    Panel("frozen", "Frozen SKUs", load=load_frozen, sse_event=FROZEN_EVENT),
    Panel("purchase_orders", "Purchase orders in transit and late", load=load_purchase_orders, refresh_seconds=10),
    Panel("channels", "Channel sync", load=load_channels),
)


def register(registry: PanelRegistry) -> None:
    for panel in PANELS:
        registry.register(panel)


@router.post("/ui/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: AlertId, stockd: StockdDep, actor: AlertManager) -> HTMLResponse:
    """Acknowledge from the page, then redraw the panel. An alert resolved (or gone) meanwhile just redraws it."""
    # A resolved or vanished alert leaves nothing to acknowledge: the redraw shows how things stand.
    with contextlib.suppress(InvalidStateError, NotFoundError):
        await stockd.runner.run(lambda uow: alerts.acknowledge(uow, stockd.env, actor, alert_id))
    return await render_panel(request, stockd, actor, "alerts")
