"""Cycle counting: ABC classes, counts due, blind count tasks and the resolution of discrepancies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from stockd.domain.counting import AbcClass, CountStatus, CountTask
from stockd.domain.security import Permission, Role, may
from stockd.entrypoints.api.counting_schemas import (
    AbcClassOut,
    AbcListOut,
    CountListOut,
    CountOut,
    DueCountOut,
    DueListOut,
    OpenCountIn,
    ResolutionOut,
    ResolveCountIn,
    SubmitCountIn,
)
from stockd.entrypoints.api.deps import Counter, CountResolver, IdempotencyDep, Reader, StockdDep, respond
from stockd.entrypoints.api.schemas import CONFLICT, Code
from stockd.entrypoints.policies import abc_policy, count_policy
from stockd.service_layer import counting
from stockd.service_layer.ports import Actor, CountFilter, UnitOfWork

router = APIRouter(tags=["counting"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
CountId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


def sees_system(actor: Actor) -> bool:
    """Blind counting: only those who may resolve counts see the system's numbers."""
    return may(Role(actor.role), Permission.COUNT_RESOLVE)


@router.post("/abc/recompute", response_model=AbcListOut)
async def recompute_abc(stockd: StockdDep, actor: CountResolver) -> AbcListOut:
    """Classify every SKU A/B/C by its revenue over the window (shipped units x current price)."""
    policy = abc_policy(stockd.settings)
    classes = await stockd.runner.run(lambda uow: counting.recompute_abc(uow, stockd.env, policy))
    return AbcListOut(items=[AbcClassOut.of(c) for c in classes])


@router.get("/abc", response_model=AbcListOut)
async def list_abc(stockd: StockdDep, actor: Reader, abc_class: AbcClass | None = None, limit: Limit = 100,
                   offset: Offset = 0) -> AbcListOut:
    """The stored classes (SKUs not yet classified count as C)."""
    classes = await stockd.runner.run(lambda uow: uow.abc.list(abc_class, limit, offset))
    return AbcListOut(items=[AbcClassOut.of(c) for c in classes])


@router.get("/counts/due", response_model=DueListOut)
async def counts_due(stockd: StockdDep, actor: Counter, location: Code | None = None, limit: Limit = 100,
                     offset: Offset = 0) -> DueListOut:
    """What to count now, per location: rows with stock whose last count is older than their class's interval."""
    policy = count_policy(stockd.settings)
    due = await stockd.runner.run(
        lambda uow: counting.counts_due(uow, stockd.env, actor, policy, location, limit, offset))
    return DueListOut(items=[DueCountOut.of(d) for d in due])


@router.post("/counts", status_code=201, response_model=CountOut, responses=CONFLICT)
async def open_count(body: OpenCountIn, stockd: StockdDep, actor: Counter, idem: IdempotencyDep) -> JSONResponse:
    """Open a blind count task for one SKU at one location (one active count per row)."""
    outcome = await stockd.runner.write(
        lambda uow: counting.open_count(uow, stockd.env, actor, body.sku, body.location),
        lambda t: CountOut.render(t, sees_system(actor)), 201, idem)
    return respond(outcome)


@router.get("/counts", response_model=CountListOut)
async def list_counts(stockd: StockdDep, actor: Reader, status: CountStatus | None = None, sku: Code | None = None,
                      location: Code | None = None, limit: Limit = 100, offset: Offset = 0) -> JSONResponse:
    query = CountFilter(status.value if status else None, sku, location, limit, offset)
    tasks = await stockd.runner.run(lambda uow: counting.list_counts(uow, actor, query))
    return JSONResponse({"items": [CountOut.render(t, sees_system(actor)) for t in tasks]})


@router.get("/counts/{count_id}", response_model=CountOut)
async def get_count(stockd: StockdDep, actor: Reader, count_id: str = CountId) -> JSONResponse:
    task = await stockd.runner.run(lambda uow: counting.get_count(uow, actor, count_id))
    return JSONResponse(CountOut.render(task, sees_system(actor)))


@router.post("/counts/{count_id}/submit", response_model=CountOut, responses=CONFLICT)
async def submit_count(body: SubmitCountIn, stockd: StockdDep, actor: Counter, idem: IdempotencyDep,
                       count_id: str = CountId) -> JSONResponse:
    """The counted quantity: compared with on_hand as of counted_at; within 5% adjusted, beyond investigated,
    beyond 10% the row is also frozen."""
    policy = count_policy(stockd.settings)

    async def submit(uow: UnitOfWork) -> CountTask:
        return await counting.submit_count(uow, stockd.env, actor, policy, count_id, body.counted, body.counted_at)

    outcome = await stockd.runner.write(submit, lambda t: CountOut.render(t, sees_system(actor)), 200, idem)
    return respond(outcome)


@router.post("/counts/{count_id}/resolve", response_model=ResolutionOut, responses=CONFLICT)
async def resolve_count(body: ResolveCountIn, stockd: StockdDep, actor: CountResolver, idem: IdempotencyDep,
                        count_id: str = CountId) -> JSONResponse:
    """A manager settles an investigation: accept (adjust, unfreeze), recount (new task, stays frozen), reject."""

    async def resolve(uow: UnitOfWork) -> tuple[CountTask, CountTask | None]:
        return await counting.resolve_count(uow, stockd.env, actor, count_id, body.action, body.note)

    def render(result: tuple[CountTask, CountTask | None]) -> dict[str, object]:
        done, recount = result
        return {"count": CountOut.render(done, True), "recount": CountOut.render(recount, True) if recount else None}

    return respond(await stockd.runner.write(resolve, render, 200, idem))
