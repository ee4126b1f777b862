"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stockd.entrypoints.api.deps import StockdDep
from stockd.service_layer.ports import UnitOfWork
from stockd.service_layer.runner import StorageUnavailableError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(stockd: StockdDep) -> JSONResponse:
    """The database answers."""

    async def probe(uow: UnitOfWork) -> None:
        await uow.locations.list(1, 0)

    try:
        await stockd.runner.run(probe)
    except StorageUnavailableError as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
