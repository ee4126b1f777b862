"""Device events over HTTP: one, or batches of thousands; each applied exactly once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stockd.domain.devices import Outcome
from stockd.entrypoints.api.deps import DeviceSource, StockdDep
from stockd.entrypoints.api.errors import problem
from stockd.entrypoints.api.schemas import DeviceBatchIn, DeviceBatchOut, Problem
from stockd.entrypoints.device_input import parse
from stockd.service_layer import devices
from stockd.service_layer.devices import DeviceResult

router = APIRouter(tags=["devices"])


def render(results: list[DeviceResult]) -> dict[str, Any]:
    counts = Counter(r.outcome.value for r in results)
    return {
        "results": [{"index": r.index, "event_id": r.event_id, "outcome": r.outcome.value, "reason": r.reason}
                    for r in results],
        "counts": {outcome.value: counts.get(outcome.value, 0) for outcome in Outcome},
    }


@router.post("/device-events/batch", response_model=DeviceBatchOut)
async def ingest_batch(body: DeviceBatchIn, stockd: StockdDep, actor: DeviceSource) -> JSONResponse:
    """Up to 5,000 events. Each gets its outcome: applied, duplicate (seen before), stale (a count older than the
    last applied one), superseded (a change already inside a later count) or rejected (with the reason).
    Events at a location the key may not touch make the whole batch a 403 and change nothing."""
    batch = [parse(raw) for raw in body.events]
    results = await stockd.runner.run(lambda uow: devices.ingest(uow, stockd.env, actor, batch))
    return JSONResponse(render(results))


@router.post("/device-events", response_model=DeviceBatchOut, responses={422: {"model": Problem}})
async def ingest_one(body: dict[str, Any], stockd: StockdDep, actor: DeviceSource) -> JSONResponse:
    """One event; a rejected event answers 422 with its reason (and is kept in the device log)."""
    event = parse(body)
    results = await stockd.runner.run(lambda uow: devices.ingest(uow, stockd.env, actor, [event]))
    body = render(results)
    if results[0].outcome is Outcome.REJECTED:
        return problem(422, "device_event_rejected", results[0].reason or "rejected", results=body["results"])
    return JSONResponse(body)
