"""Reservations: reserve (all or nothing), commit, ship, release."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from stockd.domain.reservations import Reservation
from stockd.entrypoints.api.deps import IdempotencyDep, Reader, Reserver, Shipper, StockdDep, respond
from stockd.entrypoints.api.schemas import CONFLICT, ReservationOut, ReserveIn
from stockd.service_layer import reservations
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, UnitOfWork

router = APIRouter(tags=["reservations"])
ReservationId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")

Settle = Callable[[UnitOfWork, Env, Actor, str], Awaitable[Reservation]]


@router.post("/reservations", status_code=201, response_model=ReservationOut, responses=CONFLICT)
async def reserve(body: ReserveIn, stockd: StockdDep, actor: Reserver, idem: IdempotencyDep) -> JSONResponse:
    """Hold stock for an order: every line or none. The loser of a race for the last unit gets a 409
    naming what was requested and what is available."""
    s = stockd.settings
    cmd = body.command(s.reservation_ttl_seconds, s.max_reservation_ttl_seconds)
    outcome = await stockd.runner.write(
        lambda uow: reservations.reserve(uow, stockd.env, actor, cmd), ReservationOut.render, 201, idem
    )
    return respond(outcome)


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
async def get_reservation(stockd: StockdDep, actor: Reader, reservation_id: str = ReservationId) -> JSONResponse:
    found = await stockd.runner.run(
        lambda uow: reservations.get_reservation(uow, stockd.env, actor, reservation_id)
    )
    return JSONResponse(ReservationOut.render(found))


async def _settle(stockd: StockdDep, actor: Actor, idem: IdempotencyDep, use_case: Settle,
                  reservation_id: str) -> JSONResponse:
    outcome = await stockd.runner.write(
        lambda uow: use_case(uow, stockd.env, actor, reservation_id), ReservationOut.render, 200, idem
    )
    return respond(outcome)


@router.post("/reservations/{reservation_id}/commit", response_model=ReservationOut, responses=CONFLICT)
async def commit(stockd: StockdDep, actor: Reserver, idem: IdempotencyDep,
                 reservation_id: str = ReservationId) -> JSONResponse:
    """Picking and packing: the held quantity moves from reserved to committed."""
    return await _settle(stockd, actor, idem, reservations.commit, reservation_id)


@router.post("/reservations/{reservation_id}/ship", response_model=ReservationOut, responses=CONFLICT)
async def ship(stockd: StockdDep, actor: Shipper, idem: IdempotencyDep,
               reservation_id: str = ReservationId) -> JSONResponse:
    """The goods leave: the quantity leaves on_hand (from committed, or straight from reserved)."""
    return await _settle(stockd, actor, idem, reservations.ship, reservation_id)


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut, responses=CONFLICT)
async def release(stockd: StockdDep, actor: Reserver, idem: IdempotencyDep,
                  reservation_id: str = ReservationId) -> JSONResponse:
    """Cancel: held or committed stock is available again."""
    return await _settle(stockd, actor, idem, reservations.release, reservation_id)
