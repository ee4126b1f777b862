"""Alerts: list, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from stockd.domain.alerts import AlertKind, AlertStatus
from stockd.entrypoints.api.counting_schemas import AlertListOut, AlertOut
from stockd.entrypoints.api.deps import AlertManager, IdempotencyDep, Reader, StockdDep, respond
from stockd.entrypoints.api.schemas import CONFLICT, Code
from stockd.service_layer import alerts
from stockd.service_layer.ports import AlertFilter

router = APIRouter(tags=["alerts"])
AlertId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


@router.get("/alerts", response_model=AlertListOut)
async def list_alerts(
    stockd: StockdDep, actor: Reader, status: AlertStatus | None = None, kind: AlertKind | None = None,
    sku: Code | None = None, location: Code | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JSONResponse:
    """Newest first, filtered by status and kind."""
    query = AlertFilter(status.value if status else None, kind.value if kind else None, sku, location, limit, offset)
    found = await stockd.runner.run(lambda uow: alerts.list_alerts(uow, actor, query))
    return JSONResponse({"items": [AlertOut.render(a) for a in found]})


@router.get("/alerts/{alert_id}", response_model=AlertOut)
async def get_alert(stockd: StockdDep, actor: Reader, alert_id: str = AlertId) -> JSONResponse:
    found = await stockd.runner.run(lambda uow: alerts.get_alert(uow, actor, alert_id))
    return JSONResponse(AlertOut.render(found))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=CONFLICT)
async def acknowledge(stockd: StockdDep, actor: AlertManager, idem: IdempotencyDep,
                      alert_id: str = AlertId) -> JSONResponse:
    """Someone is on it (a repeat of the problem still counts on this alert)."""
    outcome = await stockd.runner.write(lambda uow: alerts.acknowledge(uow, stockd.env, actor, alert_id),
                                        AlertOut.render, 200, idem)
    return respond(outcome)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=CONFLICT)
async def resolve(stockd: StockdDep, actor: AlertManager, idem: IdempotencyDep,
                  alert_id: str = AlertId) -> JSONResponse:
    """Close it; if the problem comes back, a new alert is raised."""
    outcome = await stockd.runner.write(lambda uow: alerts.resolve(uow, stockd.env, actor, alert_id),
                                        AlertOut.render, 200, idem)
    return respond(outcome)
