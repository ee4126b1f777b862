"""Products and locations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from stockd.entrypoints.api.deps import CatalogWriter, IdempotencyDep, Reader, StockdDep, respond
from stockd.entrypoints.api.schemas import (
    Code,
    LocationIn,
    LocationOut,
    LocationPatch,
    Printable,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from stockd.service_layer import catalog, commands

router = APIRouter(tags=["catalog"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.post("/products", status_code=201, response_model=ProductOut)
async def create_product(
    body: ProductIn, stockd: StockdDep, actor: CatalogWriter, idem: IdempotencyDep
) -> JSONResponse:
    cmd = body.command()
    outcome = await stockd.runner.write(
        lambda uow: catalog.create_product(uow, stockd.env, actor, cmd), ProductOut.render, 201, idem
    )
    return respond(outcome)


@router.get("/products", response_model=list[ProductOut])
async def list_products(
    stockd: StockdDep, _: Reader, limit: Limit = 100, offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=64, description="search SKU or name"), Printable] = None,
) -> list[ProductOut]:
    found = await stockd.runner.run(lambda uow: uow.products.list(limit, offset, q))
    return [ProductOut.of(p) for p in found]


@router.get("/products/{sku}", response_model=ProductOut)
async def get_product(sku: Code, stockd: StockdDep, _: Reader) -> JSONResponse:
    product = await stockd.runner.run(lambda uow: catalog.get_product(uow, sku))
    return JSONResponse(ProductOut.render(product))


@router.patch("/products/{sku}", response_model=ProductOut)
async def update_product(
    sku: Code, body: ProductPatch, stockd: StockdDep, actor: CatalogWriter, idem: IdempotencyDep
) -> JSONResponse:
    cmd = commands.UpdateProduct(sku, body.name, body.unit_cost, body.price)
    outcome = await stockd.runner.write(
        lambda uow: catalog.update_product(uow, stockd.env, actor, cmd), ProductOut.render, 200, idem
    )
    return respond(outcome)


@router.post("/locations", status_code=201, response_model=LocationOut)
async def create_location(
    body: LocationIn, stockd: StockdDep, actor: CatalogWriter, idem: IdempotencyDep
) -> JSONResponse:
    cmd = commands.CreateLocation(body.code, body.name, body.kind)
    outcome = await stockd.runner.write(
        lambda uow: catalog.create_location(uow, stockd.env, actor, cmd), LocationOut.render, 201, idem
    )
    return respond(outcome)


@router.get("/locations", response_model=list[LocationOut])
async def list_locations(
    stockd: StockdDep, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> list[LocationOut]:
    found = await stockd.runner.run(lambda uow: uow.locations.list(limit, offset))
    return [LocationOut.of(loc) for loc in found]


@router.get("/locations/{code}", response_model=LocationOut)
async def get_location(code: Code, stockd: StockdDep, actor: Reader) -> JSONResponse:
    actor.check_locations([code])
    location = await stockd.runner.run(lambda uow: catalog.get_location(uow, code))
    return JSONResponse(LocationOut.render(location))


@router.patch("/locations/{code}", response_model=LocationOut)
async def update_location(
    code: Code, body: LocationPatch, stockd: StockdDep, actor: CatalogWriter, idem: IdempotencyDep
) -> JSONResponse:
    cmd = commands.UpdateLocation(code, body.name, body.kind)
    outcome = await stockd.runner.write(
        lambda uow: catalog.update_location(uow, stockd.env, actor, cmd), LocationOut.render, 200, idem
    )
    return respond(outcome)
