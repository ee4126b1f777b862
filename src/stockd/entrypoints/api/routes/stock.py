"""Stock levels, and the movements that are not reservations: receipts, adjustments, returns, transfers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from stockd.entrypoints.api.deps import Auditor, IdempotencyDep, Reader, StockdDep, StockMover, respond
from stockd.entrypoints.api.schemas import (
    CONFLICT,
    AdjustIn,
    Code,
    DriftOut,
    MovementOut,
    MovementPage,
    Printable,
    ReceiveIn,
    ReconciliationOut,
    ReturnIn,
    StockLevelOut,
    StockListOut,
    StockTotalsOut,
    TransferIn,
    TransferOut,
)
from stockd.service_layer import stock
from stockd.service_layer.ports import MovementFilter, UnitOfWork

router = APIRouter(tags=["stock"])
Limit = Annotated[int, Query(ge=1, le=1000)]
TransferId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


@router.get("/stock", response_model=StockListOut)
async def list_stock(
    stockd: StockdDep, actor: Reader, sku: Code | None = None, location: Code | None = None, limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JSONResponse:
    """The five numbers per SKU per location."""
    levels = await stockd.runner.run(
        lambda uow: stock.list_stock(uow, stockd.env, actor, sku, location, limit, offset)
    )
    return JSONResponse(StockLevelOut.render_many(levels))


@router.get("/stock/{sku}", response_model=StockTotalsOut)
async def stock_of_sku(sku: Code, stockd: StockdDep, actor: Reader) -> StockTotalsOut:
    """One SKU summed across locations, with the per-location breakdown."""
    totals = await stockd.runner.run(lambda uow: stock.stock_of_sku(uow, stockd.env, actor, sku))
    return StockTotalsOut.of(totals)


@router.get("/stock/{sku}/{location}", response_model=StockLevelOut)
async def stock_at(sku: Code, location: Code, stockd: StockdDep, actor: Reader) -> JSONResponse:
    level = await stockd.runner.run(lambda uow: stock.stock_at(uow, stockd.env, actor, sku, location))
    return JSONResponse(StockLevelOut.render(level))


@router.post("/receipts", status_code=201, response_model=StockListOut)
async def receive(body: ReceiveIn, stockd: StockdDep, actor: StockMover, idem: IdempotencyDep) -> JSONResponse:
    """Goods arrived at a location: on_hand rises."""
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: stock.receive(uow, stockd.env, actor, cmd), StockLevelOut.render_many, 201, idem
    )
    return respond(outcome)


@router.post("/adjustments", status_code=201, response_model=StockLevelOut, responses=CONFLICT)
async def adjust(body: AdjustIn, stockd: StockdDep, actor: StockMover, idem: IdempotencyDep) -> JSONResponse:
    """Correct on_hand with a reason (damaged, shrinkage, found, correction)."""
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: stock.adjust(uow, stockd.env, actor, cmd), StockLevelOut.render, 201, idem
    )
    return respond(outcome)


@router.post("/returns", status_code=201, response_model=StockLevelOut)
async def record_return(body: ReturnIn, stockd: StockdDep, actor: StockMover, idem: IdempotencyDep) -> JSONResponse:
    """A customer return put back into sellable stock."""
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: stock.return_stock(uow, stockd.env, actor, cmd), StockLevelOut.render, 201, idem
    )
    return respond(outcome)


@router.post("/transfers", status_code=201, response_model=TransferOut, responses=CONFLICT)
async def create_transfer(
    body: TransferIn, stockd: StockdDep, actor: StockMover, idem: IdempotencyDep
) -> JSONResponse:
    """Ship between locations: on_hand leaves the source now, in_transit shows at the destination."""
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: stock.create_transfer(uow, stockd.env, actor, cmd), TransferOut.render, 201, idem
    )
    return respond(outcome)


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
async def get_transfer(stockd: StockdDep, actor: Reader, transfer_id: str = TransferId) -> JSONResponse:
    found = await stockd.runner.run(lambda uow: stock.get_transfer(uow, actor, transfer_id))
    return JSONResponse(TransferOut.render(found))


@router.post("/transfers/{transfer_id}/receive", response_model=TransferOut, responses=CONFLICT)
async def receive_transfer(
    stockd: StockdDep, actor: StockMover, idem: IdempotencyDep, transfer_id: str = TransferId
) -> JSONResponse:
    """The transfer arrived: in_transit becomes on_hand at the destination."""
    outcome = await stockd.runner.write(
        lambda uow: stock.receive_transfer(uow, stockd.env, actor, transfer_id), TransferOut.render, 200, idem
    )
    return respond(outcome)


@router.get("/movements", response_model=MovementPage, tags=["ledger"])
async def list_movements(
    stockd: StockdDep,
    actor: Reader,
    sku: Code | None = None,
    location: Code | None = None,
    kind: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    reference: Annotated[str | None, Query(max_length=200), Printable] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    after_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Limit = 100,
) -> MovementPage:
    """The ledger: who moved what, why, and the numbers before and after, oldest first."""
    if location is not None:
        actor.check_locations([location])
    query = MovementFilter(sku, location, since, until, kind, reference, after_id, limit, actor.locations)

    async def fetch(uow: UnitOfWork) -> list[MovementOut]:
        return [MovementOut.of(m) for m in await uow.movements.list(query)]

    items = await stockd.runner.run(fetch)
    return MovementPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)


@router.get("/reconciliation", response_model=ReconciliationOut, tags=["ledger"])
async def reconciliation(stockd: StockdDep, _: Auditor) -> ReconciliationOut:
    """Replays the ledger against every stock row; `consistent` must always be true."""

    async def check(uow: UnitOfWork) -> ReconciliationOut:
        drift = [DriftOut(**d.__dict__) for d in await uow.movements.drift()]
        return ReconciliationOut(consistent=not drift, drift=drift)

    return await stockd.runner.run(check)
